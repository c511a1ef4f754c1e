namespace Pinhole.Membership;

/// <summary>Why a member left the view.</summary>
public enum MemberRemovalReason
{
    /// <summary>A revocation voids its credential.</summary>
    Revoked = 1,
    /// <summary>Its credential expired (this node's clock, with the skew tolerance).</summary>
    Expired,
    /// <summary>Something else: its issuer left the admin set, its invite was redeemed twice, an address conflict.</summary>
    Other,
}

/// <summary>A member that left the view and why.</summary>
/// <param name="Member">The member as it was.</param>
/// <param name="Reason">Why it left.</param>
public sealed record MemberRemoval(NetworkMember Member, MemberRemovalReason Reason);

/// <summary>How the verified view changed (raised in order, one at a time, never while the client holds its lock).</summary>
public sealed class NetworkChangedEventArgs : EventArgs
{
    internal NetworkChangedEventArgs(NetworkView view, IReadOnlyList<NetworkMember> added, IReadOnlyList<NetworkMember> updated, IReadOnlyList<MemberRemoval> removed, IReadOnlyList<NetworkAlert> alerts)
    {
        View = view;
        Added = added;
        Updated = updated;
        Removed = removed;
        Alerts = alerts;
    }

    /// <summary>The view after the change.</summary>
    public NetworkView View { get; }

    /// <summary>New members.</summary>
    public IReadOnlyList<NetworkMember> Added { get; }

    /// <summary>Members whose credential or endpoint changed.</summary>
    public IReadOnlyList<NetworkMember> Updated { get; }

    /// <summary>Members that left, with the reason.</summary>
    public IReadOnlyList<MemberRemoval> Removed { get; }

    /// <summary>Misbehaviour newly detected.</summary>
    public IReadOnlyList<NetworkAlert> Alerts { get; }

    internal static NetworkChangedEventArgs? Diff(NetworkView before, NetworkView after, TimeSpan skew)
    {
        var added = new List<NetworkMember>();
        var updated = new List<NetworkMember>();
        var removed = new List<MemberRemoval>();
        foreach (var (peer, member) in after.Members)
        {
            if (!before.Members.TryGetValue(peer, out var old))
            {
                added.Add(member);
            }
            else if (!old.SameAs(member))
            {
                updated.Add(member);
            }
        }
        foreach (var (peer, member) in before.Members)
        {
            if (after.Members.ContainsKey(peer))
            {
                continue;
            }
            var reason = after.Revoked.TryGetValue(peer, out var threshold) && threshold >= member.IssuedAt ? MemberRemovalReason.Revoked
                : after.At > member.NotAfter + skew ? MemberRemovalReason.Expired
                : MemberRemovalReason.Other;
            removed.Add(new MemberRemoval(member, reason));
        }
        var alerts = after.Alerts.Where(a => !before.Alerts.Contains(a, AlertComparer.Instance)).ToList();
        return added.Count + updated.Count + removed.Count + alerts.Count == 0 ? null : new NetworkChangedEventArgs(after, added, updated, removed, alerts);
    }

    private sealed class AlertComparer : IEqualityComparer<NetworkAlert>
    {
        public static readonly AlertComparer Instance = new();

        public bool Equals(NetworkAlert? x, NetworkAlert? y) => x is not null && y is not null && x.Kind == y.Kind && x.Peers.SequenceEqual(y.Peers);

        public int GetHashCode(NetworkAlert obj) => HashCode.Combine(obj.Kind, obj.Peers.Count > 0 ? obj.Peers[0] : null);
    }
}

/// <summary>Where the client's copy of the network stands.</summary>
public enum MembershipStatus
{
    /// <summary>Working from the cache (or nothing yet) while it connects.</summary>
    Connecting = 0,
    /// <summary>Subscribed and caught up with the coordinator.</summary>
    Synced,
    /// <summary>The coordinator is unreachable; the cache and gossip keep the view.</summary>
    Offline,
    /// <summary>This node is not a member (revoked, expired) by its own check.</summary>
    NotMember,
    /// <summary>Disposed.</summary>
    Stopped,
}
