using System.Net;
using Pinhole.Membership;
using Pinhole.Vpn.Hosting;

namespace Pinhole.Vpn.Tests;

/// <summary>Coordinator mode: verified memberships as the interface's addresses and peers.</summary>
public sealed class MembershipPeersTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2030, 1, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly NodeIdentity _admin = NodeIdentity.Generate();
    private readonly NodeIdentity _a = NodeIdentity.Generate();
    private readonly NodeIdentity _b = NodeIdentity.Generate();
    private readonly NodeIdentity _c = NodeIdentity.Generate();
    private readonly NodeIdentity _d = NodeIdentity.Generate();
    private readonly GenesisRecord _genesis;
    private readonly NetworkState _state;

    public MembershipPeersTests()
    {
        _genesis = GenesisRecord.Create("vpn-net", new AdminSet([_admin.PublicKey], 1, []), IPNetwork.Parse("10.77.0.0/16"), IPNetwork.Parse("fd77::/48"), T0, [_admin]);
        _state = new NetworkState(_genesis);
        Apply(Member(_a, 1));
        Apply(Member(_b, 2));
        Apply(Member(_c, 3, lifetime: TimeSpan.FromHours(1)));
        Apply(Member(_d, 4));
        // B's peer record lists its DTLS socket (what the node's membership service publishes: the dialable addresses,
        // UDP with /p2p) before anything else; field 7 names the VPN's port. The VPN must take field 7.
        Apply(EndpointRecord.Create(_b, _genesis.Network,
            [Multiaddr.Parse($"/ip4/198.51.100.2/udp/4001/p2p/{_b.PeerId}"), Multiaddr.Parse("/ip4/198.51.100.2/udp/4002"), Multiaddr.Parse($"/ip4/198.51.100.2/tcp/4001/p2p/{_b.PeerId}")],
            1, EndpointNatType.EndpointIndependent, default, T0, [Multiaddr.Parse("/ip4/127.0.0.53/udp/53"), Multiaddr.Parse("/ip4/198.51.100.2/udp/51820"), Multiaddr.Parse("/ip6/2001:db8::2/udp/51820")]));
        // D runs no VPN data plane (or an older node): direct UDP addresses, no field 7.
        Apply(EndpointRecord.Create(_d, _genesis.Network, [Multiaddr.Parse("/ip4/198.51.100.4/udp/4001"), Multiaddr.Parse($"/ip4/198.51.100.4/udp/4001/p2p/{_d.PeerId}")],
            1, EndpointNatType.EndpointIndependent, default, T0));
        Apply(EndpointRecord.Create(_c, _genesis.Network, [Multiaddr.Parse($"/ip4/198.51.100.3/udp/4001/p2p/{_admin.PeerId}/p2p-circuit/p2p/{_c.PeerId}")], 1, EndpointNatType.EndpointIndependent, default, T0));
    }

    private MembershipRecord Member(NodeIdentity node, int host, TimeSpan? lifetime = null) =>
        MembershipRecord.Issue(_admin, _genesis.Network, node.PeerId, new IPAddress([10, 77, 0, (byte)host]), IPAddress.Parse($"fd77::{host}"), ["all"], T0, T0 + (lifetime ?? TimeSpan.FromDays(30)), T0);

    private void Apply(NetworkRecord record)
    {
        ApplyResult result = _state.Apply(record, T0 + TimeSpan.FromMinutes(1));
        Assert.True(result.Changed, $"{record}: {result}");
    }

    [Fact]
    public void Addresses_TakeTheNetworksPrefixLength()
    {
        NetworkView view = _state.GetView(T0 + TimeSpan.FromMinutes(1));
        Assert.Equal(["10.77.0.1/16", "fd77::1/48"], MembershipPeers.AddressesOf(view, _genesis, _a.PeerId).Select(a => a.ToString()));
        Assert.Empty(MembershipPeers.AddressesOf(view, _genesis, _admin.PeerId));
    }

    [Fact]
    public void Peers_AreTheOtherMembers_WithHostPrefixesAndTheirTunnelEndpoints()
    {
        NetworkView view = _state.GetView(T0 + TimeSpan.FromMinutes(1));
        var peers = MembershipPeers.PeersOf(view, _a.PeerId, TimeSpan.FromSeconds(25));
        Assert.Equal(new[] { _b.PeerId, _c.PeerId, _d.PeerId }.OrderBy(p => p.ToString(), StringComparer.Ordinal), peers.Select(p => p.PeerId));
        VpnPeerOptions b = peers.Single(p => p.PeerId!.Equals(_b.PeerId));
        Assert.Equal(["10.77.0.2/32", "fd77::2/128"], b.AllowedPrefixes.Select(p => p.ToString()));
        // Field 7's first that is another machine's (never loopback: that would aim us at a service of our own), not the
        // DTLS /udp/4001 nor /udp/4002.
        Assert.Equal(IPEndPoint.Parse("198.51.100.2:51820"), b.Endpoint);
        Assert.Equal(TimeSpan.FromSeconds(25), b.PersistentKeepalive);
        Assert.Null(peers.Single(p => p.PeerId!.Equals(_c.PeerId)).Endpoint); // no field 7: relayed addresses are not data-plane endpoints
        Assert.Null(peers.Single(p => p.PeerId!.Equals(_d.PeerId)).Endpoint); // no field 7: direct UDP addresses are the DTLS socket, not the VPN's

        // The peer set validates as interface options (no prefix claimed twice).
        var options = new VpnInterfaceOptions { Identity = _a };
        foreach (var p in peers)
        {
            options.Peers.Add(p);
        }
        options.Validate();
    }

    [Fact]
    public void ExpiredAndRevokedMembers_Disappear()
    {
        NetworkView later = _state.GetView(T0 + TimeSpan.FromHours(2));
        Assert.Equal(new[] { _b.PeerId, _d.PeerId }.OrderBy(p => p.ToString(), StringComparer.Ordinal), MembershipPeers.PeersOf(later, _a.PeerId).Select(p => p.PeerId));
        Apply(RevocationRecord.Issue(_admin, _genesis.Network, _b.PeerId, T0 + TimeSpan.FromMinutes(2), T0 + TimeSpan.FromMinutes(2), "test"));
        Assert.Equal([_d.PeerId], MembershipPeers.PeersOf(_state.GetView(T0 + TimeSpan.FromHours(2)), _a.PeerId).Select(p => p.PeerId));
    }

    [Fact]
    public void Announce_WritesUdpMultiaddrs()
    {
        Assert.Equal(["/ip4/10.0.0.1/udp/51820", "/ip6/fd00::1/udp/51820"],
            MembershipPeers.Announce([IPAddress.Parse("10.0.0.1"), IPAddress.Parse("fd00::1")], 51820).Select(m => m.ToString()));
    }

    public void Dispose()
    {
        _admin.Dispose();
        _a.Dispose();
        _b.Dispose();
        _c.Dispose();
        _d.Dispose();
    }
}
