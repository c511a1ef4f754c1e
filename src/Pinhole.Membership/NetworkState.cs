namespace Pinhole.Membership;

/// <summary>
/// The records of one network that a node (or coordinator, or admin tool) has verified, and the rules that decide
/// what they mean: the admin chain from the genesis, who may sign what, which endpoint is newest, which invite was
/// redeemed twice. <see cref="GetView"/> turns them into the members valid at a given time. Not thread-safe: one
/// owner applies records and computes views (the membership client holds a lock around it).
/// </summary>
/// <remarks>
/// Storage is independent of the order records arrive in, so two nodes that saw the same records in different
/// orders hold the same set (and the same gossip digest): records are kept when they are well-formed and signed by
/// a key the chain authorizes, and validity in time is decided only by the view.
/// </remarks>
public sealed partial class NetworkState
{
    private readonly List<NetworkRecord> _chain = [];
    private readonly HashSet<PeerId> _everAuthorized = [];
    private readonly Dictionary<RecordId, NetworkRecord> _byId = [];
    private readonly Dictionary<PeerId, List<MembershipRecord>> _memberships = [];
    private readonly Dictionary<PeerId, List<RevocationRecord>> _revocations = [];
    private readonly Dictionary<PeerId, List<RedemptionRecord>> _redemptionsByInvite = [];
    private readonly Dictionary<PeerId, List<RedemptionRecord>> _redemptionsByPeer = [];
    private readonly Dictionary<PeerId, EndpointRecord> _endpoints = [];
    private readonly List<AdminChangeRecord> _forks = [];
    private long _version;

    /// <summary>Starts from a verified genesis record.</summary>
    public NetworkState(GenesisRecord genesis, TimeSpan? clockSkew = null)
    {
        ArgumentNullException.ThrowIfNull(genesis);
        var skew = clockSkew ?? DefaultClockSkew;
        ArgumentOutOfRangeException.ThrowIfLessThan(skew, TimeSpan.Zero, nameof(clockSkew));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(skew, TimeSpan.FromHours(1), nameof(clockSkew));
        Genesis = genesis;
        ClockSkew = skew;
        Admins = genesis.Admins;
        _chain.Add(genesis);
        _byId.Add(genesis.Id, genesis);
        Authorize(genesis.Admins);
    }

    /// <summary>Default tolerance for clocks that disagree, applied at both edges of every validity window.</summary>
    public static readonly TimeSpan DefaultClockSkew = TimeSpan.FromMinutes(5);

    /// <summary>The network.</summary>
    public NetworkId Network => Genesis.Network;

    /// <summary>The genesis record.</summary>
    public GenesisRecord Genesis { get; }

    /// <summary>The clock-skew tolerance.</summary>
    public TimeSpan ClockSkew { get; }

    /// <summary>The current admin set (the last link of the chain).</summary>
    public AdminSet Admins { get; private set; }

    /// <summary>The current epoch (0 until the first admin change).</summary>
    public ulong Epoch => (ulong)(_chain.Count - 1);

    /// <summary>The id of the chain's last record (what the next admin change must name as previous).</summary>
    public RecordId Head => _chain[^1].Id;

    /// <summary>The admin chain, genesis first.</summary>
    public IReadOnlyList<NetworkRecord> Chain => _chain;

    /// <summary>How many records are stored.</summary>
    public int Count => _byId.Count;

    /// <summary>Increases every time the stored records change.</summary>
    public long Version => _version;

    /// <summary>Every stored record, in an order that can be applied again (chain first, endpoints last).</summary>
    public IEnumerable<NetworkRecord> Records => _byId.Values.OrderBy(r => ApplyOrder(r)).ThenBy(r => r.Version).ThenBy(r => r.Id);

    /// <summary>True if a record with this id is stored.</summary>
    public bool Contains(RecordId id) => _byId.ContainsKey(id);

    /// <summary>The stored record with this id.</summary>
    public NetworkRecord? Find(RecordId id) => _byId.GetValueOrDefault(id);

    /// <summary>The stored endpoint of <paramref name="peer"/>.</summary>
    public EndpointRecord? FindEndpoint(PeerId peer) => _endpoints.GetValueOrDefault(peer);

    /// <summary>Sorts records so that applying them in order never refuses one for coming too early.</summary>
    public static IEnumerable<NetworkRecord> InApplyOrder(IEnumerable<NetworkRecord> records) =>
        records.OrderBy(ApplyOrder).ThenBy(r => r.Version);

    /// <summary>
    /// Checks a decoded record against the network and stores it if it belongs: the right network, a signer the
    /// chain authorizes, an admin change that extends the chain with a threshold of signatures, an endpoint newer
    /// than the one held. <paramref name="now"/> only refuses records that can no longer matter (obsolete).
    /// </summary>
    public ApplyResult Apply(NetworkRecord record, DateTimeOffset now) => Evaluate(record, now, commit: true);

    /// <summary>
    /// What <see cref="Apply"/> would do with <paramref name="record"/>, without storing it: how a coordinator checks a
    /// record before it writes it (its state then learns the record from the store like everybody else's).
    /// </summary>
    public ApplyResult Check(NetworkRecord record, DateTimeOffset now) => Evaluate(record, now, commit: false);

    private ApplyResult Evaluate(NetworkRecord record, DateTimeOffset now, bool commit)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (!record.Network.Equals(Network))
        {
            return ApplyResult.Reject(MembershipError.WrongNetwork, $"{record} belongs to network {record.Network}, not {Network}.");
        }
        if (_byId.ContainsKey(record.Id))
        {
            return new ApplyResult(ApplyStatus.Duplicate);
        }
        if (record.Obsolete is { } obsolete && obsolete + ClockSkew < now)
        {
            return ApplyResult.Reject(MembershipError.Expired, $"{record} expired at {obsolete:u}.");
        }
        var result = record switch
        {
            GenesisRecord => ApplyResult.Reject(MembershipError.WrongNetwork, $"{record} is a genesis record other than this network's."),
            AdminChangeRecord change => ApplyAdminChange(change, commit),
            MembershipRecord membership => ApplyIssued(membership, membership.Issuer, membership.Peer, _memberships, commit),
            RevocationRecord revocation => ApplyRevocation(revocation, now, commit),
            RedemptionRecord redemption => ApplyRedemption(redemption, commit),
            EndpointRecord endpoint => ApplyEndpoint(endpoint, commit),
            _ => ApplyResult.Reject(MembershipError.Malformed, $"{record} is of an unknown kind."),
        };
        if (result.Changed && commit)
        {
            _version++;
        }
        return result;
    }

    /// <summary>Drops records that can no longer matter at <paramref name="now"/>; returns how many.</summary>
    public int Prune(DateTimeOffset now)
    {
        var dropped = _byId.Values.Where(r => r.Obsolete is { } o && o + ClockSkew < now).ToList();
        foreach (var record in dropped)
        {
            Remove(record);
        }
        foreach (var endpoint in _endpoints.Values.Where(e => !HasCredential(e.Peer)).ToList())
        {
            Remove(endpoint);
            dropped.Add(endpoint);
        }
        if (dropped.Count > 0)
        {
            _version++;
        }
        return dropped.Count;
    }

    private ApplyResult ApplyAdminChange(AdminChangeRecord change, bool commit)
    {
        if (change.Epoch > Epoch + 1)
        {
            return ApplyResult.Reject(MembershipError.BrokenChain, $"{change} is for epoch {change.Epoch}; the chain is at epoch {Epoch}.");
        }
        var previousIndex = (int)(change.Epoch - 1);
        var previous = _chain[previousIndex];
        var previousAdmins = AdminsOf(previous);
        if (change.Previous != previous.Id)
        {
            return ApplyResult.Reject(MembershipError.BrokenChain, $"{change} names {change.Previous.ToShortString()} as previous; epoch {change.Epoch - 1} is {previous.Id.ToShortString()}.");
        }
        if (change.Signers.FirstOrDefault(s => !previousAdmins.IsAdmin(s)) is { } stranger)
        {
            return ApplyResult.Reject(MembershipError.Unauthorized, $"{change} is signed by {stranger}, which is not an admin of epoch {change.Epoch - 1}.");
        }
        var votes = change.Signers.Distinct().Count(previousAdmins.IsAdmin);
        if (votes < previousAdmins.Threshold)
        {
            return ApplyResult.Reject(MembershipError.ThresholdNotMet, $"{change} has {votes} admin signature(s); epoch {change.Epoch - 1} requires {previousAdmins.Threshold}.");
        }
        if (change.Epoch <= Epoch)
        {
            // A second, validly signed change for an epoch already taken: the admins (or their keys) equivocate.
            if (commit)
            {
                _forks.Add(change);
                _byId.Add(change.Id, change);
            }
            return new ApplyResult(ApplyStatus.Added, MembershipError.Equivocation,
                $"{change} forks the admin chain at epoch {change.Epoch} (the chain holds {_chain[(int)change.Epoch].Id.ToShortString()}); keeping the first.");
        }
        if (commit)
        {
            _chain.Add(change);
            _byId.Add(change.Id, change);
            Admins = change.Admins;
            Authorize(change.Admins);
            PurgeUnauthorized();
        }
        return new ApplyResult(ApplyStatus.Added);
    }

    private ApplyResult ApplyIssued<T>(T record, PeerId issuer, PeerId subject, Dictionary<PeerId, List<T>> index, bool commit) where T : NetworkRecord
    {
        if (!Admins.MayIssue(issuer))
        {
            return ApplyResult.Reject(MembershipError.Unauthorized, $"{record} for {subject} is signed by {issuer}, which is not an admin or issuer of the network.");
        }
        if (commit)
        {
            Add(index, subject, record);
        }
        return new ApplyResult(ApplyStatus.Added);
    }

    private ApplyResult ApplyRevocation(RevocationRecord revocation, DateTimeOffset now, bool commit)
    {
        // A revocation only takes access away, so one by a key that has left the admin set still counts: dropping it
        // would re-admit whoever it revoked. A threshold in the future would lock a PeerId out for good; refuse it.
        if (!_everAuthorized.Contains(revocation.Issuer))
        {
            return ApplyResult.Reject(MembershipError.Unauthorized, $"{revocation} for {revocation.Peer} is signed by {revocation.Issuer}, which has never been an admin or issuer.");
        }
        if (revocation.Threshold > now + ClockSkew)
        {
            return ApplyResult.Reject(MembershipError.NotYetValid, $"{revocation} has a threshold in the future ({revocation.Threshold:u}).");
        }
        if (commit)
        {
            Add(_revocations, revocation.Peer, revocation);
        }
        return new ApplyResult(ApplyStatus.Added);
    }

    private ApplyResult ApplyRedemption(RedemptionRecord redemption, bool commit)
    {
        var invite = redemption.Invite;
        var result = ApplyIssued(redemption, invite.Issuer, invite.KeyId, _redemptionsByInvite, commit);
        if (!commit)
        {
            var others = _redemptionsByInvite.GetValueOrDefault(invite.KeyId);
            return result.Status == ApplyStatus.Added && others is not null && others.Exists(r => !r.Peer.Equals(redemption.Peer))
                ? result with { Error = MembershipError.Equivocation, Message = $"Invite {invite.KeyId} is already redeemed by {others[0].Peer}." }
                : result;
        }
        if (result.Status == ApplyStatus.Added)
        {
            if (!_redemptionsByPeer.TryGetValue(redemption.Peer, out var byPeer))
            {
                _redemptionsByPeer[redemption.Peer] = byPeer = [];
            }
            byPeer.Add(redemption);
        }
        if (result.Status == ApplyStatus.Added && _redemptionsByInvite[invite.KeyId].Select(r => r.Peer).Distinct().Count() > 1)
        {
            return result with
            {
                Error = MembershipError.Equivocation,
                Message = $"Invite {invite.KeyId} is redeemed by {string.Join(" and ", _redemptionsByInvite[invite.KeyId].Select(r => r.Peer))}; none of them is a member through it.",
            };
        }
        return result;
    }

    private ApplyResult ApplyEndpoint(EndpointRecord endpoint, bool commit)
    {
        if (!HasCredential(endpoint.Peer))
        {
            return ApplyResult.Reject(MembershipError.Unknown, $"{endpoint} is for {endpoint.Peer}, which holds no credential in this network.");
        }
        if (_endpoints.TryGetValue(endpoint.Peer, out var held))
        {
            if (held.Sequence >= endpoint.Sequence)
            {
                return ApplyResult.Reject(MembershipError.Stale, $"{endpoint} of {endpoint.Peer} has sequence {endpoint.Sequence}; {held.Sequence} is held.");
            }
            if (commit)
            {
                _byId.Remove(held.Id);
                _endpoints[endpoint.Peer] = endpoint;
                _byId.Add(endpoint.Id, endpoint);
            }
            return new ApplyResult(ApplyStatus.Replaced);
        }
        if (commit)
        {
            _endpoints.Add(endpoint.Peer, endpoint);
            _byId.Add(endpoint.Id, endpoint);
        }
        return new ApplyResult(ApplyStatus.Added);
    }

    private void Add<T>(Dictionary<PeerId, List<T>> index, PeerId key, T record) where T : NetworkRecord
    {
        if (!index.TryGetValue(key, out var list))
        {
            index[key] = list = [];
        }
        list.Add(record);
        _byId.Add(record.Id, record);
    }

    private bool HasCredential(PeerId peer) =>
        _memberships.ContainsKey(peer) || _redemptionsByPeer.ContainsKey(peer);

    private void Authorize(AdminSet set)
    {
        foreach (var key in set.Admins.Concat(set.Issuers))
        {
            _everAuthorized.Add(key.PeerId);
        }
    }

    // Memberships and invites signed by a key that has left the set stop counting; drop them so every node holds the
    // same set whatever order it learnt things in.
    private void PurgeUnauthorized()
    {
        foreach (var record in _byId.Values.ToList())
        {
            var issuer = record switch
            {
                MembershipRecord m => m.Issuer,
                RedemptionRecord r => r.Invite.Issuer,
                _ => null,
            };
            if (issuer is not null && !Admins.MayIssue(issuer))
            {
                Remove(record);
            }
        }
    }

    private void Remove(NetworkRecord record)
    {
        _byId.Remove(record.Id);
        switch (record)
        {
            case MembershipRecord m:
                RemoveFrom(_memberships, m.Peer, m);
                break;
            case RevocationRecord r:
                RemoveFrom(_revocations, r.Peer, r);
                break;
            case RedemptionRecord r:
                RemoveFrom(_redemptionsByInvite, r.Invite.KeyId, r);
                RemoveFrom(_redemptionsByPeer, r.Peer, r);
                break;
            case EndpointRecord e:
                _endpoints.Remove(e.Peer);
                break;
        }
    }

    private static void RemoveFrom<T>(Dictionary<PeerId, List<T>> index, PeerId key, T record)
    {
        if (index.TryGetValue(key, out var list))
        {
            list.Remove(record);
            if (list.Count == 0)
            {
                index.Remove(key);
            }
        }
    }

    private static AdminSet AdminsOf(NetworkRecord link) => link switch
    {
        GenesisRecord g => g.Admins,
        AdminChangeRecord c => c.Admins,
        _ => throw new InvalidOperationException("Not a chain link."),
    };

    private static int ApplyOrder(NetworkRecord record) => record.Kind switch
    {
        RecordKind.Genesis => 0,
        RecordKind.AdminChange => 1,
        RecordKind.Endpoint => 3,
        _ => 2,
    };
}
