using Pinhole.Membership;

namespace Pinhole.Coordinator;

public sealed partial class CoordinatorServer
{
    private const int BatchBytes = 512 * 1024;
    private const int BatchCount = 2000;

    /// <summary>
    /// Streams every record changed after the caller's cursor (the whole network for cursor 0), marks the end of that
    /// backlog with <c>caught_up</c>, then sends changes as they are committed and a heartbeat when idle. A client that
    /// reconnects, here or to another instance, resumes from the last cursor it received and misses nothing: sequences
    /// commit in order (see <see cref="CoordinatorStore"/>). Ends with an error when the caller stops being a member.
    /// </summary>
    private async Task<CoordinatorMessage?> SubscribeAsync(PeerId caller, PeerStream stream, CoordinatorMessage request)
    {
        var feed = await RequireFeedAsync(request).ConfigureAwait(false);
        RequireMember(feed, caller, "Subscribing");
        var key = (feed.Network, caller);
        if (_subscriptions.AddOrUpdate(key, 1, (_, n) => n + 1) > _options.MaxSubscriptionsPerPeer)
        {
            Release(key);
            throw new MembershipException(MembershipError.LimitExceeded, $"{caller} has {_options.MaxSubscriptionsPerPeer} subscriptions to {feed.Network} already.");
        }
        _metrics.Subscribers.Add(1);
        try
        {
            var cursor = request.Cursor > feed.Known ? 0 : request.Cursor; // A cursor from a newer (restored?) store: send everything.
            var caughtUp = false;
            var countRequests = true;
            ulong pending = 0;
            while (!_stopping.IsCancellationRequested)
            {
                var batch = await feed.ReadAsync(cursor, BatchBytes, BatchCount, _stopping.Token).ConfigureAwait(false);
                if (batch.Count > 0)
                {
                    cursor = batch[^1].Sequence;
                    await SendAsync(stream, new CoordinatorMessage(CoordinatorMessageType.Changes)
                    {
                        Network = feed.Network,
                        Cursor = cursor,
                        Records = [.. batch.Select(c => (ReadOnlyMemory<byte>)c.Blob)],
                    }.Encode()).ConfigureAwait(false);
                    _metrics.ChangesSent.Add(1);
                    continue;
                }
                var view = feed.View();
                if (!view.IsMember(caller))
                {
                    var reason = view.Revoked.ContainsKey(caller) ? MembershipError.Revoked : MembershipError.Expired;
                    return CoordinatorMessage.Failure(reason, $"{caller} is no longer a member of {feed.Network}.");
                }
                var signal = RequestSignal(feed.Network, caller);
                // Counting requests is a store query: only when told something arrived, not on every record change.
                var waiting = countRequests
                    ? (ulong)await _store.CountRequestsAsync(feed.Network, caller, _time.GetUtcNow(), _stopping.Token).ConfigureAwait(false)
                    : pending;
                countRequests = false;
                if (!caughtUp)
                {
                    await SendAsync(stream, new CoordinatorMessage(CoordinatorMessageType.Changes)
                    {
                        Network = feed.Network,
                        Cursor = cursor,
                        CaughtUp = true,
                        Pending = waiting,
                        Time = _time.GetUtcNow(),
                    }.Encode()).ConfigureAwait(false);
                    caughtUp = true;
                    pending = waiting;
                }
                else if (waiting != pending)
                {
                    await SendHeartbeatAsync(stream, feed.Network, cursor, waiting).ConfigureAwait(false);
                    pending = waiting;
                }
                using var idle = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
                var heartbeat = Task.Delay(_options.HeartbeatInterval, _time, idle.Token);
                var woke = await Task.WhenAny(feed.WaitAsync(cursor), signal, heartbeat, stream.ReadsClosed).ConfigureAwait(false);
                await idle.CancelAsync().ConfigureAwait(false);
                if (woke == stream.ReadsClosed)
                {
                    return null; // The client closed its side: unsubscribed.
                }
                if (woke == signal)
                {
                    countRequests = true;
                }
                else if (woke == heartbeat)
                {
                    await SendHeartbeatAsync(stream, feed.Network, cursor, pending).ConfigureAwait(false);
                }
            }
            return null;
        }
        finally
        {
            _metrics.Subscribers.Add(-1);
            Release(key);
        }
    }

    private Task SendHeartbeatAsync(PeerStream stream, NetworkId network, ulong cursor, ulong pending) =>
        SendAsync(stream, new CoordinatorMessage(CoordinatorMessageType.Heartbeat)
        {
            Network = network,
            Cursor = cursor,
            Pending = pending,
            Time = _time.GetUtcNow(),
        }.Encode());

    private void Release((NetworkId, PeerId) key)
    {
        if (_subscriptions.AddOrUpdate(key, 0, (_, n) => n - 1) <= 0)
        {
            _subscriptions.TryRemove(new KeyValuePair<(NetworkId, PeerId), int>(key, 0));
        }
    }
}
