using System.Net.Sockets;
using Pinhole.Nat.Dcutr;
using Pinhole.Testing.Netlab;
using Xunit.Abstractions;

namespace Pinhole.Node.Tests;

/// <summary>
/// Issue 9's "by PeerId alone (plus a relay)" with whole nodes: a relay node on the internet segment, B behind one lab NAT
/// reserving on it, A behind another knowing only B's circuit address. A reaches B relayed, a stream opened then keeps
/// working, and DCUtR upgrades the pair to a direct TCP connection where both NATs allow it.
/// </summary>
[Trait("Category", "Netns")]
public sealed class NodeGridLabTests(ITestOutputHelper output)
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(90);

    private static async Task<PinholeNode> StartInAsync(LabHost host, NodeIdentity identity, string listen, Action<PinholeNodeBuilder> configure, CancellationToken cancellationToken)
    {
        var options = TestNodes.Options(identity);
        options.ListenAddresses.Clear();
        options.ListenAddresses.Add(Multiaddr.Parse(listen));
        options.EnableUdp = false;
        options.Transport.OutboundSocketFactory = family => host.Namespace.CreateSocket(family, SocketType.Stream, ProtocolType.Tcp);
        var builder = PinholeNode.CreateBuilder(options);
        configure(builder);
        var node = builder.Build();
        await host.Namespace.RunInside(() => node.StartAsync(cancellationToken));
        return node;
    }

    [NatLabTheory]
    [InlineData(NatType.Easy, NatType.Easy, true)]
    [InlineData(NatType.Easy, NatType.Hard, false)]
    [InlineData(NatType.Hard, NatType.Hard, false)]
    public async Task Two_nodes_behind_nats_reach_each_other_by_peer_id_through_a_relay_and_go_direct_where_tcp_punching_can(NatType natA, NatType natB, bool direct)
    {
        await using NatLab lab = await NatLab.CreateAsync(new NatLabOptions().Add("a", natA).Add("b", natB));
        using var guard = new CancellationTokenSource(HangGuard);
        using NodeIdentity idR = NodeIdentity.Generate(Libp2pKeyType.Ed25519), idA = NodeIdentity.Generate(Libp2pKeyType.Ed25519), idB = NodeIdentity.Generate(Libp2pKeyType.Ed25519);

        await using var r = await StartInAsync(lab.Server, idR, $"/ip4/{lab.ServerAddress}/tcp/0",
            b => b.UseRelays(new NodeRelayOptions { ServeRelay = true, HolePunching = false, ConfigureServer = o => o.CircuitLimit = null }), guard.Token);
        var relayAddress = r.ListenAddresses[0].Encapsulate(r.LocalPeer);
        await using var b = await StartInAsync(lab["b"].Host, idB, "/ip4/0.0.0.0/tcp/0",
            x => x.UseRelays(new NodeRelayOptions { Relays = [relayAddress], Reachability = NodeReachability.Private }).Handle(EchoProtocol.Id, EchoProtocol.ServeAsync), guard.Token);
        await TestNodes.UntilAsync(() => b.GetDialableAddresses().Any(CircuitAddress.IsCircuit), "B advertises its circuit address");
        var circuit = b.GetDialableAddresses().Single(CircuitAddress.IsCircuit);
        // B, the side the relayed connection comes in to, starts DCUtR (the spec's roles): its result says what happened.
        var punched = new TaskCompletionSource<DirectConnectionResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        b.GetService<NodeRelayService>()!.PunchCompleted += (_, e) => punched.TrySetResult(e.Result);
        await using var a = await StartInAsync(lab["a"].Host, idA, "/ip4/0.0.0.0/tcp/0",
            x => x.UseRelays(new NodeRelayOptions { Relays = [relayAddress], Reachability = NodeReachability.Private }), guard.Token);

        var started = DateTime.UtcNow;
        a.Peers.Add(b.LocalPeer, addresses: [circuit]); // B's PeerId and the relay: nothing else
        var relayed = await a.Connections.ConnectAsync(b.LocalPeer, guard.Token);
        Assert.Equal("relay", relayed.Netlayer);
        await using var stream = await a.Connections.OpenStreamAsync(b.LocalPeer, EchoProtocol.Id, guard.Token);
        Assert.Equal(1, await EchoProtocol.RoundTripAsync(stream, 1, guard.Token));

        var result = await punched.Task.WaitAsync(guard.Token);
        output.WriteLine($"{natA}↔{natB}: relayed, then {(result.Succeeded ? "direct" : "still relayed (" + result.Failure + ")")} after {(DateTime.UtcNow - started).TotalSeconds:0.0} s");
        Assert.Equal(direct, result.Succeeded);
        if (direct)
        {
            await TestNodes.UntilAsync(() => a.Connections.Get(b.LocalPeer)?.Netlayer == "tcp", "A's manager prefers the direct connection");
        }
        // The stream opened on the relayed connection still works whatever the punch did; a new stream takes the best path.
        Assert.Equal(2, await EchoProtocol.RoundTripAsync(stream, 2, guard.Token));
        await using var next = await a.Connections.OpenStreamAsync(b.LocalPeer, EchoProtocol.Id, guard.Token);
        Assert.Equal(3, await EchoProtocol.RoundTripAsync(next, 3, guard.Token));
        Assert.Equal(direct ? "tcp" : "relay", a.Connections.Get(b.LocalPeer)!.Netlayer);
    }
}
