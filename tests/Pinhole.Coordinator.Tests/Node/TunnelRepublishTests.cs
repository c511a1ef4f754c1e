using Pinhole.Coordinator.Tests.Server;
using Pinhole.Membership;
using Pinhole.Node;
using Pinhole.Testing;

namespace Pinhole.Coordinator.Tests.NodeSide;

/// <summary>
/// The VPN data plane's endpoints reach the other members in field 7 of the endpoint record that the node's membership
/// service (its one writer) publishes: for the VPN's own network only, and beside the dialable addresses, which stay.
/// Waits are on state, bounded only as a hang guard.
/// </summary>
public sealed class TunnelRepublishTests : IDisposable
{
    private readonly List<string> _homes = [];

    public void Dispose()
    {
        foreach (var home in _homes)
        {
            Directory.Delete(home, recursive: true);
        }
    }

    private string NewHome()
    {
        var home = Directory.CreateTempSubdirectory("ph-tr-").FullName;
        _homes.Add(home);
        return home;
    }

    private static PinholeNodeOptions NodeOptions(NodeIdentity identity, string home) => new()
    {
        Identity = identity,
        Home = home,
        ListenAddresses = [Multiaddr.Parse("/ip4/127.0.0.1/tcp/0")],
        EnableUdp = false,
        Transport = { HandshakeTimeout = Wait.Guard },
    };

    private static Task UntilAsync(Func<bool> condition, string what) => Eventually.TrueAsync(condition, what, Wait.Guard);

    /// <summary>Stands in for the VPN service: a data plane on one network that starts (and stops) when the test says so.</summary>
    private sealed class FakeTunnel(NetworkId network) : INodeService, INodeTunnelSource
    {
        private volatile Multiaddr[] _addresses = [];

        public string Name => "fake-vpn";

        public event EventHandler? TunnelAddressesChanged;

        public Task StartAsync(PinholeNode node, CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public IReadOnlyList<Multiaddr> GetTunnelAddresses(NetworkId asked)
        {
            return asked.Equals(network) ? _addresses : [];
        }

        public void Set(params Multiaddr[] addresses)
        {
            _addresses = addresses;
            TunnelAddressesChanged?.Invoke(this, EventArgs.Empty);
        }
    }

    [Fact]
    public async Task TheDataPlanesEndpointsReachTheMembersOfItsNetworkInField7()
    {
        await using var coordinator = await TestCoordinator.StartAsync();
        using var vpnNet = new TestNetwork();
        using var otherNet = new TestNetwork();
        await coordinator.AddNetworkAsync(vpnNet);
        await coordinator.AddNetworkAsync(otherNet);
        using var aliceKey = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        using var bobKey = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var tunnel = new FakeTunnel(vpnNet.Id);
        // As in the daemon: the networks first, then the VPN service, which starts after them.
        await using var bob = PinholeNode.CreateBuilder(NodeOptions(bobKey, NewHome()))
            .AddNetwork(new NetworkMembershipOptions { Invite = coordinator.Invite(vpnNet), OperationTimeout = Wait.Guard })
            .AddNetwork(new NetworkMembershipOptions { Invite = coordinator.Invite(otherNet), OperationTimeout = Wait.Guard })
            .AddService(tunnel).Build();
        await using var alice = PinholeNode.CreateBuilder(NodeOptions(aliceKey, NewHome()))
            .AddNetwork(new NetworkMembershipOptions { Invite = coordinator.Invite(vpnNet), OperationTimeout = Wait.Guard })
            .AddNetwork(new NetworkMembershipOptions { Invite = coordinator.Invite(otherNet), OperationTimeout = Wait.Guard }).Build();
        await bob.StartAsync();
        await alice.StartAsync();
        EndpointRecord? BobIn(NetworkId network) =>
            alice.GetNetwork(network)!.Client!.View.Members.TryGetValue(bobKey.PeerId, out var m) ? m.Endpoint : null;
        await UntilAsync(() => BobIn(vpnNet.Id) is not null && BobIn(otherNet.Id) is not null, "alice has bob's first endpoint records");
        Assert.Empty(BobIn(vpnNet.Id)!.Tunnel);
        var dialable = BobIn(vpnNet.Id)!.Addresses;

        // The data plane starts: the membership service signs a new record with field 7.
        Multiaddr[] endpoints = [Multiaddr.Parse("/ip4/127.0.0.1/udp/51820"), Multiaddr.Parse("/ip6/::1/udp/51820")];
        tunnel.Set(endpoints);
        await UntilAsync(() => BobIn(vpnNet.Id)!.Tunnel.Count == 2, "bob's tunnel endpoints reached alice");
        Assert.Equal(endpoints, BobIn(vpnNet.Id)!.Tunnel);
        Assert.Equal(dialable, BobIn(vpnNet.Id)!.Addresses); // the node's own addresses are kept, not overwritten
        // The other network's record has none: the data plane serves one network.
        Assert.Empty(BobIn(otherNet.Id)!.Tunnel);

        // It stops: the endpoints leave the record again.
        tunnel.Set();
        await UntilAsync(() => BobIn(vpnNet.Id)!.Tunnel.Count == 0, "the stopped data plane left bob's record");
        Assert.Equal(dialable, BobIn(vpnNet.Id)!.Addresses);
    }
}
