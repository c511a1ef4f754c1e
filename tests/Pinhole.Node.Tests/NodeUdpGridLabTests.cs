using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Pinhole.Dtls;
using Pinhole.Nat;
using Pinhole.Testing.Netlab;
using Xunit.Abstractions;

namespace Pinhole.Node.Tests;

/// <summary>
/// Issue 9's UDP grid with whole nodes: a relay node and coturn (STUN on two addresses) on the internet segment, B behind
/// one lab NAT reserving on the relay, A behind another knowing only B's circuit address. A's
/// <see cref="PinholeNode.ConnectDatagramsAsync"/> swaps candidates with B over the relayed connection and punches: direct
/// where both NATs map per endpoint, direct through birthday probing where one maps per destination (the path then on
/// that side's extra socket), and where both map per destination it fails with that reason — then, with a TURN server
/// configured, DTLS runs through two coturn allocations; without one the relayed stream is what the pair has.
/// </summary>
[Trait("Category", "Netns")]
public sealed class NodeUdpGridLabTests(ITestOutputHelper output)
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(90);

    private static async Task<PinholeNode> StartInAsync(NatLab lab, LabHost host, NodeIdentity identity, Action<PinholeNodeBuilder> configure, CancellationToken cancellationToken, bool udp = true)
    {
        var options = TestNodes.Options(identity);
        options.ListenAddresses.Clear();
        // The host's own address, not a wildcard: the host candidate is then exactly it.
        options.ListenAddresses.Add(Multiaddr.Parse($"/ip4/{host.Address}/tcp/0"));
        options.EnableUdp = udp;
        if (udp)
        {
            options.StunServers.Add(lab.StunServer);
            options.StunServers.Add(lab.StunOtherAddress);
        }
        options.Transport.OutboundSocketFactory = family => host.Namespace.CreateSocket(family, SocketType.Stream, ProtocolType.Tcp);
        options.Transport.DatagramBindFactory = local => host.RunInside(() => UdpDatagramBind.Bind(local));
        var builder = PinholeNode.CreateBuilder(options);
        configure(builder);
        var node = builder.Build();
        await host.Namespace.RunInside(() => node.StartAsync(cancellationToken));
        return node;
    }

    private static NodeUdpPunchOptions Punching(NatLab lab, bool turn) => new()
    {
        Turn = turn ? new TurnClientOptions { Server = lab.StunServer, Username = NatLab.TurnUser, Password = NatLab.TurnPassword } : null,
    };

    private static async Task EchoAsync(DtlsConnection session, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var packet = await session.ReceiveAsync(cancellationToken);
            await session.SendAsync(packet, cancellationToken);
        }
    }

    [NatLabTheory(coturn: true)]
    [InlineData(NatType.Easy, NatType.Easy, null, false, false)]
    [InlineData(NatType.Easy, NatType.Hard, null, true, false)]
    [InlineData(NatType.Hard, NatType.Easy, null, true, false)]
    [InlineData(NatType.OneToOne, NatType.Hard, null, false, false)]
    [InlineData(NatType.DoubleNat, NatType.Easy, null, false, false)]
    [InlineData(NatType.HardFullyRandom, NatType.Easy, null, true, false)]
    [InlineData(NatType.UdpBlocked, NatType.Easy, UdpPunchFailure.NoResponse, false, false)]
    [InlineData(NatType.Hard, NatType.Hard, UdpPunchFailure.BothMappingsEndpointDependent, false, false)]
    [InlineData(NatType.Hard, NatType.Hard, UdpPunchFailure.BothMappingsEndpointDependent, false, true)]
    public async Task Two_nodes_behind_nats_punch_udp_over_their_relayed_connection(NatType natA, NatType natB, UdpPunchFailure? failure, bool birthday, bool turn)
    {
        await using NatLab lab = await NatLab.CreateAsync(new NatLabOptions { Coturn = true }.Add("a", natA).Add("b", natB));
        using var guard = new CancellationTokenSource(HangGuard);
        using NodeIdentity idR = NodeIdentity.Generate(Libp2pKeyType.Ed25519), idA = NodeIdentity.Generate(Libp2pKeyType.Ed25519), idB = NodeIdentity.Generate(Libp2pKeyType.Ed25519);

        await using var r = await StartInAsync(lab, lab.Server, idR,
            b => b.UseRelays(new NodeRelayOptions { ServeRelay = true, HolePunching = false, ConfigureServer = o => o.CircuitLimit = null }), guard.Token, udp: false);
        var relayAddress = r.ListenAddresses[0].Encapsulate(r.LocalPeer);
        // No DCUtR: the TCP connection stays relayed, and the UDP path is the only direct one.
        await using var b = await StartInAsync(lab, lab["b"].Host, idB,
            x => x.UseRelays(new NodeRelayOptions { Relays = [relayAddress], Reachability = NodeReachability.Private, HolePunching = false })
                .UseUdpHolePunching(Punching(lab, turn)).HandleDatagrams(EchoAsync), guard.Token);
        await using var a = await StartInAsync(lab, lab["a"].Host, idA,
            x => x.UseRelays(new NodeRelayOptions { Relays = [relayAddress], Reachability = NodeReachability.Private, HolePunching = false })
                .UseUdpHolePunching(Punching(lab, turn)), guard.Token);
        var punchA = a.GetService<NodeUdpPunchService>()!;
        var punchB = b.GetService<NodeUdpPunchService>()!;
        // Each node learns its NAT's behaviour at start (netcheck against coturn's two addresses); offers carry it.
        await TestNodes.UntilAsync(() => punchA.GetStatus()!["mapping"] is not null && punchB.GetStatus()!["mapping"] is not null, "both nodes ran netcheck");
        await TestNodes.UntilAsync(() => b.GetDialableAddresses().Any(CircuitAddress.IsCircuit), "B advertises its circuit address");
        a.Peers.Add(b.LocalPeer, addresses: [b.GetDialableAddresses().Single(CircuitAddress.IsCircuit)]);

        var clock = Stopwatch.StartNew();
        DtlsConnection session;
        try
        {
            session = await a.ConnectDatagramsAsync(b.LocalPeer, guard.Token);
        }
        catch (PeerException e) when (failure is not null && !turn)
        {
            output.WriteLine($"{natA}↔{natB}: no direct UDP path after {clock.Elapsed.TotalSeconds:0.0} s: {e.Message}");
            Assert.Equal(PeerError.Unreachable, e.Error);
            Assert.Equal(failure, Assert.IsType<UdpPunchException>(e.InnerException).Failure);
            Assert.Equal("relay", a.Connections.Get(b.LocalPeer)!.Netlayer); // the relayed connection is still there
            Assert.Empty(punchA.Paths);
            return;
        }
        if (turn)
        {
            await using (session)
            {
                // Both allocations on coturn: DTLS runs through them, end to end between the nodes.
                output.WriteLine($"{natA}↔{natB}: no punch (both NATs map per destination), DTLS through TURN after {clock.Elapsed.TotalSeconds:0.0} s ({session.RemoteEndPoint})");
                Assert.IsType<TurnPeerEndPoint>(session.RemoteEndPoint);
                Assert.Equal("ping through TURN"u8.ToArray(), await RoundTripAsync(session, "ping through TURN"u8.ToArray(), guard.Token));
                Assert.Empty(punchA.Paths);
                Assert.NotNull(punchA.TurnRelayedAddress);
                Assert.NotNull(punchB.TurnRelayedAddress);
                var outcomes = punchA.GetStatus()!["recent"]!.AsArray().Select(r => (string)r!["outcome"]!).ToList();
                // Both offers say "maps per destination": A goes to TURN without waiting out a punch that cannot work.
                Assert.Equal(["predicted BothMappingsEndpointDependent", "turn"], outcomes);
            }
            return;
        }
        await using (session)
        {
            var toPath = clock.Elapsed;
            Assert.Null(failure);
            var path = Assert.Single(punchA.Paths).Value;
            output.WriteLine($"{natA}↔{natB}: UDP direct after {toPath.TotalSeconds:0.0} s to {path.Candidate}, checks {path.Statistics}");
            // The session is on the routers' public addresses, never on a private one.
            var remote = (IPEndPoint)session.RemoteEndPoint;
            Assert.Equal(lab["b"].PublicAddress, remote.Address);
            Assert.Equal("ping across two NATs"u8.ToArray(), await RoundTripAsync(session, "ping across two NATs"u8.ToArray(), guard.Token));
            // Birthday probing exactly where one side maps per destination: that side's path is on an extra socket.
            var hardSide = natA is NatType.Hard or NatType.HardFullyRandom ? punchA : punchB;
            await TestNodes.UntilAsync(() => punchB.Paths.ContainsKey(a.LocalPeer), "B holds its side of the path");
            Assert.Equal(birthday, (bool)hardSide.GetStatus()!["paths"]![0]!["birthdaySocket"]!);
            Assert.Equal("relay", a.Connections.Get(b.LocalPeer)!.Netlayer);
        }
    }

    private static async Task<byte[]> RoundTripAsync(DtlsConnection session, byte[] packet, CancellationToken cancellationToken)
    {
        while (true)
        {
            await session.SendAsync(packet, cancellationToken);
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            wait.CancelAfter(TimeSpan.FromSeconds(1));
            try
            {
                return await session.ReceiveAsync(wait.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // A datagram lost: send again (bounded by the test's guard).
            }
        }
    }
}
