namespace Pinhole.Node;

/// <summary>
/// A hosted service that adds addresses peers can reach this node at (a relay's <c>/p2p-circuit</c> address, a port
/// mapping's public address): <see cref="PinholeNode.GetDialableAddresses"/> appends them, so identify advertises them.
/// </summary>
public interface INodeAddressSource
{
    /// <summary>The extra addresses now, each ending in <c>/p2p/&lt;this node&gt;</c>. Called often: keep it cheap, never block.</summary>
    IReadOnlyList<Multiaddr> GetAddresses();
}
