using Pinhole.Nat.Dcutr;

namespace Pinhole.Node.Tests;

/// <summary>
/// The relay service in a node (NodeRelayExtensions.UseRelays) on loopback: a relay node, a node that reserves on it and
/// advertises its circuit address, and a node that reaches it by PeerId through that address alone. The punch itself
/// is tested in network namespaces (tests/Pinhole.Nat.Tests/Dcutr); here DCUtR's outcome and the manager's migration
/// policy (new streams direct, the relayed connection closed once idle) are checked.
/// </summary>
public sealed class NodeRelayTests : IAsyncLifetime
{
    private const string Echo = "/test/echo/1.0.0";

    private readonly TestNodes _nodes = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _nodes.DisposeAsync();

    private static CancellationToken Bounded() => new CancellationTokenSource(TestNodes.Wait).Token;

    private static Task<byte> RoundTripAsync(PeerStream stream, byte value) => EchoProtocol.RoundTripAsync(stream, value, Bounded());

    /// <summary>R serves (without circuit limits, so any protocol runs relayed); B reserves on R and advertises the circuit.</summary>
    private async Task<(PinholeNode R, PinholeNode B, Multiaddr Circuit)> RelayAndPrivateNodeAsync(bool bPunches = true)
    {
        var r = await _nodes.StartAsync(b => b.UseRelays(new NodeRelayOptions { ServeRelay = true, HolePunching = false, ConfigureServer = o => o.CircuitLimit = null }));
        var relayAddress = TestNodes.TcpAddress(r).Encapsulate(r.LocalPeer);
        var node = await _nodes.StartAsync(b => b
            .UseRelays(new NodeRelayOptions { Relays = [relayAddress], Reachability = NodeReachability.Private, HolePunching = bPunches })
            .Handle(Echo, EchoProtocol.ServeAsync));
        await TestNodes.UntilAsync(() => node.GetDialableAddresses().Any(CircuitAddress.IsCircuit), "B advertises its circuit address");
        var circuit = node.GetDialableAddresses().Single(CircuitAddress.IsCircuit);
        return (r, node, circuit);
    }

    [Fact]
    public async Task APrivateNodeReservesAdvertisesItsCircuitAndIsReachedByPeerIdThroughIt()
    {
        var (r, b, circuit) = await RelayAndPrivateNodeAsync(bPunches: false);
        var parsed = CircuitAddress.Parse(circuit);
        Assert.Equal(r.LocalPeer, parsed.Relay);
        Assert.Equal(b.LocalPeer, parsed.Destination);
        var relayStatus = b.GetService<NodeRelayService>()!.GetStatus()!;
        Assert.Equal("reserved", relayStatus["relays"]![0]!["state"]!.GetValue<string>());
        Assert.Equal(1, r.GetService<NodeRelayService>()!.Server!.ReservationCount);
        // The relay is kept connected: the reservation lives on that connection.
        Assert.True(b.Connections.IsKeptConnected(r.LocalPeer));

        var a = await _nodes.StartAsync(x => x.UseRelays(new NodeRelayOptions { HolePunching = false }));
        a.Peers.Add(b.LocalPeer, addresses: [circuit]); // B's PeerId and the relay: nothing else
        var connection = await a.Connections.ConnectAsync(b.LocalPeer, Bounded());
        Assert.Equal("relay", connection.Netlayer);
        Assert.Equal(ConnectionPathKind.Relayed, Assert.Single(a.Connections.List(b.LocalPeer)).Path);
        await using var stream = await a.Connections.OpenStreamAsync(b.LocalPeer, Echo, Bounded());
        Assert.Equal(42, await RoundTripAsync(stream, 42));
        await TestNodes.UntilAsync(() => b.Connections.List(a.LocalPeer).Any(c => c.Path == ConnectionPathKind.Relayed), "B's manager holds the relayed connection");
        Assert.Equal(1, r.GetService<NodeRelayService>()!.Server!.CircuitCount);
    }

    [Fact]
    public async Task APeerWithoutDcutrLeavesTheConnectionRelayedWithTheReason()
    {
        var (_, b, circuit) = await RelayAndPrivateNodeAsync();
        var punched = new TaskCompletionSource<DirectConnectionResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        b.GetService<NodeRelayService>()!.PunchCompleted += (_, e) => punched.TrySetResult(e.Result);
        var a = await _nodes.StartAsync(x => x.UseRelays(new NodeRelayOptions { HolePunching = false }));
        a.Peers.Add(b.LocalPeer, addresses: [circuit]);
        await a.Connections.ConnectAsync(b.LocalPeer, Bounded());

        var result = await punched.Task.WaitAsync(TestNodes.Wait);
        Assert.False(result.Succeeded);
        Assert.Equal(DirectConnectionFailure.NotSupported, result.Failure);
        Assert.Contains("/libp2p/dcutr", result.Reason, StringComparison.Ordinal);
        var status = b.GetService<NodeRelayService>()!.GetStatus()!;
        Assert.Equal("NotSupported", status["recentPunches"]![0]!["failure"]!.GetValue<string>());
        // Still relayed, still usable.
        await using var stream = await a.Connections.OpenStreamAsync(b.LocalPeer, Echo, Bounded());
        Assert.Equal(7, await RoundTripAsync(stream, 7));
        Assert.Equal(ConnectionPathKind.Relayed, Assert.Single(a.Connections.List(b.LocalPeer)).Path);
    }

    [Fact]
    public async Task ADirectConnectionTakesNewStreamsAndTheRelayedOneClosesOnceIdle()
    {
        var (_, b, circuit) = await RelayAndPrivateNodeAsync(bPunches: false);
        var a = await _nodes.StartAsync(x => x.UseRelays(new NodeRelayOptions { HolePunching = false }));
        a.Peers.Add(b.LocalPeer, addresses: [circuit]);
        using var events = a.Events.Subscribe();
        var relayed = await a.Connections.ConnectAsync(b.LocalPeer, Bounded());
        var longLived = await a.Connections.OpenStreamAsync(b.LocalPeer, Echo, Bounded());
        Assert.Equal(1, await RoundTripAsync(longLived, 1));

        // What the relay service does with a punched connection: hand it to the manager as direct.
        var direct = await PeerConnection.ConnectAsync(a.CreateConnectOptions(new PeerAddress(b.LocalPeer, [TestNodes.TcpAddress(b)])), Bounded());
        Assert.True(a.Connections.Adopt(direct, ConnectionPathKind.Direct));
        var changed = await TestNodes.NextAsync<PathChangedEvent>(events);
        Assert.Equal(ConnectionPathKind.Relayed, changed.From.Path);
        Assert.Equal(ConnectionPathKind.Direct, changed.To.Path);
        Assert.Same(direct, a.Connections.Get(b.LocalPeer));

        // New streams go direct; the stream opened over the relay keeps working until it ends.
        await using (var fresh = await a.Connections.OpenStreamAsync(b.LocalPeer, Echo, Bounded()))
        {
            Assert.Equal(2, await RoundTripAsync(fresh, 2));
        }
        Assert.Equal(3, await RoundTripAsync(longLived, 3));
        Assert.False(relayed.Completion.IsCompleted);
        longLived.CompleteWrites();
        await longLived.DisposeAsync();
        await relayed.Completion.WaitAsync(TestNodes.Wait);
        await TestNodes.UntilAsync(() => a.Connections.List(b.LocalPeer).Count == 1, "the manager forgets the closed relayed connection");
        var left = Assert.Single(a.Connections.List(b.LocalPeer));
        Assert.Equal(ConnectionPathKind.Direct, left.Path);
    }

    [Theory]
    [InlineData(NodeReachability.Public, false)]
    [InlineData(NodeReachability.Auto, true)]
    public async Task ReachabilityDecidesWhetherToReserve(NodeReachability reachability, bool reserves)
    {
        var r = await _nodes.StartAsync(b => b.UseRelays(new NodeRelayOptions { ServeRelay = true, HolePunching = false }));
        var relayAddress = TestNodes.TcpAddress(r).Encapsulate(r.LocalPeer);
        // Auto: the relay sees the node at its dialing port, not at its listen port, as behind a NAT: it reserves.
        var node = await _nodes.StartAsync(b => b.UseRelays(new NodeRelayOptions { Relays = [relayAddress], Reachability = reachability }));
        var service = node.GetService<NodeRelayService>()!;
        var expected = reserves ? "reserved" : "connected";
        await TestNodes.UntilAsync(() => service.GetStatus()!["relays"]![0]!["state"]!.GetValue<string>().StartsWith(expected, StringComparison.Ordinal), $"the relay state becomes {expected}");
        Assert.False(service.PubliclyReachable);
        Assert.Equal(reserves ? 1 : 0, service.GetAddresses().Count);
        Assert.Equal(reserves ? 1 : 0, r.GetService<NodeRelayService>()!.Server!.ReservationCount);
    }

    [Fact]
    public async Task OnALimitedCircuitOnlyProtocolsThatOptedInRun_BothWays()
    {
        // The relay's default limit (2 min, 128 KiB) is announced, so the circuit is a limited connection.
        var r = await _nodes.StartAsync(b => b.UseRelays(new NodeRelayOptions { ServeRelay = true, HolePunching = false }));
        var relayAddress = TestNodes.TcpAddress(r).Encapsulate(r.LocalPeer);
        const string Other = "/test/other/1.0.0";
        var b = await _nodes.StartAsync(x => x
            .UseRelays(new NodeRelayOptions { Relays = [relayAddress], Reachability = NodeReachability.Private, HolePunching = false })
            .Handle(Echo, EchoProtocol.ServeAsync).Handle(Other, EchoProtocol.ServeAsync).AllowOnLimitedConnections(Echo));
        await TestNodes.UntilAsync(() => b.GetDialableAddresses().Any(CircuitAddress.IsCircuit), "B advertises its circuit address");
        var circuit = b.GetDialableAddresses().Single(CircuitAddress.IsCircuit);
        // A only opens Echo (it serves nothing): the opt-in covers the opener too.
        var a = await _nodes.StartAsync(x => x.UseRelays(new NodeRelayOptions { HolePunching = false }).AllowOnLimitedConnections(Echo));
        Assert.Equal([Echo], a.LimitedConnectionProtocols);
        a.Peers.Add(b.LocalPeer, addresses: [circuit]);
        var connection = await a.Connections.ConnectAsync(b.LocalPeer, Bounded());
        Assert.True(connection.IsLimited);

        await using var stream = await a.Connections.OpenStreamAsync(b.LocalPeer, Echo, Bounded());
        Assert.Equal(9, await RoundTripAsync(stream, 9));
        var refused = await Assert.ThrowsAsync<PeerException>(async () => await a.Connections.OpenStreamAsync(b.LocalPeer, Other, Bounded()));
        Assert.Equal(PeerError.Refused, refused.Error);
        Assert.Contains("has not opted in to limited connections", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AllowOnLimitedConnectionsChecksTheProtocolId()
    {
        using var identity = NodeIdentity.Generate();
        var builder = PinholeNode.CreateBuilder(TestNodes.Options(identity));
        Assert.Throws<ArgumentException>(() => builder.AllowOnLimitedConnections("no-slash"));
        Assert.Throws<ArgumentException>(() => builder.AllowOnLimitedConnections(""));
    }

    [Fact]
    public void RelayOptionsAreValidated()
    {
        using var identity = NodeIdentity.Generate();
        var builder = PinholeNode.CreateBuilder(TestNodes.Options(identity));
        Assert.Throws<ArgumentException>(() => builder.UseRelays(new NodeRelayOptions { Relays = [Multiaddr.Parse("/ip4/127.0.0.1/tcp/1")] }));
        Assert.Throws<ArgumentOutOfRangeException>(() => builder.UseRelays(new NodeRelayOptions { PunchAttempts = 0 }));
    }
}
