using System.Net;
using Pinhole.Vpn.Routing;

namespace Pinhole.Vpn;

/// <summary>One peer of a VPN interface: who it is (PeerId), which addresses it may use, where to find it.</summary>
public sealed class VpnPeerOptions
{
    /// <summary>The peer's identity; its DTLS handshake must prove this key. Required.</summary>
    public PeerId? PeerId { get; set; }

    /// <summary>A name for status output (optional).</summary>
    public string? Name { get; set; }

    /// <summary>
    /// The prefixes routed to this peer, and the only source addresses accepted from it (cryptokey routing).
    /// Typically its virtual address as a host prefix, plus networks behind it; 0.0.0.0/0 makes a full tunnel.
    /// </summary>
    public IList<IpPrefix> AllowedPrefixes { get; } = [];

    /// <summary>
    /// Where to send the first handshake. Optional: a peer without an endpoint is reached once it has sent an
    /// authenticated handshake or record from wherever it is (and is followed when it roams).
    /// </summary>
    public IPEndPoint? Endpoint { get; set; }

    /// <summary>
    /// Send a keepalive when nothing was sent for this long, to keep NAT and firewall state alive (below the
    /// NAT's UDP timeout; 25 s is WireGuard's advice). <see cref="TimeSpan.Zero"/> (the default) is off.
    /// </summary>
    public TimeSpan PersistentKeepalive { get; set; }
}
