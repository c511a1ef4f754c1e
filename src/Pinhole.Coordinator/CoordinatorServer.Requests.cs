using Pinhole.Membership;

namespace Pinhole.Coordinator;

public sealed partial class CoordinatorServer
{
    private const int MaxRequestsPerGet = 100;

    /// <summary>Leaves sealed requests in members' request spaces: members write, only the recipient reads.</summary>
    private async Task<CoordinatorMessage> PutRequestsAsync(PeerId caller, CoordinatorMessage request)
    {
        var feed = await RequireFeedAsync(request).ConfigureAwait(false);
        RequireMember(feed, caller, "Writing to a request space");
        var now = _time.GetUtcNow();
        foreach (var envelope in request.Requests)
        {
            var sealedRequest = SealedRequest.Decode(envelope.Span);
            if (!sealedRequest.Sender.Equals(caller))
            {
                throw new MembershipException(MembershipError.Forbidden, $"{caller} may only send its own requests, not {sealedRequest.Sender}'s.");
            }
            if (!sealedRequest.Network.Equals(feed.Network))
            {
                throw new MembershipException(MembershipError.WrongNetwork, $"The request is for {sealedRequest.Network}, not {feed.Network}.");
            }
            if (sealedRequest.ExpiresAt < now || sealedRequest.CreatedAt - _options.ClockSkew > now)
            {
                throw new MembershipException(MembershipError.Expired, $"Request {sealedRequest.Id.ToShortString()} is outside its lifetime ({sealedRequest.CreatedAt:u} to {sealedRequest.ExpiresAt:u}).");
            }
            if (!feed.View().IsMember(sealedRequest.Recipient))
            {
                throw new MembershipException(MembershipError.Unknown, $"{sealedRequest.Recipient} is not a member of {feed.Network}.");
            }
            var result = await _store.PutRequestAsync(sealedRequest, _options.MaxRequestsPerRecipient, _stopping.Token).ConfigureAwait(false);
            if (result == StoreWrite.Full)
            {
                throw new MembershipException(MembershipError.LimitExceeded, $"{sealedRequest.Recipient}'s request space holds {_options.MaxRequestsPerRecipient} requests already.");
            }
            if (result == StoreWrite.Stored)
            {
                _metrics.Requests.Add(1);
                SignalRequest(feed.Network, sealedRequest.Recipient);
            }
        }
        return new CoordinatorMessage(CoordinatorMessageType.Ok) { Network = feed.Network };
    }

    private async Task<CoordinatorMessage> GetRequestsAsync(PeerId caller, CoordinatorMessage request)
    {
        var feed = await RequireFeedAsync(request).ConfigureAwait(false);
        RequireMember(feed, caller, "Reading a request space");
        var limit = (int)Math.Clamp(request.Limit == 0 ? MaxRequestsPerGet : request.Limit, 1, MaxRequestsPerGet);
        // The recipient is the caller, so nobody can read another node's space.
        var stored = await _store.GetRequestsAsync(feed.Network, caller, request.Cursor, limit, _time.GetUtcNow(), _stopping.Token).ConfigureAwait(false);
        return new CoordinatorMessage(CoordinatorMessageType.Requests)
        {
            Network = feed.Network,
            Requests = [.. stored.Select(s => (ReadOnlyMemory<byte>)s.Envelope)],
            Cursor = stored.Count > 0 ? stored[^1].Cursor : request.Cursor,
        };
    }

    private async Task<CoordinatorMessage> DeleteRequestsAsync(PeerId caller, CoordinatorMessage request)
    {
        var feed = await RequireFeedAsync(request).ConfigureAwait(false);
        var deleted = await _store.DeleteRequestsAsync(feed.Network, caller, request.Ids, _stopping.Token).ConfigureAwait(false);
        return new CoordinatorMessage(CoordinatorMessageType.Ok) { Network = feed.Network, Cursor = (ulong)deleted };
    }
}
