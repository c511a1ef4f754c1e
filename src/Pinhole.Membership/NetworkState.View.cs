namespace Pinhole.Membership;

public sealed partial class NetworkState
{
    private NetworkView? _view;
    private long _viewVersion = -1;

    /// <summary>
    /// The members valid at <paramref name="now"/>. A credential counts when its signer is in the current admin set,
    /// <paramref name="now"/> lies in its window widened by <see cref="ClockSkew"/> at both edges, and no revocation of
    /// the peer (or of the invite key) has a threshold at or after its issue time. A redeemed invite counts unless the
    /// invite was redeemed by two keys. When two members claim one address, the earlier credential keeps it.
    /// A view stays valid until its <see cref="NetworkView.NextChange"/> or the next stored change, and is reused until then.
    /// </summary>
    public NetworkView GetView(DateTimeOffset now)
    {
        if (_view is { } cached && _viewVersion == _version && cached.At <= now && (cached.NextChange is null || now < cached.NextChange))
        {
            return cached;
        }
        var view = ComputeView(now);
        _view = view;
        _viewVersion = _version;
        return view;
    }

    private NetworkView ComputeView(DateTimeOffset now)
    {
        var skew = ClockSkew;
        DateTimeOffset? next = null;
        void Edge(DateTimeOffset edge)
        {
            if (edge > now && (next is null || edge < next))
            {
                next = edge;
            }
        }
        var revoked = new Dictionary<PeerId, DateTimeOffset>();
        foreach (var (peer, list) in _revocations)
        {
            revoked[peer] = list.Max(r => r.Threshold);
        }
        bool RevokedAfter(PeerId peer, DateTimeOffset issued) => revoked.TryGetValue(peer, out var threshold) && threshold >= issued;

        var alerts = new List<NetworkAlert>();
        var equivocated = new HashSet<PeerId>();
        foreach (var (inviteKey, list) in _redemptionsByInvite)
        {
            var peers = list.Select(r => r.Peer).Distinct().ToList();
            if (peers.Count > 1)
            {
                equivocated.Add(inviteKey);
                alerts.Add(new NetworkAlert(NetworkAlertKind.InviteEquivocation, [inviteKey, .. peers],
                    $"Invite {inviteKey} was redeemed by {peers.Count} keys ({string.Join(", ", peers)}); none of them is admitted through it."));
            }
        }
        foreach (var fork in _forks)
        {
            alerts.Add(new NetworkAlert(NetworkAlertKind.AdminFork, [.. fork.Signers],
                $"Admin change {fork.Id.ToShortString()} forks the chain at epoch {fork.Epoch}; the admin keys that signed it are misused."));
        }

        var candidates = new List<NetworkMember>();
        foreach (var peer in _memberships.Keys.Concat(_redemptionsByPeer.Keys).Distinct())
        {
            NetworkMember? best = null;
            void Consider(NetworkMember candidate)
            {
                if (best is null || candidate.IssuedAt > best.IssuedAt
                    || (candidate.IssuedAt == best.IssuedAt && (best.Provisional && !candidate.Provisional || (best.Provisional == candidate.Provisional && candidate.Credential < best.Credential))))
                {
                    best = candidate;
                }
            }
            foreach (var m in _memberships.GetValueOrDefault(peer) ?? [])
            {
                if (!Admins.MayIssue(m.Issuer) || RevokedAfter(peer, m.IssuedAt))
                {
                    continue;
                }
                var from = m.NotBefore - skew;
                var until = m.NotAfter + skew;
                Edge(from);
                Edge(until + TimeSpan.FromTicks(1));
                if (from <= now && now <= until)
                {
                    Consider(new NetworkMember(peer, m.Ipv4, m.Ipv6, m.Groups, m.NotBefore, m.NotAfter, m.IssuedAt, m.Issuer, false, m.Id, null));
                }
            }
            foreach (var r in _redemptionsByPeer.GetValueOrDefault(peer) ?? [])
            {
                var invite = r.Invite;
                if (!Admins.MayIssue(invite.Issuer) || equivocated.Contains(invite.KeyId)
                    || RevokedAfter(invite.KeyId, invite.IssuedAt) || RevokedAfter(peer, invite.IssuedAt)
                    || r.RedeemedAt > invite.RedeemBy + skew)
                {
                    continue;
                }
                var from = invite.IssuedAt - skew;
                var until = invite.MembershipNotAfter + skew;
                Edge(from);
                Edge(until + TimeSpan.FromTicks(1));
                if (from <= now && now <= until)
                {
                    Consider(new NetworkMember(peer, invite.Ipv4, invite.Ipv6, invite.Groups, invite.IssuedAt, invite.MembershipNotAfter, invite.IssuedAt, invite.Issuer, true, r.Id, null));
                }
            }
            if (best is not null)
            {
                candidates.Add(best);
            }
        }

        // Address claims: the earlier credential wins, deterministically on every node.
        candidates.Sort((a, b) => a.IssuedAt != b.IssuedAt ? a.IssuedAt.CompareTo(b.IssuedAt) : a.Credential.CompareTo(b.Credential));
        var claimed = new Dictionary<System.Net.IPAddress, PeerId>();
        var members = new Dictionary<PeerId, NetworkMember>();
        foreach (var candidate in candidates)
        {
            if (!InsidePrefixes(candidate))
            {
                alerts.Add(new NetworkAlert(NetworkAlertKind.AddressOutsidePrefix, [candidate.Peer, candidate.Issuer],
                    $"{candidate.Peer}'s address ({candidate.Ipv4} {candidate.Ipv6}) is outside the network's prefixes; it is not admitted."));
                continue;
            }
            var clash = new[] { candidate.Ipv4, candidate.Ipv6 }.Where(a => a is not null && claimed.ContainsKey(a)).Select(a => claimed[a!]).FirstOrDefault();
            if (clash is not null)
            {
                alerts.Add(new NetworkAlert(NetworkAlertKind.AddressConflict, [candidate.Peer, clash],
                    $"{candidate.Peer} claims an address {clash} already holds; it is not admitted."));
                continue;
            }
            if (candidate.Ipv4 is { } v4)
            {
                claimed[v4] = candidate.Peer;
            }
            if (candidate.Ipv6 is { } v6)
            {
                claimed[v6] = candidate.Peer;
            }
            var endpoint = _endpoints.GetValueOrDefault(candidate.Peer);
            members[candidate.Peer] = endpoint is null ? candidate : new NetworkMember(candidate.Peer, candidate.Ipv4, candidate.Ipv6, candidate.Groups,
                candidate.NotBefore, candidate.NotAfter, candidate.IssuedAt, candidate.Issuer, candidate.Provisional, candidate.Credential, endpoint);
        }
        return new NetworkView(Network, Genesis.Name, Admins, Epoch, now, next, members, revoked, alerts);
    }

    private bool InsidePrefixes(NetworkMember member) =>
        (member.Ipv4 is null || (Genesis.Ipv4Prefix is { } p4 && p4.Contains(member.Ipv4)))
        && (member.Ipv6 is null || (Genesis.Ipv6Prefix is { } p6 && p6.Contains(member.Ipv6)));
}
