namespace Pinhole.Node;

/// <summary>
/// A hosted service that adds addresses peers can reach this node at (a relay's <c>/p2p-circuit</c> address, a port
/// mapping's public address): <see cref="PinholeNode.GetDialableAddresses"/> appends them, so identify advertises them.
/// </summary>
public interface INodeAddressSource
{
    /// <summary>The extra addresses now, each ending in <c>/p2p/&lt;this node&gt;</c>. Called often: keep it cheap, never block.</summary>
    IReadOnlyList<Multiaddr> GetAddresses();

    /// <summary>
    /// Raised when <see cref="GetAddresses"/> may return something else (a port mapped or lost, a relay reservation
    /// made or lost), so the node's signed endpoint records are republished. A source that never changes need not
    /// implement it. Raised on any thread; handlers must not block.
    /// </summary>
    event EventHandler? AddressesChanged
    {
        add { }
        remove { }
    }
}
