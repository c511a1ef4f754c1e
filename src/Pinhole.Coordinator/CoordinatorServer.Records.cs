using Pinhole.Coordinator.Internal;
using Pinhole.Membership;

namespace Pinhole.Coordinator;

public sealed partial class CoordinatorServer
{
    private async Task<CoordinatorMessage> PublishAsync(PeerId caller, CoordinatorMessage request)
    {
        var feed = await RequireFeedAsync(request).ConfigureAwait(false);
        ulong cursor = 0;
        foreach (var blob in request.Records)
        {
            var record = NetworkRecord.Decode(blob.Span);
            var (_, sequence) = await WriteAsync(feed, record, caller, viaAdminApi: false).ConfigureAwait(false);
            cursor = Math.Max(cursor, sequence);
        }
        return new CoordinatorMessage(CoordinatorMessageType.Ok) { Network = feed.Network, Cursor = cursor };
    }

    /// <summary>
    /// Checks and stores one record: it must belong to the network and pass the same rules nodes apply
    /// (<see cref="NetworkState.Check"/>), plus the coordinator's own: a node publishes only its own endpoint and only
    /// while it is a member; redemptions go through <see cref="RedeemAsync(PeerId, CoordinatorMessage)"/>.
    /// </summary>
    internal async Task<(StoreWrite Result, ulong Sequence)> WriteAsync(NetworkFeed feed, NetworkRecord record, PeerId caller, bool viaAdminApi)
    {
        if (!record.Network.Equals(feed.Network))
        {
            throw Refuse(MembershipError.WrongNetwork, $"{record} belongs to {record.Network}, not {feed.Network}.");
        }
        switch (record)
        {
            case GenesisRecord:
                return record.Id == feed.State.Genesis.Id ? (StoreWrite.Duplicate, 0UL) : throw Refuse(MembershipError.WrongNetwork, "A genesis record creates a network; it cannot be published into one.");
            case RedemptionRecord:
                throw Refuse(MembershipError.Forbidden, "Redemptions are made with Redeem, which guarantees a single winner.");
            case EndpointRecord endpoint:
                if (viaAdminApi || !endpoint.Peer.Equals(caller))
                {
                    throw Refuse(MembershipError.Forbidden, $"A node publishes only its own endpoint; {caller} sent {endpoint.Peer}'s.");
                }
                RequireMember(feed, caller, "Publishing an endpoint");
                break;
            default:
                var view = feed.View();
                if (!viaAdminApi && !view.IsMember(caller) && !view.Admins.MayIssue(caller))
                {
                    throw Refuse(MembershipError.Forbidden, $"Only members, admins and issuers publish into {feed.Network}.");
                }
                break;
        }
        var check = feed.Check(record);
        if (check.Status == ApplyStatus.Duplicate)
        {
            return (StoreWrite.Duplicate, 0);
        }
        if (check.Status == ApplyStatus.Rejected || check.Error == MembershipError.Equivocation)
        {
            throw Refuse(check.Error ?? MembershipError.Internal, check.Message ?? "The record was refused.");
        }
        var (result, sequence) = await _store.AppendAsync(record, _stopping.Token).ConfigureAwait(false);
        switch (result)
        {
            case StoreWrite.Stored:
                _metrics.RecordsWritten.Add(1);
                await feed.CatchUpAsync(sequence, _stopping.Token).ConfigureAwait(false);
                return (result, sequence);
            case StoreWrite.Duplicate:
                return (result, 0);
            case StoreWrite.Stale:
                throw Refuse(MembershipError.Stale, $"{record}: a newer version is stored.");
            default:
                throw Refuse(MembershipError.Unknown, $"Network {feed.Network} is not in the store.");
        }
    }

    private async Task<CoordinatorMessage> RedeemAsync(PeerId caller, CoordinatorMessage request)
    {
        var feed = await RequireFeedAsync(request).ConfigureAwait(false);
        if (request.Records.Count != 1 || NetworkRecord.Decode(request.Records[0].Span) is not RedemptionRecord redemption)
        {
            throw Refuse(MembershipError.Malformed, "Redeem carries exactly one redemption record.");
        }
        if (!redemption.Peer.Equals(caller))
        {
            throw Refuse(MembershipError.Forbidden, $"An invite is redeemed for the key that connects: {caller} sent a redemption for {redemption.Peer}.");
        }
        if (!redemption.Network.Equals(feed.Network))
        {
            throw Refuse(MembershipError.WrongNetwork, $"The invite is for {redemption.Network}, not {feed.Network}.");
        }
        var invite = redemption.Invite;
        var now = _time.GetUtcNow();
        if (invite.RedeemBy + _options.ClockSkew < now)
        {
            throw Refuse(MembershipError.Expired, $"Invite {invite.KeyId} expired at {invite.RedeemBy:u}.");
        }
        if (invite.IssuedAt - _options.ClockSkew > now)
        {
            throw Refuse(MembershipError.NotYetValid, $"Invite {invite.KeyId} is issued in the future ({invite.IssuedAt:u}); check the clocks.");
        }
        var view = feed.View();
        if (view.Revoked.TryGetValue(invite.KeyId, out var threshold) && threshold >= invite.IssuedAt)
        {
            throw Refuse(MembershipError.Revoked, $"Invite {invite.KeyId} is revoked.");
        }
        var check = feed.Check(redemption);
        if (check.Status == ApplyStatus.Duplicate)
        {
            // A retry after a lost reply: the caller already holds this invite.
            return new CoordinatorMessage(CoordinatorMessageType.Ok) { Network = feed.Network, Cursor = feed.Known };
        }
        if (check.Error == MembershipError.Equivocation)
        {
            throw Refuse(MembershipError.AlreadyRedeemed, $"Invite {invite.KeyId} was already redeemed by another key.");
        }
        if (check.Status == ApplyStatus.Rejected)
        {
            throw Refuse(check.Error ?? MembershipError.Internal, check.Message ?? "The redemption was refused.");
        }
        await CheckAllocationAsync(feed, invite, view, caller).ConfigureAwait(false);
        var (result, sequence, winner) = await _store.RedeemAsync(redemption, _stopping.Token).ConfigureAwait(false);
        switch (result)
        {
            case StoreWrite.Stored:
                _metrics.Redemptions.Add(1);
                CoordinatorLog.Redeemed(_logger, invite.KeyId, feed.Network, caller);
                await feed.CatchUpAsync(sequence, _stopping.Token).ConfigureAwait(false);
                return new CoordinatorMessage(CoordinatorMessageType.Ok) { Network = feed.Network, Cursor = sequence };
            case StoreWrite.AlreadyRedeemed when caller.Equals(winner):
                // A retry after a lost reply: the caller already holds this invite.
                return new CoordinatorMessage(CoordinatorMessageType.Ok) { Network = feed.Network, Cursor = feed.Known };
            case StoreWrite.AlreadyRedeemed:
                throw Refuse(MembershipError.AlreadyRedeemed, $"Invite {invite.KeyId} was already redeemed by another key.");
            default:
                throw Refuse(MembershipError.Unknown, $"Network {feed.Network} is not in the store.");
        }
    }

    // The coordinator hands out host numbers (never reused); an invite must carry the addresses allocated to it, or
    // addresses nobody else was allocated or holds. The caller holding them already is a retry after a lost reply
    // (a fresh redemption of the same invite): the store answers it as the first.
    private async Task CheckAllocationAsync(NetworkFeed feed, Invite invite, NetworkView view, PeerId caller)
    {
        foreach (var address in new[] { invite.Ipv4, invite.Ipv6 })
        {
            if (address is null)
            {
                continue;
            }
            if (view.FindByAddress(address) is { } holder && !holder.Peer.Equals(caller))
            {
                throw Refuse(MembershipError.Conflict, $"{address} belongs to {holder.Peer} already.");
            }
            var host = AddressPlan.HostOf(feed.State.Genesis, address)
                ?? throw Refuse(MembershipError.Conflict, $"{address} is outside the network's prefixes.");
            var (allocated, owner) = await _store.GetAllocationAsync(feed.Network, host, _stopping.Token).ConfigureAwait(false);
            if (allocated && owner is not null && !owner.Equals(invite.KeyId))
            {
                throw Refuse(MembershipError.Conflict, $"{address} was allocated to another invite.");
            }
        }
    }

    private MembershipException Refuse(MembershipError reason, string message)
    {
        _metrics.RecordsRefused.Add(1);
        return new MembershipException(reason, message);
    }
}
