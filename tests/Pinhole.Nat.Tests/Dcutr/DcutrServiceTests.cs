using System.Net;
using Pinhole.Nat.Dcutr;
using Pinhole.Nat.Relay.Protocol;
using Pinhole.Nat.Tests.Support;

namespace Pinhole.Nat.Tests.Dcutr;

/// <summary>DCUtR's exchange and its error paths over loopback relayed connections (the punch itself is tested in namespaces).</summary>
public sealed class DcutrServiceTests
{
    private static DcutrService Service(TestPeer peer, Action<DcutrOptions>? configure = null)
    {
        var options = new DcutrOptions
        {
            ConnectionOptions = peer.Options,
            LocalEndPoint = new IPEndPoint(IPAddress.Loopback, peer.ListenPort),
            Addresses = () => [Multiaddr.Parse($"/ip4/127.0.0.1/tcp/{peer.ListenPort}")],
            AttemptTimeout = TimeSpan.FromSeconds(2),
        };
        configure?.Invoke(options);
        return new DcutrService(options);
    }

    private static async Task<(TestPeer R, TestPeer A, TestPeer B, PeerConnection RelayedA, PeerConnection RelayedB)> RelayedPairAsync()
    {
        var r = await TestPeer.StartAsync();
        r.ServeRelay();
        var a = await TestPeer.StartAsync(o => o.LimitedConnectionProtocols.Add(DcutrService.ProtocolId));
        var b = await TestPeer.StartAsync(o => o.LimitedConnectionProtocols.Add(DcutrService.ProtocolId));
        a.UseRelayClient();
        b.UseRelayClient();
        var aToR = await a.ConnectAsync(r);
        var bToR = await b.ConnectAsync(r);
        await b.RelayClient!.ReserveAsync(bToR, TestPeer.Bounded());
        var relayedA = await a.RelayClient!.ConnectAsync(aToR, b.Id, TestPeer.Bounded());
        a.Route(relayedA);
        var relayedB = await b.AcceptAsync();
        return (r, a, b, relayedA, relayedB);
    }

    [Fact]
    public void OptionsAreValidated()
    {
        Assert.Throws<ArgumentException>(() => new DcutrService(new DcutrOptions()));
        using var identity = NodeIdentity.Generate();
        var options = new DcutrOptions
        {
            ConnectionOptions = new PeerConnectionOptions { Identity = identity },
            LocalEndPoint = new IPEndPoint(IPAddress.Any, 0),
            Addresses = () => [],
        };
        Assert.Equal(nameof(DcutrOptions.LocalEndPoint), Assert.Throws<ArgumentException>(() => new DcutrService(options)).ParamName);
        options.LocalEndPoint = new IPEndPoint(IPAddress.Any, 4001);
        options.Attempts = 0;
        Assert.Throws<ArgumentOutOfRangeException>(() => new DcutrService(options));
    }

    [Fact]
    public async Task OnlyTheInboundSideOfARelayedConnectionStarts()
    {
        var (r, a, b, relayedA, relayedB) = await RelayedPairAsync();
        await using (r)
        await using (a)
        await using (b)
        {
            var dcutr = Service(a);
            Assert.Throws<ArgumentException>(() => dcutr.UpgradeAsync(relayedA).GetAwaiter().GetResult());
            var direct = await a.ConnectAsync(r);
            await Assert.ThrowsAsync<ArgumentException>(() => dcutr.UpgradeAsync(direct));
            _ = relayedB;
        }
    }

    [Fact]
    public async Task APeerThatAnswersWithTheWrongMessageEndsTheExchange()
    {
        var (r, a, b, _, relayedB) = await RelayedPairAsync();
        await using (r)
        await using (a)
        await using (b)
        {
            // A misbehaves: it answers CONNECT with SYNC.
            a.Handle(DcutrService.ProtocolId, async (_, stream) =>
            {
                await using (stream)
                {
                    await DelimitedMessage.ReadAsync(stream, "dcutr", TestPeer.Bounded());
                    await DelimitedMessage.WriteAsync(stream, Convert.FromHexString("08ac02"), TestPeer.Bounded());
                    await DelimitedMessage.ReadAsync(stream, "dcutr", TestPeer.Bounded());
                }
            });
            var result = await Service(b).UpgradeAsync(relayedB, TestPeer.Bounded());
            Assert.False(result.Succeeded);
            Assert.Equal(DirectConnectionFailure.ProtocolViolation, result.Failure);
            Assert.Contains("answered CONNECT with Sync", Assert.Single(result.Errors), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task APeerThatHangsUpEndsTheExchangeWithoutAPunch()
    {
        var (r, a, b, _, relayedB) = await RelayedPairAsync();
        await using (r)
        await using (a)
        await using (b)
        {
            a.Handle(DcutrService.ProtocolId, async (_, stream) =>
            {
                await using (stream)
                {
                    stream.CompleteWrites();
                }
            });
            var result = await Service(b).UpgradeAsync(relayedB, TestPeer.Bounded());
            Assert.False(result.Succeeded);
            Assert.Equal(1, result.Attempts);
            Assert.Equal(DirectConnectionFailure.PeerClosed, result.Failure);
            Assert.Contains("closed the DCUtR stream", Assert.Single(result.Errors), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task AnOversizedMessageIsAProtocolViolation()
    {
        var (r, a, b, _, relayedB) = await RelayedPairAsync();
        await using (r)
        await using (a)
        await using (b)
        {
            a.Handle(DcutrService.ProtocolId, async (_, stream) =>
            {
                await using (stream)
                {
                    await DelimitedMessage.ReadAsync(stream, "dcutr", TestPeer.Bounded());
                    await stream.WriteAsync(Convert.FromHexString("8120"), TestPeer.Bounded());
                }
            });
            var result = await Service(b).UpgradeAsync(relayedB, TestPeer.Bounded());
            Assert.False(result.Succeeded);
            Assert.Contains("exceeds", Assert.Single(result.Errors), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task TheAnsweringSideRefusesDcutrOverConnectionsItDidNotDialThroughARelay()
    {
        var (r, a, b, relayedA, relayedB) = await RelayedPairAsync();
        await using (r)
        await using (a)
        await using (b)
        {
            // B is the inbound side: if A (wrongly) starts, B's handler refuses.
            var handled = new TaskCompletionSource<DirectConnectionResult>();
            var dcutrB = Service(b);
            b.Handle(DcutrService.ProtocolId, async (c, s) => handled.TrySetResult(await dcutrB.HandleStreamAsync(c, s)));
            try
            {
                // The refusal resets the stream, possibly before our negotiation has read its answer.
                await using var stream = await relayedA.OpenStreamAsync(DcutrService.ProtocolId, TestPeer.Bounded());
            }
            catch (PeerException e) when (e.Error == PeerError.StreamAborted)
            {
            }
            var result = await handled.Task.WaitAsync(TestPeer.Timeout);
            Assert.False(result.Succeeded);
            Assert.Contains("refused", Assert.Single(result.Errors), StringComparison.Ordinal);
            _ = relayedB;
        }
    }

    [Fact]
    public async Task WithoutTheOptInDcutrCannotRunOnALimitedConnection()
    {
        var r = await TestPeer.StartAsync();
        r.ServeRelay();
        await using (r)
        await using (var a = await TestPeer.StartAsync())
        await using (var b = await TestPeer.StartAsync())
        {
            a.UseRelayClient();
            b.UseRelayClient();
            await b.RelayClient!.ReserveAsync(await b.ConnectAsync(r), TestPeer.Bounded());
            await a.RelayClient!.ConnectAsync(await a.ConnectAsync(r), b.Id, TestPeer.Bounded());
            var relayedB = await b.AcceptAsync();
            var result = await Service(b).UpgradeAsync(relayedB, TestPeer.Bounded());
            Assert.False(result.Succeeded);
            Assert.Equal(DirectConnectionFailure.NotSupported, result.Failure);
            Assert.Contains("LimitedConnectionProtocols", Assert.Single(result.Errors), StringComparison.Ordinal);
        }
    }
}
