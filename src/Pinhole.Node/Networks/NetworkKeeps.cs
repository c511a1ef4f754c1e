using Pinhole.Membership;

namespace Pinhole.Node;

/// <summary>
/// Which followed networks keep each member connected, shared by every network of one node, so that one network
/// letting a peer go (revocation, expiry, leave) never un-keeps or disconnects a peer another network still has as a
/// member, or one that was kept connected before any network followed it (the user's <c>KeepConnected</c>).
/// <see cref="NodeConnections"/> keeps one flag per peer; this is the count of reasons above it.
/// </summary>
internal sealed class NetworkKeeps
{
    private readonly Lock _lock = new();
    private readonly Dictionary<PeerId, HashSet<NetworkId>> _holders = [];
    // Kept connected when the first network took it: not ours to un-keep.
    private readonly HashSet<PeerId> _keptBefore = [];
    private readonly Func<IReadOnlyList<NetworkMembershipService>> _networks;

    /// <param name="networks">Every network the node follows now (to ask whether another has a peer as a member).</param>
    public NetworkKeeps(Func<IReadOnlyList<NetworkMembershipService>> networks) => _networks = networks;

    /// <summary>
    /// Stores <paramref name="addresses"/> for <paramref name="peer"/> (source coordinator) and keeps it connected for
    /// <paramref name="network"/>. A peer the store already keeps connected, with no address from a coordinator, was
    /// pinned by someone else (the user): releasing it later leaves it kept. (After a restart a peer a network kept
    /// has coordinator addresses, so it is not mistaken for a pin; a user's pin of a peer that is also a member is
    /// then indistinguishable from the network's and is released with it.)
    /// </summary>
    /// <exception cref="PeerException">The peer is not in the peer store.</exception>
    public void Keep(PinholeNode node, NetworkId network, PeerId peer, IEnumerable<Multiaddr> addresses, bool keep)
    {
        lock (_lock)
        {
            if (!_holders.TryGetValue(peer, out var holders))
            {
                if (keep && node.Peers.Get(peer) is { KeepConnected: true } known && !known.Addresses.Any(a => a.Source == AddressSource.Coordinator))
                {
                    _keptBefore.Add(peer);
                }
                holders = [];
            }
            foreach (var address in addresses)
            {
                node.Peers.AddAddress(peer, address, AddressSource.Coordinator);
            }
            if (!keep)
            {
                return;
            }
            // Flag first, then the count: a concurrent release never sees a holder whose flag is not set yet.
            node.Connections.KeepConnected(peer, true);
            holders.Add(network);
            _holders[peer] = holders;
        }
    }

    /// <summary>
    /// <paramref name="network"/> lets <paramref name="peer"/> go (it was revoked, expired, or the network is left).
    /// It stops being kept connected only if no other network keeps it and nobody pinned it before; a peer this
    /// network did not take (<paramref name="held"/> false) is un-kept only if a network of an earlier run kept it
    /// (kept, with coordinator addresses). True if the node still wants the peer connected: another network keeps it
    /// or has it as a valid member, or it was pinned, so the caller must not disconnect it.
    /// </summary>
    public bool Release(PinholeNode node, NetworkId network, PeerId peer, bool held)
    {
        lock (_lock)
        {
            if (_holders.TryGetValue(peer, out var holders))
            {
                holders.Remove(network);
                if (holders.Count > 0)
                {
                    return true;
                }
                _holders.Remove(peer);
            }
            if (_keptBefore.Contains(peer))
            {
                return true;
            }
            var stale = !held && node.Peers.Get(peer) is { KeepConnected: true } known && known.Addresses.Any(a => a.Source == AddressSource.Coordinator);
            if (held || stale)
            {
                try
                {
                    node.Connections.KeepConnected(peer, false);
                }
                catch (PeerException)
                {
                    // Forgotten by the store meanwhile: nothing to stop.
                }
            }
        }
        return _networks().Any(n => !n.Network.Equals(network) && n.IsMember(peer));
    }
}
