using Pinhole.Membership;

namespace Pinhole.Node;

/// <summary>
/// A hosted service with a VPN data plane of its own (Pinhole.Vpn's <c>VpnNodeService</c>): the node's
/// <see cref="NetworkMembershipService"/> announces its UDP endpoints in field 7 of the signed endpoint record
/// (<see cref="EndpointRecord.Tunnel"/>), so that the membership service stays the record's one writer.
/// </summary>
public interface INodeTunnelSource
{
    /// <summary>
    /// The data plane's UDP endpoints for <paramref name="network"/> now, each <c>/ip4|ip6/A/udp/P</c> (at most
    /// <see cref="EndpointRecord.MaxTunnelAddresses"/>), or empty when it serves no VPN on that network. Called on
    /// each publish: keep it cheap, never block.
    /// </summary>
    IReadOnlyList<Multiaddr> GetTunnelAddresses(NetworkId network);

    /// <summary>Raised when <see cref="GetTunnelAddresses"/> may return something else (the data plane started or stopped); handlers must not block.</summary>
    event EventHandler? TunnelAddressesChanged;
}
