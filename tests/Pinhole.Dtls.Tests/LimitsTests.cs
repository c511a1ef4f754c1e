using System.Net;
using Pinhole.Dtls.Internal;

namespace Pinhole.Dtls.Tests;

public class LimitsTests
{
    private static readonly IPEndPoint A = new(IPAddress.Parse("192.0.2.1"), 1000);
    private static readonly IPEndPoint B = new(IPAddress.Parse("192.0.2.2"), 1000);

    [Fact]
    public void Cookie_BoundToAddress_SurvivesOneRotation_NotTwo()
    {
        var time = Clocks.StartingNow();
        var secret = new CookieSecret(time, TimeSpan.FromSeconds(60));
        byte[] cookie = new byte[CookieSecret.CookieLength];
        Assert.Equal(16, secret.Generate(A, cookie));
        Assert.True(secret.Verify(A, cookie));
        Assert.False(secret.Verify(B, cookie));
        Assert.False(secret.Verify(new IPEndPoint(A.Address, 1001), cookie));
        Assert.False(secret.Verify(A, cookie.AsSpan(0, 15)));
        time.Advance(TimeSpan.FromSeconds(61));
        Assert.True(secret.Verify(A, cookie));
        time.Advance(TimeSpan.FromSeconds(61));
        Assert.False(secret.Verify(A, cookie));
    }

    [Fact]
    public void RateLimiter_BurstThenRefill()
    {
        var time = Clocks.StartingNow();
        var limiter = new HandshakeRateLimiter(time, ratePerSecond: 1, burst: 3, maxEntries: 1);
        Assert.True(limiter.TryAcquire(A));
        Assert.True(limiter.TryAcquire(new IPEndPoint(A.Address, 2))); // same IP, other port: same bucket
        Assert.True(limiter.TryAcquire(A));
        Assert.False(limiter.TryAcquire(A));
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(limiter.TryAcquire(A));
        Assert.False(limiter.TryAcquire(A));
        // Table full, and A's bucket has not refilled: B is refused rather than growing the table.
        Assert.False(limiter.TryAcquire(B));
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.True(limiter.TryAcquire(B));
        Assert.Equal(1, limiter.Count);
    }

    public static TheoryData<Action<DtlsEndpointOptions>> BadOptions => new()
    {
        o => o.Identity = null,
        o => o.Bind = null,
        o => o.MaxDatagramSize = 100,
        o => o.MaxDatagramSize = 70000,
        o => o.HandshakeTimeout = TimeSpan.Zero,
        o => o.InitialRetransmitTimeout = TimeSpan.FromSeconds(-1),
        o => o.MaxRetransmitTimeout = TimeSpan.FromMilliseconds(1),
        o => o.IdleTimeout = TimeSpan.Zero,
        o => o.MaxSessions = 0,
        o => o.HandshakesPerSecondPerAddress = double.NaN,
        o => o.HandshakeBurstPerAddress = 0,
        o => o.ReceiveQueueCapacity = 0,
        o => o.AcceptQueueCapacity = 0,
        o => o.CookieSecretLifetime = TimeSpan.Zero,
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public async Task Options_ValidatedBeforeAnythingStarts(Action<DtlsEndpointOptions> spoil)
    {
        using NodeIdentity id = NodeIdentity.Generate();
        await using var bind = new MemoryDatagramNetwork().CreateBind(A);
        var options = new DtlsEndpointOptions { Identity = id, Bind = bind };
        spoil(options);
        Assert.ThrowsAny<ArgumentException>(() => DtlsEndpoint.Create(options));
    }

    [Fact]
    public void MemoryNetworkOptions_Validated()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new MemoryDatagramNetwork(new MemoryDatagramNetworkOptions { LossRate = 1.5 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new MemoryDatagramNetwork(new MemoryDatagramNetworkOptions { DuplicateRate = -0.1 }));
    }

    [Fact]
    public async Task ManyEndpoints_NoHandleLeak()
    {
        // Create and dispose endpoints with live sessions repeatedly; SafeHandles must all be released
        // (a double free or use-after-free would crash the test host).
        var network = new MemoryDatagramNetwork();
        for (int i = 0; i < 20; i++)
        {
            await using Pair pair = Pair.Create(
                network.CreateBind(new IPEndPoint(IPAddress.Parse("10.2.0.1"), 1 + i)),
                network.CreateBind(new IPEndPoint(IPAddress.Parse("10.2.0.2"), 1 + i)));
            (DtlsConnection client, DtlsConnection server) = await pair.ConnectAsync();
            await client.SendAsync(new byte[] { 1 });
            if (i % 2 == 0)
            {
                await server.DisposeAsync();
            }
        }
        GC.Collect();
        GC.WaitForPendingFinalizers();
    }
}
