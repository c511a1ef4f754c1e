using Microsoft.Extensions.Time.Testing;
using Pinhole.Core.Tests.Support;

namespace Pinhole.Core.Tests.Connections;

/// <summary>
/// <see cref="PeerConnection.UpgradeOutboundAsync"/> / <see cref="PeerConnection.UpgradeInboundAsync"/>: the TCP upgrade
/// (multistream /tls/1.0.0, TLS 1.3, yamux) over any byte stream, and limited connections.
/// </summary>
public sealed class StreamUpgradeTests : IDisposable
{
    private readonly NodeIdentity _a = NodeIdentity.Generate();
    private readonly NodeIdentity _b = NodeIdentity.Generate();
    private readonly NodeIdentity _other = NodeIdentity.Generate();

    public void Dispose()
    {
        _a.Dispose();
        _b.Dispose();
        _other.Dispose();
    }

    private static PeerConnectionOptions Options(NodeIdentity identity, Action<PeerConnectionOptions>? configure = null)
    {
        var options = new PeerConnectionOptions { Identity = identity };
        configure?.Invoke(options);
        return options;
    }

    private async Task<(PeerConnection Dialer, PeerConnection Listener, InMemoryDuplexStream Wire)> PairAsync(
        PeerUpgradeOptions? dialerInfo = null, PeerUpgradeOptions? listenerInfo = null,
        Action<PeerConnectionOptions>? dialer = null, Action<PeerConnectionOptions>? listener = null)
    {
        var (x, y) = InMemoryDuplexStream.CreatePair();
        var outbound = PeerConnection.UpgradeOutboundAsync(x, _b.PeerId, Options(_a, dialer), dialerInfo, TestNodes.Bounded()).AsTask();
        var inbound = PeerConnection.UpgradeInboundAsync(y, Options(_b, listener), _a.PeerId, listenerInfo, TestNodes.Bounded()).AsTask();
        return (await outbound, await inbound, x);
    }

    [Fact]
    public async Task UpgradesAnyStreamExactlyAsTcpDoes()
    {
        var remote = Multiaddr.Parse("/ip4/192.0.2.1/tcp/4001/p2p/" + _b.PeerId + "/p2p-circuit/p2p/" + _a.PeerId);
        var (dialer, listener, wire) = await PairAsync(
            new PeerUpgradeOptions { Netlayer = "relay" },
            new PeerUpgradeOptions { Netlayer = "relay", RemoteAddress = remote });
        await using (dialer)
        await using (listener)
        {
            Assert.Equal(_b.PeerId, dialer.RemotePeer);
            Assert.Equal(_a.PeerId, listener.RemotePeer);
            Assert.False(dialer.IsInbound);
            Assert.True(listener.IsInbound);
            Assert.Equal("relay", dialer.Netlayer);
            Assert.Equal(remote, listener.RemoteAddress);
            Assert.False(dialer.IsLimited);
            // The same first bytes as a TCP dial: multistream header + /tls/1.0.0, then a TLS record.
            var sent = wire.WrittenBytes;
            Assert.Equal(0x13, sent[0]);
            Assert.Equal("/multistream/1.0.0\n"u8.ToArray(), sent[1..20]);
            Assert.Equal("\v/tls/1.0.0\n"u8.ToArray(), sent[20..32]);
            Assert.Equal(0x16, sent[32]);

            Assert.True(await dialer.PingAsync(TestNodes.Bounded()) >= TimeSpan.Zero);
            var identify = await dialer.IdentifyAsync(TestNodes.Bounded());
            Assert.Equal(remote, identify.ObservedAddr);

            var accept = listener.AcceptStreamAsync(TestNodes.Bounded()).AsTask();
            await using var stream = await dialer.OpenStreamAsync("/test/1", TestNodes.Bounded());
            await stream.WriteAsync("hello"u8.ToArray(), TestNodes.Bounded());
            stream.CompleteWrites();
            await using var accepted = await accept;
            Assert.Equal("hello"u8.ToArray(), await TestNodes.ReadAllAsync(accepted, TestNodes.Bounded()));
        }
    }

    [Fact]
    public async Task InboundRefusesAnUnexpectedPeerDuringTheHandshake()
    {
        var (x, y) = InMemoryDuplexStream.CreatePair();
        var outbound = PeerConnection.UpgradeOutboundAsync(x, _b.PeerId, Options(_other), cancellationToken: TestNodes.Bounded()).AsTask();
        var inbound = PeerConnection.UpgradeInboundAsync(y, Options(_b), _a.PeerId, cancellationToken: TestNodes.Bounded()).AsTask();
        var e = await Assert.ThrowsAsync<PeerException>(() => inbound);
        Assert.Equal(PeerError.PeerMismatch, e.Error);
        Assert.Contains(_a.PeerId.ToString(), e.Message, StringComparison.Ordinal);
        Assert.Contains(_other.PeerId.ToString(), e.Message, StringComparison.Ordinal);
        await FailsOrClosesAsync(outbound);
    }

    /// <summary>
    /// In TLS 1.3 the client finishes before the server has checked its certificate, so the side that did not refuse
    /// either fails its handshake or gets a connection that the refusal closes at once.
    /// </summary>
    private static async Task FailsOrClosesAsync(Task<PeerConnection> other)
    {
        PeerConnection connection;
        try
        {
            connection = await other;
        }
        catch (IOException)
        {
            return;
        }
        await using (connection)
        {
            await Assert.ThrowsAnyAsync<Exception>(async () =>
            {
                await connection.Completion.WaitAsync(TestNodes.Timeout);
                await connection.OpenStreamAsync("/after/1", TestNodes.Bounded());
            });
        }
    }

    [Fact]
    public async Task OutboundRefusesAnotherPeer()
    {
        var (x, y) = InMemoryDuplexStream.CreatePair();
        var outbound = PeerConnection.UpgradeOutboundAsync(x, _other.PeerId, Options(_a), cancellationToken: TestNodes.Bounded()).AsTask();
        var inbound = PeerConnection.UpgradeInboundAsync(y, Options(_b), cancellationToken: TestNodes.Bounded()).AsTask();
        var e = await Assert.ThrowsAsync<PeerException>(() => outbound);
        Assert.Equal(PeerError.PeerMismatch, e.Error);
        await FailsOrClosesAsync(inbound);
    }

    [Fact]
    public async Task SilentPeerTimesOutOnTheConfiguredClock()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var (x, _) = InMemoryDuplexStream.CreatePair();
        var inbound = PeerConnection.UpgradeInboundAsync(x, Options(_b, o =>
        {
            o.TimeProvider = clock;
            o.HandshakeTimeout = TimeSpan.FromSeconds(5);
        }), cancellationToken: TestNodes.Bounded()).AsTask();
        await Task.Delay(100);
        Assert.False(inbound.IsCompleted);
        clock.Advance(TimeSpan.FromSeconds(6));
        var e = await Assert.ThrowsAsync<PeerException>(() => inbound);
        Assert.Equal(PeerError.Timeout, e.Error);
    }

    [Fact]
    public async Task BrokenTransportIsAHandshakeFailure()
    {
        var (x, y) = InMemoryDuplexStream.CreatePair();
        var inbound = PeerConnection.UpgradeInboundAsync(x, Options(_b), cancellationToken: TestNodes.Bounded()).AsTask();
        await y.WriteAsync("\u0013/multistream/1.0.0\n"u8.ToArray());
        await y.DisposeAsync();
        var e = await Assert.ThrowsAsync<PeerException>(() => inbound);
        Assert.True(e.Error is PeerError.ProtocolViolation or PeerError.HandshakeFailed or PeerError.ConnectionClosed, e.ToString());
    }

    [Fact]
    public async Task LimitedConnectionsRunOnlyProtocolsThatOptedIn()
    {
        var limit = new ConnectionLimit(TimeSpan.FromSeconds(120), 131072);
        var (dialer, listener, _) = await PairAsync(
            new PeerUpgradeOptions { Netlayer = "relay", Limit = limit },
            new PeerUpgradeOptions { Netlayer = "relay", Limit = limit },
            dialer: o => o.LimitedConnectionProtocols.Add("/small/1"),
            listener: o => o.LimitedConnectionProtocols.Add("/small/1"));
        await using (dialer)
        await using (listener)
        {
            Assert.True(dialer.IsLimited);
            Assert.Equal(limit, listener.Limit);
            // Ping and identify always run.
            await dialer.PingAsync(TestNodes.Bounded());
            await listener.IdentifyAsync(TestNodes.Bounded());
            // An application protocol that did not opt in cannot be opened...
            var e = await Assert.ThrowsAsync<PeerException>(() => dialer.OpenStreamAsync("/bulk/1", TestNodes.Bounded()).AsTask());
            Assert.Equal(PeerError.Refused, e.Error);
            Assert.Contains("limited", e.Message, StringComparison.Ordinal);
            Assert.False(dialer.AllowsProtocol("/bulk/1"));
            Assert.True(dialer.AllowsProtocol("/small/1"));
            // ...and one that did runs.
            var accept = listener.AcceptStreamAsync(TestNodes.Bounded()).AsTask();
            await using var small = await dialer.OpenStreamAsync("/small/1", TestNodes.Bounded());
            await using var accepted = await accept;
            Assert.Equal("/small/1", accepted.Protocol);
        }
    }

    [Fact]
    public async Task LimitedListenerRefusesInboundStreamsThatDidNotOptIn()
    {
        // The dialer thinks the connection is unlimited; the listener knows the relay's limit and refuses.
        var (dialer, listener, _) = await PairAsync(
            listenerInfo: new PeerUpgradeOptions { Limit = new ConnectionLimit(null, 1000) });
        await using (dialer)
        await using (listener)
        {
            var e = await Assert.ThrowsAsync<PeerException>(() => dialer.OpenStreamAsync("/bulk/1", TestNodes.Bounded()).AsTask());
            Assert.Equal(PeerError.Refused, e.Error);
            await dialer.PingAsync(TestNodes.Bounded());
        }
    }

    [Fact]
    public void LimitedProtocolIdsAreValidated()
    {
        var options = new PeerConnectionOptions { Identity = _a, LimitedConnectionProtocols = ["bad\nid"] };
        var e = Assert.Throws<ArgumentException>(options.Validate);
        Assert.Equal(nameof(PeerConnectionOptions.LimitedConnectionProtocols), e.ParamName);
    }

    [Fact]
    public async Task TcpDialRefusesACircuitHintInsteadOfDialingTheRelay()
    {
        await using var relay = await TestNodes.ListenAsync(_b);
        var hint = TestNodes.Address(relay).Encapsulate(_b.PeerId).Encapsulate("/p2p-circuit");
        var options = new PeerConnectOptions { Identity = _a, Remote = new PeerAddress(_other.PeerId, [hint]) };
        var e = await Assert.ThrowsAsync<PeerException>(() => PeerConnection.ConnectAsync(options, TestNodes.Bounded()).AsTask());
        Assert.Equal(PeerError.Unreachable, e.Error);
        Assert.Contains("p2p-circuit", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, relay.ConnectionCount);
    }
}

public sealed class ReusePortTests : IDisposable
{
    private readonly NodeIdentity _a = NodeIdentity.Generate();

    public void Dispose() => _a.Dispose();

    [Fact]
    public async Task AListenerWithReusePortLetsADialerBindItsPort()
    {
        await using var target = await TestNodes.ListenAsync(_a);
        await using var listener = await TestNodes.ListenAsync(_a, o => o.ReusePort = true);
        var port = listener.ListenAddresses[0].ToIPEndPoint();
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        socket.SetSocketOption(System.Net.Sockets.SocketOptionLevel.Socket, System.Net.Sockets.SocketOptionName.ReuseAddress, true);
        socket.Bind(port);
        await socket.ConnectAsync(target.ListenAddresses[0].ToIPEndPoint(), TestNodes.Bounded());
        Assert.Equal(port, socket.LocalEndPoint);
    }

    [Fact]
    public async Task WithoutReusePortThePortStaysExclusive()
    {
        await using var listener = await TestNodes.ListenAsync(_a);
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        socket.SetSocketOption(System.Net.Sockets.SocketOptionLevel.Socket, System.Net.Sockets.SocketOptionName.ReuseAddress, true);
        var e = Assert.Throws<System.Net.Sockets.SocketException>(() => socket.Bind(listener.ListenAddresses[0].ToIPEndPoint()));
        Assert.Equal(System.Net.Sockets.SocketError.AddressAlreadyInUse, e.SocketErrorCode);
    }
}
