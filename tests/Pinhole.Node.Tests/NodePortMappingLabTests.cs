using System.Net;
using System.Net.Sockets;
using Pinhole.Nat;
using Pinhole.Testing.Netlab;
using Xunit.Abstractions;

namespace Pinhole.Node.Tests;

/// <summary>A fact that needs the NAT lab with miniupnpd (root, namespaces, conntrack).</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class PortMappingLabFactAttribute : FactAttribute
{
    public PortMappingLabFactAttribute() => Skip = NatLab.UnavailableReason(portMapping: true);
}

/// <summary>A theory that needs the NAT lab with miniupnpd.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class PortMappingLabTheoryAttribute : TheoryAttribute
{
    public PortMappingLabTheoryAttribute() => Skip = NatLab.UnavailableReason(portMapping: true);
}

/// <summary>
/// A whole <see cref="PinholeNode"/> behind a lab NAT whose router runs a real miniupnpd 2.3.1 (PCP, NAT-PMP, UPnP IGD
/// over real nftables NAT): <see cref="NodePortMappingExtensions.UsePortMapping"/> maps the node's TCP and UDP port, the
/// node advertises the public address, and a peer on the internet side reaches the node by its PeerId through it.
/// </summary>
[Trait("Category", "Netns")]
public sealed class NodePortMappingLabTests(ITestOutputHelper output)
{
    private const string Echo = "/test/echo/1.0.0";
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(90);

    [PortMappingLabTheory]
    [InlineData(PortMappingProtocols.All, PortMappingProtocols.Pcp)]
    [InlineData(PortMappingProtocols.NatPmp, PortMappingProtocols.NatPmp)]
    [InlineData(PortMappingProtocols.Upnp, PortMappingProtocols.Upnp)]
    public async Task A_peer_on_the_internet_reaches_the_node_by_peer_id_through_its_mapped_port(PortMappingProtocols allowed, PortMappingProtocols expected)
    {
        await using NatLab lab = await NatLab.CreateAsync(new NatLabOptions().Add("home", NatType.Easy, portMapping: true));
        LabSite home = lab["home"];
        using var guard = new CancellationTokenSource(HangGuard);
        using var identity = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var options = TestNodes.Options(identity);
        options.ListenAddresses.Clear();
        options.ListenAddresses.Add(Multiaddr.Parse("/ip4/0.0.0.0/tcp/0"));
        var builder = PinholeNode.CreateBuilder(options)
            .UsePortMapping(new NodePortMappingOptions
            {
                Gateway = home.Gateway,
                LocalAddress = home.Host.Address,
                Protocols = allowed,
                Lifetime = TimeSpan.FromMinutes(10),
                SocketFactory = (family, type, protocol) => home.Host.Namespace.CreateSocket(family, type, protocol),
                ConfigureMapper = m =>
                {
                    m.SsdpMulticast = false;
                    // A loaded CI machine may be slow to answer; this bounds a hang, it is not what the test checks.
                    m.HttpTimeout = TimeSpan.FromSeconds(30);
                    // PCP must win over NAT-PMP (InlineData All → Pcp) even when miniupnpd answers late: RFC 6886
                    // §3.1's 9 sends (about 2 min) instead of our 4 (3.75 s), so no answer is missed by time.
                    m.MaxSends = 9;
                },
            })
            .Handle(Echo, EchoProtocol.ServeAsync);
        var node = builder.Build();
        var service = node.GetService<NodePortMappingService>()!;
        var mapped = WhenAllMapped(service, 2);
        // The node binds its listener and UDP socket before its first await: on a thread inside the host's namespace, they live there.
        await home.Host.Namespace.RunInside(() => node.StartAsync(guard.Token));
        await using (node)
        {
            var port = node.ListenAddresses[0].ToIPEndPoint().Port;
            var states = await mapped.WaitAsync(guard.Token);
            output.WriteLine(string.Join("\n", states));
            var tcp = Assert.Single(states, s => s.Transport == "tcp");
            Assert.Single(states, s => s.Transport == "udp");
            Assert.All(states, s => Assert.Equal(expected, s.Mapping!.Protocol));
            Assert.Equal(port, tcp.InternalPort);
            Assert.Equal(home.PublicAddress, tcp.Mapping!.External.Address);
            Assert.Contains($"dnat ip to {home.Host.Address}:{port}", await home.PortMappingRulesAsync(), StringComparison.Ordinal);

            var advertised = Multiaddr.FromIPEndPoint(tcp.Mapping.External, "tcp").Encapsulate(node.LocalPeer);
            Assert.Contains(advertised, node.GetDialableAddresses());
            var status = node.GetStatus().Services["portmapping"]!["mappings"]!.AsArray();
            var tcpStatus = status.Single(m => m!["transport"]!.GetValue<string>() == "tcp")!;
            Assert.Equal("mapped", tcpStatus["state"]!.GetValue<string>());
            Assert.Equal(expected.ToString(), tcpStatus["protocol"]!.GetValue<string>());
            Assert.Equal(tcp.Mapping.External.ToString(), tcpStatus["external"]!.GetValue<string>());
            Assert.True(tcpStatus["advertised"]!.GetValue<bool>());

            // The internet peer knows the node's PeerId and the advertised address; TLS proves it reached that PeerId.
            using var peerIdentity = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
            await using var connection = await ConnectFromInternetAsync(lab, peerIdentity, node.LocalPeer, tcp.Mapping.External, guard.Token);
            Assert.Equal(node.LocalPeer, connection.RemotePeer);
            var identify = await connection.IdentifyAsync(guard.Token);
            output.WriteLine("identify: " + string.Join(", ", identify.ListenAddrs));
            Assert.Contains(advertised.DecapsulateCode(0x01a5), identify.ListenAddrs.Select(a => a.DecapsulateCode(0x01a5)));
            await using (var stream = await connection.OpenStreamAsync(Echo, cancellationToken: guard.Token))
            {
                await stream.WriteAsync(new byte[] { 42 }, guard.Token);
                var one = new byte[1];
                await stream.ReadExactlyAsync(one, guard.Token);
                Assert.Equal(42, one[0]);
            }
            await TestNodes.UntilAsync(() => node.Connections.List(peerIdentity.PeerId).Count > 0, "the node's manager holds the inbound connection");

            // Stopping deletes both mappings on the gateway.
            await node.StopAsync(guard.Token);
            Assert.All(service.Mappings, m => Assert.Equal(NodePortMappingPhase.Stopped, m.Phase));
            Assert.DoesNotContain($"{home.Host.Address}:{port}", await home.PortMappingRulesAsync(), StringComparison.Ordinal);
            Assert.Empty(service.GetAddresses());
        }
    }

    [PortMappingLabFact]
    public async Task Behind_a_carrier_grade_nat_the_mapping_is_not_advertised_and_status_says_why()
    {
        await using NatLab lab = await NatLab.CreateAsync(new NatLabOptions().Add("dbl", NatType.DoubleNat, portMapping: true));
        LabSite dbl = lab["dbl"];
        using var guard = new CancellationTokenSource(HangGuard);
        using var identity = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var options = TestNodes.Options(identity);
        options.ListenAddresses.Clear();
        options.ListenAddresses.Add(Multiaddr.Parse("/ip4/0.0.0.0/tcp/0"));
        options.EnableUdp = false;
        var node = PinholeNode.CreateBuilder(options)
            .UsePortMapping(new NodePortMappingOptions
            {
                Gateway = dbl.Gateway,
                LocalAddress = dbl.Host.Address,
                RetryDelay = TimeSpan.FromHours(1),
                SocketFactory = (family, type, protocol) => dbl.Host.Namespace.CreateSocket(family, type, protocol),
                ConfigureMapper = m =>
                {
                    m.SsdpMulticast = false;
                    m.HttpTimeout = TimeSpan.FromSeconds(30);
                },
            })
            .Build();
        var service = node.GetService<NodePortMappingService>()!;
        var failed = new TaskCompletionSource<NodePortMappingState>(TaskCreationOptions.RunContinuationsAsynchronously);
        service.Changed += (_, e) =>
        {
            if (e.State.Phase == NodePortMappingPhase.Failed)
            {
                failed.TrySetResult(e.State);
            }
        };
        await dbl.Host.Namespace.RunInside(() => node.StartAsync(guard.Token));
        await using (node)
        {
            var state = await failed.Task.WaitAsync(guard.Token);
            output.WriteLine(state.ToString());
            Assert.Contains("no public address", state.LastError, StringComparison.Ordinal);
            Assert.Equal(1, state.Failures);
            Assert.Equal(NodeState.Running, node.State);
            Assert.DoesNotContain(node.GetDialableAddresses(), a => a.ToString().Contains(dbl.PublicAddress.ToString(), StringComparison.Ordinal));
            var status = node.GetStatus().Services["portmapping"]!["mappings"]![0]!;
            Assert.Equal("failed", status["state"]!.GetValue<string>());
        }
    }

    [PortMappingLabFact]
    public async Task A_lost_mapping_is_withdrawn_counted_and_made_again_when_the_gateway_is_back()
    {
        await using NatLab lab = await NatLab.CreateAsync(new NatLabOptions().Add("home", NatType.Easy, portMapping: true));
        LabSite home = lab["home"];
        using var guard = new CancellationTokenSource(HangGuard);
        using var identity = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        using var meters = new TestMeterFactory();
        using var collector = new Microsoft.Extensions.Diagnostics.Metrics.Testing.MetricCollector<long>(meters, NodePortMappingService.MeterName, "pinhole.port_mapping.failures");
        var options = TestNodes.Options(identity);
        options.MeterFactory = meters;
        options.ListenAddresses.Clear();
        options.ListenAddresses.Add(Multiaddr.Parse("/ip4/0.0.0.0/tcp/0"));
        options.EnableUdp = false;
        // Renewal (half of 10 min) and the retry delay (5 min) wait for the test; NAT-PMP's retransmissions run on real time.
        var timers = new HeldTimers();
        var node = PinholeNode.CreateBuilder(options)
            .UsePortMapping(new NodePortMappingOptions
            {
                Gateway = home.Gateway,
                LocalAddress = home.Host.Address,
                Protocols = PortMappingProtocols.NatPmp,
                Lifetime = TimeSpan.FromMinutes(10),
                RetryDelay = TimeSpan.FromMinutes(5),
                TimeProvider = timers,
                SocketFactory = (family, type, protocol) => home.Host.Namespace.CreateSocket(family, type, protocol),
            })
            .Build();
        var service = node.GetService<NodePortMappingService>()!;
        var mapped = WhenAllMapped(service, 1);
        await home.Host.Namespace.RunInside(() => node.StartAsync(guard.Token));
        await using (node)
        {
            var first = Assert.Single(await mapped.WaitAsync(guard.Token));
            Assert.Single(service.GetAddresses());
            Assert.Equal(1, timers.PendingHeld); // the renewal at half-life
            Assert.Equal(TimeSpan.FromMinutes(5), timers.LastHeldDelay);

            // The router's miniupnpd dies: the renewal goes unanswered, the mapping is lost, asking again at once fails too.
            await home.PortMapper!.DisposeAsync();
            timers.FireHeld();
            await TestNodes.UntilAsync(() => service.Mappings[0] is { Phase: NodePortMappingPhase.Failed, Failures: 2 } && timers.PendingHeld == 1, "lost, retried at once, failed, waiting");
            var failed = service.Mappings[0];
            output.WriteLine(failed.ToString());
            Assert.Contains($"the gateway {home.Gateway} answered none of NatPmp", failed.LastError, StringComparison.Ordinal);
            Assert.Empty(service.GetAddresses());
            Assert.Equal(NodeState.Running, node.State);
            Assert.Equal(["lost", "no_answer"], collector.GetMeasurementSnapshot().Select(m => (string)m.Tags["reason"]!));
            var status = node.GetStatus().Services["portmapping"]!["mappings"]![0]!;
            Assert.Equal("failed", status["state"]!.GetValue<string>());
            Assert.Equal(2, status["failures"]!.GetValue<int>());

            // The router is back; the retry delay passes and the port is mapped and advertised again.
            await home.RestartPortMapperAsync();
            var again = WhenAllMapped(service, 1);
            timers.FireHeld();
            var back = Assert.Single(await again.WaitAsync(guard.Token));
            Assert.Equal(first.Mapping!.External, back.Mapping!.External);
            Assert.Equal(2, back.Failures);
            Assert.Single(service.GetAddresses());
            Assert.Contains($"dnat ip to {home.Host.Address}:{first.InternalPort}", await home.PortMappingRulesAsync(), StringComparison.Ordinal);

            // Lost again before it had held RetryDelay: the immediate re-map was spent, so this loss waits, doubled.
            await home.PortMapper!.DisposeAsync();
            timers.FireHeld();
            await TestNodes.UntilAsync(() => service.Mappings[0] is { Phase: NodePortMappingPhase.Failed, Failures: 3 } && timers.PendingHeld == 1, "lost again, waiting");
            Assert.Equal(TimeSpan.FromMinutes(10), timers.LastHeldDelay);
            Assert.Equal(["lost", "no_answer", "lost"], collector.GetMeasurementSnapshot().Select(m => (string)m.Tags["reason"]!));
            Assert.Empty(service.GetAddresses());
        }
    }

    private static Task<IReadOnlyList<NodePortMappingState>> WhenAllMapped(NodePortMappingService service, int count)
    {
        var done = new TaskCompletionSource<IReadOnlyList<NodePortMappingState>>(TaskCreationOptions.RunContinuationsAsynchronously);
        service.Changed += (_, _) =>
        {
            var states = service.Mappings;
            if (states.Count(s => s.Phase == NodePortMappingPhase.Mapped) >= count)
            {
                done.TrySetResult(states);
            }
            else if (states.FirstOrDefault(s => s.Phase == NodePortMappingPhase.Failed) is { } failed)
            {
                done.TrySetException(new InvalidOperationException($"Mapping failed: {failed}"));
            }
        };
        return done.Task;
    }

    private static async Task<PeerConnection> ConnectFromInternetAsync(NatLab lab, NodeIdentity identity, PeerId node, IPEndPoint at, CancellationToken cancellationToken)
    {
        var socket = lab.Server.CreateTcpSocket();
        try
        {
            await socket.ConnectAsync(at, cancellationToken);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        var info = new PeerUpgradeOptions
        {
            LocalAddress = Multiaddr.FromIPEndPoint((IPEndPoint)socket.LocalEndPoint!),
            RemoteAddress = Multiaddr.FromIPEndPoint((IPEndPoint)socket.RemoteEndPoint!),
        };
        return await PeerConnection.UpgradeOutboundAsync(new NetworkStream(socket, ownsSocket: true), node, new PeerConnectionOptions { Identity = identity, HandshakeTimeout = TimeSpan.FromSeconds(60) }, info, cancellationToken);
    }
}
