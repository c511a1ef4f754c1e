using System.Net;
using System.Net.Sockets;
using Pinhole.Membership;
using Pinhole.Vpn.Routing;

namespace Pinhole.Vpn.Hosting;

/// <summary>
/// Coordinator mode: a verified <see cref="NetworkView"/> as the interface's addresses and peers. Every valid
/// member but this node becomes a peer owning its virtual addresses (/32 and /128: cryptokey routing accepts
/// from it nothing else); its endpoint is the first VPN data-plane endpoint (field 7, <see cref="EndpointRecord.Tunnel"/>)
/// of its signed endpoint record, which the member's node publishes for its <see cref="VpnNodeService"/> — never one of
/// the peer record's UDP addresses, which are the node's DTLS socket. Members without one are still peers: they are
/// reached once they send first (the endpoint follows authenticated records).
/// Pure functions: the view was checked by the membership layer.
/// </summary>
public static class MembershipPeers
{
    /// <summary>
    /// This node's interface addresses: its virtual IPv4/IPv6 address with the length of the network's prefix
    /// from the genesis (so the connected route covers every member); empty if it is not a member.
    /// </summary>
    public static IReadOnlyList<InterfaceAddress> AddressesOf(NetworkView view, GenesisRecord genesis, PeerId self)
    {
        ArgumentNullException.ThrowIfNull(view);
        ArgumentNullException.ThrowIfNull(genesis);
        ArgumentNullException.ThrowIfNull(self);
        if (!view.Members.TryGetValue(self, out NetworkMember? me))
        {
            return [];
        }
        var addresses = new List<InterfaceAddress>(2);
        if (me.Ipv4 is { } v4)
        {
            addresses.Add(new InterfaceAddress(v4, genesis.Ipv4Prefix?.PrefixLength ?? 32));
        }
        if (me.Ipv6 is { } v6)
        {
            addresses.Add(new InterfaceAddress(v6, genesis.Ipv6Prefix?.PrefixLength ?? 128));
        }
        return addresses;
    }

    /// <summary>The peers of <paramref name="self"/> in <paramref name="view"/>, ordered by PeerId.</summary>
    public static List<VpnPeerOptions> PeersOf(NetworkView view, PeerId self, TimeSpan persistentKeepalive = default)
    {
        ArgumentNullException.ThrowIfNull(view);
        ArgumentNullException.ThrowIfNull(self);
        var peers = new List<VpnPeerOptions>();
        foreach (NetworkMember member in view.Members.Values.OrderBy(m => m.Peer.ToString(), StringComparer.Ordinal))
        {
            if (member.Peer.Equals(self) || (member.Ipv4 is null && member.Ipv6 is null))
            {
                continue;
            }
            var peer = new VpnPeerOptions { PeerId = member.Peer, Endpoint = EndpointOf(member), PersistentKeepalive = persistentKeepalive };
            if (member.Ipv4 is { } v4)
            {
                peer.AllowedPrefixes.Add(IpPrefix.Create(v4, 32));
            }
            if (member.Ipv6 is { } v6)
            {
                peer.AllowedPrefixes.Add(IpPrefix.Create(v6, 128));
            }
            peers.Add(peer);
        }
        return peers;
    }

    /// <summary>The first VPN data-plane endpoint a member announced (field 7 of its endpoint record), or null.</summary>
    public static IPEndPoint? EndpointOf(NetworkMember member)
    {
        ArgumentNullException.ThrowIfNull(member);
        foreach (Multiaddr address in member.Endpoint?.Tunnel ?? [])
        {
            // The record's parser admits only /ip4|ip6/A/udp/P with a port and a specified, unicast, non-link-local
            // address. Loopback is valid in a record but never another machine's endpoint: a member announcing
            // 127.0.0.53:53 would have every other member send its handshakes to a service of its own.
            if (address.TryGetIPEndPoint(out IPEndPoint? endpoint, out string? transport) && transport == "udp" && !IPAddress.IsLoopback(endpoint.Address))
            {
                return endpoint;
            }
        }
        return null;
    }

    /// <summary>The multiaddrs announcing a data-plane socket bound to <paramref name="port"/> on <paramref name="addresses"/>.</summary>
    public static List<Multiaddr> Announce(IEnumerable<IPAddress> addresses, int port)
    {
        ArgumentNullException.ThrowIfNull(addresses);
        return [.. addresses.Where(a => a.AddressFamily is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6)
            .Select(a => Multiaddr.FromIPEndPoint(new IPEndPoint(a, port), "udp"))];
    }
}
