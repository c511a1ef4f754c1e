using System.Net;
using Microsoft.Extensions.Logging;
using Pinhole.Vpn.Routing;

namespace Pinhole.Vpn;

/// <summary>Settings of a VPN interface, checked by <see cref="VpnInterface.StartAsync"/> before anything starts.</summary>
public sealed class VpnInterfaceOptions
{
    /// <summary>This node's identity (its PeerId is what peers list). Required.</summary>
    public NodeIdentity? Identity { get; set; }

    /// <summary>TUN interface name (at most 15 bytes). Default "pinhole0".</summary>
    public string InterfaceName { get; set; } = "pinhole0";

    /// <summary>Addresses of the interface with their prefix length, e.g. 10.7.0.1/24 and fd07::1/64.</summary>
    public IList<InterfaceAddress> Addresses { get; } = [];

    /// <summary>UDP address to listen on. Default: all addresses, both families.</summary>
    public IPAddress ListenAddress { get; set; } = IPAddress.IPv6Any;

    /// <summary>UDP port; 0 (the default) picks a free one.</summary>
    public int ListenPort { get; set; }

    /// <summary>
    /// TUN MTU. Default: 1500 − <see cref="VpnInterface.Overhead"/>(IPv6) = 1423, the largest inner packet
    /// that fits a 1500-byte path over IPv6; never below 1280 (the IPv6 minimum).
    /// </summary>
    public int? Mtu { get; set; }

    /// <summary>The peers.</summary>
    public IList<VpnPeerOptions> Peers { get; } = [];

    /// <summary>Offloads to try (each is probed; a refused one stays off). Default: all.</summary>
    public VpnOffloads Offloads { get; set; } = VpnOffloads.All;

    /// <summary>
    /// Firewall mark on the data plane's UDP socket. When a peer's prefixes include a default route (a full
    /// tunnel), routes go into <see cref="RouteTable"/> with the rules "not fwmark MARK → table" and "main,
    /// suppress prefix length 0" (as wg-quick), so the tunnel's own packets never loop into it.
    /// Default 51820 when a full tunnel is configured, else none.
    /// </summary>
    public uint? FirewallMark { get; set; }

    /// <summary>Routing table for a full tunnel. Default 51820.</summary>
    public uint RouteTable { get; set; } = 51820;

    /// <summary>Set addresses, MTU, state and routes of the interface (default). Off: the caller does.</summary>
    public bool ConfigureInterface { get; set; } = true;

    /// <summary>Clock for every timer (keepalives, rekeying, handshakes, probes).</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Logging.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>Timer settings other than WireGuard's (tests that must not see pings, probes or passive keepalives).</summary>
    internal VpnTimings? Timings { get; set; }

    /// <summary>Checks every setting; throws <see cref="ArgumentException"/> naming the first problem. <see cref="VpnInterface.StartAsync(VpnInterfaceOptions, CancellationToken)"/> calls it.</summary>
    public void Validate()
    {
        if (Identity is null)
        {
            throw new ArgumentException("VpnInterfaceOptions.Identity is required.", nameof(Identity));
        }
        if (string.IsNullOrWhiteSpace(InterfaceName) || System.Text.Encoding.UTF8.GetByteCount(InterfaceName) > 15 || InterfaceName.Contains('/') || InterfaceName.Any(char.IsWhiteSpace))
        {
            throw new ArgumentException($"'{InterfaceName}' is not a valid interface name (1..15 bytes, no '/' or spaces).", nameof(InterfaceName));
        }
        if (ListenPort is < 0 or > 65535)
        {
            throw new ArgumentOutOfRangeException(nameof(ListenPort), $"A UDP port is 0..65535, not {ListenPort}.");
        }
        if (Mtu is { } mtu && (mtu < VpnInterface.MinimumMtu || mtu > 65535 - VpnInterface.Overhead(ipv6: true)))
        {
            throw new ArgumentOutOfRangeException(nameof(Mtu), $"The MTU must be {VpnInterface.MinimumMtu}..{65535 - VpnInterface.Overhead(ipv6: true)}, not {mtu}.");
        }
        var seen = new HashSet<PeerId>();
        var owners = new PrefixTable<VpnPeerOptions>.Builder();
        foreach (VpnPeerOptions peer in Peers)
        {
            if (peer.PeerId is null)
            {
                throw new ArgumentException($"Peer '{peer.Name}' has no PeerId.", nameof(Peers));
            }
            if (peer.PeerId.Equals(Identity.PeerId))
            {
                throw new ArgumentException($"Peer {peer.PeerId} is this node itself.", nameof(Peers));
            }
            if (!seen.Add(peer.PeerId))
            {
                throw new ArgumentException($"Peer {peer.PeerId} is listed twice.", nameof(Peers));
            }
            if (peer.PersistentKeepalive < TimeSpan.Zero || peer.PersistentKeepalive > TimeSpan.FromSeconds(65535))
            {
                throw new ArgumentOutOfRangeException(nameof(Peers), $"Peer {peer.PeerId}: persistent keepalive must be 0..65535 s.");
            }
            if (peer.Endpoint is { Port: 0 })
            {
                throw new ArgumentException($"Peer {peer.PeerId}: endpoint {peer.Endpoint} has no port.", nameof(Peers));
            }
            foreach (IpPrefix prefix in peer.AllowedPrefixes)
            {
                if (!owners.TryAdd(prefix, peer))
                {
                    throw new ArgumentException($"Prefix {prefix} is allowed for both {owners.Owner(prefix)!.PeerId} and {peer.PeerId}; a prefix belongs to one peer.", nameof(Peers));
                }
            }
        }
    }

    /// <summary>True if any peer carries a default route.</summary>
    internal bool IsFullTunnel => Peers.Any(p => p.AllowedPrefixes.Any(a => a.Length == 0));
}
