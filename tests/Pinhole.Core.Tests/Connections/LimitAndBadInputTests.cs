using System.Buffers.Binary;
using System.Net.Sockets;
using Microsoft.Extensions.Time.Testing;
using Pinhole.Connections;
using Pinhole.Core.Tests.Support;

namespace Pinhole.Core.Tests.Connections;

public sealed class LimitAndBadInputTests : IDisposable
{
    private readonly NodeIdentity _server = NodeIdentity.Generate();
    private readonly NodeIdentity _client = NodeIdentity.Generate();

    public void Dispose()
    {
        _server.Dispose();
        _client.Dispose();
    }

    [Fact]
    public async Task MaxConnectionsIsARealCapWithAClearReason()
    {
        await using var listener = await TestNodes.ListenAsync(_server, o => o.MaxConnections = 2);
        var first = await TestNodes.ConnectAsync(_client, listener);
        var second = await TestNodes.ConnectAsync(_client, listener);
        var e = await Assert.ThrowsAsync<PeerException>(() => PeerConnection.ConnectAsync(TestNodes.Dial(_client, listener), TestNodes.Bounded()).AsTask());
        Assert.Equal(PeerError.Refused, e.Error);
        Assert.Contains("connection limit", e.Message, StringComparison.Ordinal);
        // Closing a live connection frees its slot.
        await first.Client.DisposeAsync();
        await first.Server.DisposeAsync();
        await WaitUntilAsync(() => listener.ConnectionCount < 2);
        var third = await TestNodes.ConnectAsync(_client, listener);
        await third.Client.DisposeAsync();
        await third.Server.DisposeAsync();
        await second.Client.DisposeAsync();
        await second.Server.DisposeAsync();
    }

    [Fact]
    public async Task SilentDialerIsCutOffByTheHandshakeTimeout()
    {
        await using var listener = await TestNodes.ListenAsync(_server, o => o.HandshakeTimeout = TimeSpan.FromMilliseconds(300));
        using var socket = await RawConnectAsync(listener);
        // Send nothing; the listener must close within its handshake timeout (bounded here by the test timeout).
        var buffer = new byte[256];
        var total = 0;
        int n;
        while ((n = await socket.ReceiveAsync(buffer, SocketFlags.None, TestNodes.Bounded())) > 0)
        {
            total += n;
        }
        Assert.True(total < 256, "the listener sent more than its multistream header");
        await WaitUntilAsync(() => listener.ConnectionCount == 0);
    }

    [Fact]
    public async Task HandshakeDeadlineFollowsTheTimeProvider()
    {
        var clock = Clocks.StartingNow();
        await using var listener = await TestNodes.ListenAsync(_server, o =>
        {
            o.TimeProvider = clock;
            o.HandshakeTimeout = TimeSpan.FromSeconds(30);
        });
        using var socket = await RawConnectAsync(listener);
        var buffer = new byte[256];
        // The listener answers nothing before the dialer's header... and waits on the manual clock, not the real one.
        var receive = socket.ReceiveAsync(buffer, SocketFlags.None, TestNodes.Bounded()).AsTask();
        await WaitUntilAsync(() => listener.HandshakeCount == 1);
        await Task.Delay(300);
        Assert.False(receive.IsCompleted, "the handshake ended before its deadline");
        // The listener arms its deadlines just after admitting the socket, a moment a loaded machine can stretch: one
        // advance made before them would never reach them. So move the clock until the listener lets go, for at most
        // 10 s of real time: a third of the 30 s timeout, so a deadline on the real clock still fails the test.
        var real = System.Diagnostics.Stopwatch.StartNew();
        while (!receive.IsCompleted && real.Elapsed < TimeSpan.FromSeconds(10))
        {
            clock.Advance(TimeSpan.FromSeconds(31));
            await Task.WhenAny(receive, Task.Delay(50));
        }
        Assert.True(receive.IsCompleted, "the handshake outlived its deadline on the manual clock");
        Assert.Equal(0, await receive);
        await WaitUntilAsync(() => listener.ConnectionCount == 0);
    }

    [Theory]
    [InlineData("garbage", "68656c6c6f20776f726c640a")]
    [InlineData("oversized multistream message", "ffff03")]
    [InlineData("overlong varint", "ffffffffffffffffffff01")]
    [InlineData("truncated multistream header", "132f6d756c746973747265616d2f")]
    [InlineData("wrong protocol then garbage", "132f6d756c746973747265616d2f312e302e300a0c2f6e6f6973652f312e302e0a0000")]
    [InlineData("tls record garbage after negotiation", "132f6d756c746973747265616d2f312e302e300a0b2f746c732f312e302e300a1603010005deadbeef00")]
    public async Task BadInputClosesThatConnectionAndTheNodeKeepsServing(string what, string hex)
    {
        // The listener's clock is frozen: its deadlines never fire, so the bad input itself must end the connection
        // (the dialer also ends its side), and a slow handshake of the real peer on a loaded machine is never cut off.
        await using var listener = await TestNodes.ListenAsync(_server, o => o.TimeProvider = new FakeTimeProvider(DateTimeOffset.UtcNow));
        using (var socket = await RawConnectAsync(listener))
        {
            await socket.SendAsync(Convert.FromHexString(hex), SocketFlags.None);
            socket.Shutdown(SocketShutdown.Send);
            var buffer = new byte[4096];
            while (await socket.ReceiveAsync(buffer, SocketFlags.None, TestNodes.Bounded()) > 0)
            {
            }
        }
        await WaitUntilAsync(() => listener.ConnectionCount == 0);
        var (client, server) = await TestNodes.ConnectAsync(_client, listener);
        Assert.Equal(_server.PeerId, client.RemotePeer);
        await client.DisposeAsync();
        await server.DisposeAsync();
        Assert.NotNull(what);
    }

    [Fact]
    public async Task MaxStreamsPerConnectionIsEnforced()
    {
        await using var listener = await TestNodes.ListenAsync(_server, o => o.MaxStreamsPerConnection = 3);
        var (client, server) = await TestNodes.ConnectAsync(_client, listener);
        await using (client)
        await using (server)
        {
            var open = new List<PeerStream>();
            for (var i = 0; i < 3; i++)
            {
                open.Add(await client.OpenStreamAsync("/test/hold", TestNodes.Bounded()));
                open.Add(await server.AcceptStreamAsync(TestNodes.Bounded()));
            }
            var e = await Assert.ThrowsAsync<PeerException>(() => client.OpenStreamAsync("/test/hold", TestNodes.Bounded()).AsTask());
            Assert.Contains(e.Error, new[] { PeerError.StreamAborted, PeerError.LimitExceeded, PeerError.Refused });
            foreach (var stream in open)
            {
                await stream.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task IdleConnectionsAreClosed()
    {
        await using var listener = await TestNodes.ListenAsync(_server, o => o.IdleTimeout = TimeSpan.FromMilliseconds(300));
        var (client, server) = await TestNodes.ConnectAsync(_client, listener);
        await using (client)
        await using (server)
        {
            var done = await Task.WhenAny(server.Completion, Task.Delay(TestNodes.Timeout));
            Assert.Same(server.Completion, done);
            await WaitUntilAsync(() => listener.ConnectionCount == 0);
        }
    }

    [Fact]
    public async Task OversizedFrameIsAProtocolViolationThatClosesTheSession()
    {
        var (raw, far) = DuplexPipeStream.CreatePair();
        var options = new PeerConnectionOptions { Identity = _server, MaxFrameSize = 64 * 1024 };
        var session = ConnectionUpgrader.StartSession(far, isClient: false, options);
        await using (session)
        {
            // yamux header: version 0, type 0 (data), flags SYN, stream 1, length 100 KiB (> MaxFrameSize, < window).
            var header = new byte[12];
            BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(2), 1);
            BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(4), 1);
            BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(8), 100 * 1024);
            await raw.WriteAsync(header, TestNodes.Bounded());
            await raw.WriteAsync(new byte[100 * 1024], TestNodes.Bounded());
            var e = await Assert.ThrowsAnyAsync<PeerException>(() => session.Completion.WaitAsync(TestNodes.Timeout));
            Assert.Equal(PeerError.ProtocolViolation, e.Error);
            // The session told the peer why: a GoAway (type 3) with code 1 (protocol error).
            // Other frames (a keep-alive ping) may come first; none carries a payload here.
            var reply = new byte[12];
            do
            {
                await raw.ReadExactlyAsync(reply, TestNodes.Bounded());
            }
            while (reply[1] != 3);
            Assert.Equal(1u, BinaryPrimitives.ReadUInt32BigEndian(reply.AsSpan(8)));
        }
    }

    private static async Task<Socket> RawConnectAsync(PeerListener listener)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(TestNodes.Address(listener).ToIPEndPoint());
        return socket;
    }

    private static Task WaitUntilAsync(Func<bool> condition) => Eventually.TrueAsync(condition, "the listener's connection count", TestNodes.Timeout);
}
