using System.Net;
using Pinhole.Dtls;
using Pinhole.Nat;

namespace Pinhole.Node.Tests;

/// <summary>
/// The node's UDP hole punching on loopback (no NAT, so every punch finds the host or reflexive candidate): the
/// signalling over the node connection, DTLS on the path, the path's lifetime, and the refusals that send
/// <see cref="PinholeNode.ConnectDatagramsAsync"/> back to plain address dialling. The NAT cases are in NodeUdpGridLabTests.
/// </summary>
public sealed class NodeUdpPunchTests : IAsyncLifetime
{
    private readonly TestNodes _nodes = new();
    private StunServer _stun = null!;

    public Task InitializeAsync()
    {
        _stun = StunServer.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _nodes.DisposeAsync();
        await _stun.DisposeAsync();
    }

    private static async Task EchoAsync(DtlsConnection session, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var packet = await session.ReceiveAsync(cancellationToken);
            await session.SendAsync(packet, cancellationToken);
        }
    }

    private Task<PinholeNode> StartAsync(bool punch = true, bool stun = true, bool echo = false, Action<UdpPunchOptions>? configure = null) =>
        _nodes.StartAsync(b =>
        {
            if (stun)
            {
                b.Options.StunServers.Add(_stun.LocalEndPoints[0]);
            }
            if (punch)
            {
                b.UseUdpHolePunching(new NodeUdpPunchOptions { ConfigurePunch = configure });
            }
            if (echo)
            {
                b.HandleDatagrams(EchoAsync);
            }
        });

    private static async Task<byte[]> RoundTripAsync(DtlsConnection session, byte[] packet)
    {
        using var guard = new CancellationTokenSource(TestNodes.Wait);
        // Datagrams may be lost: send again until the echo comes (bounded by the guard).
        while (true)
        {
            await session.SendAsync(packet, guard.Token);
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(guard.Token);
            wait.CancelAfter(TimeSpan.FromSeconds(1));
            try
            {
                return await session.ReceiveAsync(wait.Token);
            }
            catch (OperationCanceledException) when (!guard.IsCancellationRequested)
            {
            }
        }
    }

    [Fact]
    public async Task Two_nodes_punch_a_path_over_their_connection_and_carry_dtls_on_it()
    {
        var a = await StartAsync();
        var b = await StartAsync(echo: true);
        a.Peers.Add(b.LocalPeer, addresses: [TestNodes.TcpAddress(b)]);

        await using var session = await a.ConnectDatagramsAsync(b.LocalPeer);

        Assert.Equal(b.LocalPeer, session.RemotePeer);
        Assert.Equal("ping"u8.ToArray(), await RoundTripAsync(session, "ping"u8.ToArray()));
        var punching = a.GetService<NodeUdpPunchService>()!;
        var path = Assert.Single(punching.Paths);
        Assert.Equal(b.LocalPeer, path.Key);
        // The path is to B's node socket (its UDP port is its TCP port): no extra socket on loopback.
        Assert.Equal(((IPEndPoint)b.DatagramEndpoints[0].LocalEndPoint).Port, path.Value.RemoteEndPoint.Port);
        await TestNodes.UntilAsync(() => b.GetService<NodeUdpPunchService>()!.Paths.ContainsKey(a.LocalPeer), "B holds its side of the path");
        var status = punching.GetStatus()!;
        Assert.Equal(1, (int)status["succeeded"]!);
        Assert.Equal("direct", (string)status["recent"]![0]!["outcome"]!);
    }

    [Fact]
    public async Task Closing_the_session_lets_both_sides_release_the_path()
    {
        // Short keepalives, so the answering side notices the dialler's side is gone within the test.
        static void Quick(UdpPunchOptions o)
        {
            o.KeepaliveInterval = TimeSpan.FromMilliseconds(200);
            o.CheckTimeout = TimeSpan.FromMilliseconds(200);
            o.MaxMissedKeepalives = 2;
        }
        var a = await StartAsync(configure: Quick);
        var b = await StartAsync(echo: true, configure: Quick);
        a.Peers.Add(b.LocalPeer, addresses: [TestNodes.TcpAddress(b)]);
        var session = await a.ConnectDatagramsAsync(b.LocalPeer);
        await TestNodes.UntilAsync(() => b.GetService<NodeUdpPunchService>()!.Paths.ContainsKey(a.LocalPeer), "B holds its side of the path");

        await session.CloseAsync();

        await TestNodes.UntilAsync(() => a.GetService<NodeUdpPunchService>()!.Paths.Count == 0, "A released its path with the session");
        await TestNodes.UntilAsync(() => b.GetService<NodeUdpPunchService>()!.Paths.Count == 0, "B released its path once A stopped answering");
    }

    [Fact]
    public async Task A_peer_without_punching_is_dialled_at_its_addresses()
    {
        var a = await StartAsync();
        var b = await StartAsync(punch: false, echo: true);
        a.Peers.Add(b.LocalPeer, addresses: [TestNodes.TcpAddress(b)]);

        await using var session = await a.ConnectDatagramsAsync(b.LocalPeer);

        Assert.Equal("ping"u8.ToArray(), await RoundTripAsync(session, "ping"u8.ToArray()));
        Assert.Empty(a.GetService<NodeUdpPunchService>()!.Paths);
    }

    [Fact]
    public async Task A_peer_that_cannot_punch_refuses_with_its_reason()
    {
        var a = await StartAsync();
        var b = await StartAsync(stun: false, echo: true); // punching on, but no STUN layer on its socket
        a.Peers.Add(b.LocalPeer, addresses: [TestNodes.TcpAddress(b)]);
        var punching = a.GetService<NodeUdpPunchService>()!;

        var e = await Assert.ThrowsAsync<PeerException>(() => punching.ConnectAsync(b.LocalPeer));
        Assert.Equal(PeerError.Refused, e.Error);
        Assert.Contains("no STUN layer", e.Message, StringComparison.Ordinal);
        Assert.NotNull(b.GetService<NodeUdpPunchService>()!.Unavailable);

        // The node itself falls back to B's address.
        await using var session = await a.ConnectDatagramsAsync(b.LocalPeer);
        Assert.Equal("ping"u8.ToArray(), await RoundTripAsync(session, "ping"u8.ToArray()));
    }

    [Fact]
    public async Task A_node_without_a_stun_layer_cannot_punch_and_says_why()
    {
        var a = await StartAsync(stun: false);
        var b = await StartAsync(echo: true);
        var punching = a.GetService<NodeUdpPunchService>()!;

        var e = await Assert.ThrowsAsync<PeerException>(() => punching.ConnectAsync(b.LocalPeer));
        Assert.Equal(PeerError.Unreachable, e.Error);
        Assert.Contains("not available", e.Message, StringComparison.Ordinal);
        Assert.False((bool)punching.GetStatus()!["available"]!);
    }

    [Fact]
    public async Task A_bad_offer_closes_the_stream_and_nothing_is_held()
    {
        var a = await StartAsync(punch: false);
        var b = await StartAsync();
        a.Peers.Add(b.LocalPeer, addresses: [TestNodes.TcpAddress(b)]);

        await using var stream = await a.Connections.OpenStreamAsync(b.LocalPeer, NodeUdpPunchService.ProtocolId);
        await stream.WriteAsync(new byte[] { 9, 0, 0 }); // an unknown message type
        await stream.FlushAsync();
        using var guard = new CancellationTokenSource(TestNodes.Wait);
        var buffer = new byte[16];
        // B resets the stream: the read ends (an error or end of stream), it does not hang.
        try
        {
            Assert.Equal(0, await stream.ReadAsync(buffer, guard.Token));
        }
        catch (PeerException)
        {
        }
        Assert.Empty(b.GetService<NodeUdpPunchService>()!.Paths);
        Assert.Equal(0, (int)b.GetService<NodeUdpPunchService>()!.GetStatus()!["tried"]!);
    }
}
