using System.Net;
using System.Text.Json.Serialization;
using Pinhole.Vpn.Routing;

namespace Pinhole.Vpn;

/// <summary>A snapshot of a VPN interface, like <c>wg show</c>.</summary>
public sealed record VpnStatus
{
    /// <summary>Interface name.</summary>
    public required string InterfaceName { get; init; }

    /// <summary>This node's PeerId.</summary>
    public required PeerId LocalPeer { get; init; }

    /// <summary>UDP address the data plane listens on.</summary>
    public required IPEndPoint ListenEndPoint { get; init; }

    /// <summary>TUN MTU.</summary>
    public required int Mtu { get; init; }

    /// <summary>Interface addresses.</summary>
    public required IReadOnlyList<InterfaceAddress> Addresses { get; init; }

    /// <summary>Offloads in use after probing.</summary>
    public required VpnOffloads Offloads { get; init; }

    /// <summary>Every peer.</summary>
    public required IReadOnlyList<VpnPeerStatus> Peers { get; init; }

    /// <summary>Datagrams queued to relay streams (<c>/pinhole/vpn-relay/1.0.0</c>), all peers together.</summary>
    public long RelaySent { get; init; }

    /// <summary>Datagrams received from relay streams.</summary>
    public long RelayReceived { get; init; }

    /// <summary>Datagrams dropped because a relay stream's send queue was full (the data path never waits on TCP).</summary>
    public long RelayDropped { get; init; }
}

/// <summary>One peer in a <see cref="VpnStatus"/>.</summary>
public sealed record VpnPeerStatus
{
    /// <summary>The peer's PeerId.</summary>
    public required PeerId PeerId { get; init; }

    /// <summary>Its name, if configured.</summary>
    public string? Name { get; init; }

    /// <summary>Where its records go now (null until known).</summary>
    public IPEndPoint? Endpoint { get; init; }

    /// <summary>
    /// The path: "direct" (UDP to <see cref="Endpoint"/>), "relayed" (over the node's <c>/pinhole/vpn-relay/1.0.0</c>
    /// stream; <see cref="Endpoint"/> is then the direct address being probed), or "none" before any.
    /// </summary>
    public required string Path { get; init; }

    /// <summary>True when a relay stream to the peer is attached (the fallback is available).</summary>
    public bool HasRelay { get; init; }

    /// <summary>Times the path moved between direct and relayed.</summary>
    public long PathChanges { get; init; }

    /// <summary>Prefixes routed to it.</summary>
    public required IReadOnlyList<IpPrefix> AllowedPrefixes { get; init; }

    /// <summary>Time of the last completed handshake, or null.</summary>
    public DateTimeOffset? LastHandshake { get; init; }

    /// <summary>Completed handshakes since start.</summary>
    public int Handshakes { get; init; }

    /// <summary>Bytes and packets received (authenticated records, plaintext bytes).</summary>
    public long RxBytes { get; init; }

    /// <summary>Bytes sent (plaintext).</summary>
    public long TxBytes { get; init; }

    /// <summary>Packets received.</summary>
    public long RxPackets { get; init; }

    /// <summary>Packets sent.</summary>
    public long TxPackets { get; init; }

    /// <summary>Round-trip time of the last ping answered, or null (JSON: <c>rttMs</c>).</summary>
    [JsonPropertyName("rttMs")]
    [JsonConverter(typeof(NullableMillisecondsConverter))]
    public TimeSpan? Rtt { get; init; }

    /// <summary>Largest outer packet known to pass (probed), or null before a probe answered.</summary>
    public int? PathMtu { get; init; }

    /// <summary>Persistent keepalive interval (zero = off; JSON: <c>persistentKeepaliveMs</c>).</summary>
    [JsonPropertyName("persistentKeepaliveMs")]
    [JsonConverter(typeof(MillisecondsConverter))]
    public TimeSpan PersistentKeepalive { get; init; }

    /// <summary>Packets dropped: no key yet (queue full), a source address the peer does not own, send failures.</summary>
    public long Dropped { get; init; }

    /// <summary>Why the last handshake attempt failed, if it did.</summary>
    public string? LastError { get; init; }
}
