namespace Pinhole.Node;

public sealed partial class NodeConnections
{
    // A draining duplicate closes once it has carried no stream for this long (or at DuplicateDrainTimeout).
    internal static readonly TimeSpan DrainIdleGrace = TimeSpan.FromSeconds(2);

    internal void Start()
    {
        var period = HousekeepingPeriod(_options);
        _housekeeping = _time.CreateTimer(static s => ((NodeConnections)s!).Housekeep(), this, period, period);
        foreach (var peer in _node.Peers.KeepConnectedPeers())
        {
            SetKeepConnected(peer, true);
        }
    }

    internal static TimeSpan HousekeepingPeriod(NodeConnectionOptions options)
    {
        var period = options.IdleTimeout > TimeSpan.Zero && options.IdleTimeout / 4 < options.DuplicateDrainTimeout / 4
            ? options.IdleTimeout / 4
            : options.DuplicateDrainTimeout / 4;
        return period < TimeSpan.FromMilliseconds(250) ? TimeSpan.FromMilliseconds(250)
            : period > TimeSpan.FromSeconds(5) ? TimeSpan.FromSeconds(5) : period;
    }

    /// <summary>
    /// Keeps <paramref name="peer"/> connected (redialling with backoff whenever its connection is lost) or
    /// stops doing so, and records the choice in the peer store (the peer must be known there).
    /// </summary>
    public void KeepConnected(PeerId peer, bool keep)
    {
        ArgumentNullException.ThrowIfNull(peer);
        if (_node.Peers.Update(peer, new PeerUpdate { KeepConnected = keep }) is null)
        {
            throw new PeerException(PeerError.Unreachable, $"{peer} is not in the peer store; add it with an address first.");
        }
        SetKeepConnected(peer, keep);
    }

    internal void SetKeepConnected(PeerId peer, bool keep)
    {
        bool dialNow;
        lock (_lock)
        {
            if (_stopped)
            {
                return;
            }
            var slot = Slot(peer);
            slot.KeepConnected = keep;
            if (!keep)
            {
                slot.CancelReconnect();
                DropIfEmpty(slot);
                return;
            }
            dialNow = slot.Primary is null && slot.Dial is null && slot.ReconnectTimer is null;
        }
        if (dialNow)
        {
            _ = RedialAsync(peer);
        }
    }

    /// <summary>When the next redial of a keep-connected peer is due, or null if none is scheduled.</summary>
    public DateTimeOffset? NextReconnect(PeerId peer)
    {
        lock (_lock)
        {
            return _peers.TryGetValue(peer, out var slot) ? slot.NextReconnect : null;
        }
    }

    private void ScheduleReconnect(PeerSlot slot)
    {
        lock (_lock)
        {
            if (_stopped || !slot.KeepConnected || slot.ReconnectSuspended || slot.Primary is not null || slot.ReconnectTimer is not null)
            {
                return;
            }
            var delay = ReconnectBackoff.Delay(slot.Failures, _options.ReconnectInitialDelay, _options.ReconnectMaxDelay, _jitter);
            slot.NextReconnect = _time.GetUtcNow() + delay;
            var peer = slot.Peer;
            slot.ReconnectTimer = _time.CreateTimer(static s =>
            {
                var (self, p) = ((NodeConnections, PeerId))s!;
                _ = self.RedialAsync(p);
            }, (this, peer), delay, Timeout.InfiniteTimeSpan);
            NodeLog.ReconnectScheduled(_logger, peer, delay.TotalSeconds, slot.Failures);
        }
    }

    private async Task RedialAsync(PeerId peer)
    {
        PeerSlot slot;
        lock (_lock)
        {
            if (_stopped || !_peers.TryGetValue(peer, out slot!))
            {
                return;
            }
            slot.ReconnectTimer?.Dispose();
            slot.ReconnectTimer = null;
            slot.NextReconnect = null;
            if (!slot.KeepConnected || slot.ReconnectSuspended || slot.Primary is not null)
            {
                return;
            }
        }
        try
        {
            await ConnectAsync(peer, _stopping.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is PeerException or OperationCanceledException or ObjectDisposedException or PeerStoreException)
        {
            lock (_lock)
            {
                slot.Failures++;
            }
            NodeLog.ReconnectFailed(_logger, peer, e.Message);
            ScheduleReconnect(slot);
        }
    }

    private void Housekeep()
    {
        var now = _time.GetUtcNow();
        var close = new List<(ManagedConnection Connection, string Reason)>();
        lock (_lock)
        {
            if (_stopped)
            {
                return;
            }
            foreach (var slot in _peers.Values)
            {
                foreach (var c in slot.Connections)
                {
                    if (c.Closed || c.CloseNote is not null)
                    {
                        continue;
                    }
                    if (c.DrainingSince is { } since)
                    {
                        if (now - since >= _options.DuplicateDrainTimeout || (c.RunningHandlers == 0 && c.Connection.IdleTime >= DrainIdleGrace && now - since >= DrainIdleGrace))
                        {
                            close.Add((c, "duplicate connection closed (another connection to the peer is in use)"));
                        }
                    }
                    else if (_options.IdleTimeout > TimeSpan.Zero && !slot.KeepConnected && c.RunningHandlers == 0 && c.Connection.IdleTime >= _options.IdleTimeout)
                    {
                        close.Add((c, $"idle for {_options.IdleTimeout}"));
                    }
                }
            }
            foreach (var (c, reason) in close)
            {
                c.CloseNote = reason;
            }
        }
        foreach (var (c, reason) in close)
        {
            _ = CloseAsync(c, reason, CancellationToken.None);
        }
    }

    private async Task ServeAsync(ManagedConnection managed)
    {
        var connection = managed.Connection;
        try
        {
            while (true)
            {
                var stream = await connection.AcceptStreamAsync(managed.Serving).ConfigureAwait(false);
                if (_stopped || !_node.Handlers.TryGetValue(stream.Protocol, out var handler))
                {
                    NodeLog.StreamRefused(_logger, stream.Protocol, connection.RemotePeer);
                    stream.Abort();
                    await stream.DisposeAsync().ConfigureAwait(false);
                    continue;
                }
                _ = RunHandlerAsync(managed, stream, handler);
            }
        }
        catch (Exception e) when (e is PeerException or OperationCanceledException or ObjectDisposedException)
        {
            // The connection is over; OnClosed does the bookkeeping.
        }
    }

    private async Task RunHandlerAsync(ManagedConnection managed, PeerStream stream, PeerStreamHandler handler)
    {
        managed.HandlerStarted();
        lock (_handlersLock)
        {
            _runningHandlers++;
        }
        _node.Metrics.StreamOpened(stream.Protocol);
        try
        {
            await Task.Yield();
            await handler(managed.Connection, stream, managed.Serving).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // One failing handler must not take the node down: the stream is reset and the node goes on.
            NodeLog.HandlerFailed(_logger, stream.Protocol, managed.Peer, e);
            stream.Abort();
        }
        finally
        {
            try
            {
                await stream.DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException)
            {
            }
            _node.Metrics.StreamClosed(stream.Protocol);
            managed.HandlerEnded();
            TaskCompletionSource? idle = null;
            lock (_handlersLock)
            {
                if (--_runningHandlers == 0)
                {
                    idle = _handlersIdle;
                    _handlersIdle = null;
                }
            }
            idle?.TrySetResult();
        }
    }

    /// <summary>
    /// Graceful stop: no new dials, connections or streams; running handlers get until <paramref name="drain"/>
    /// is cancelled to finish; then every connection closes (yamux GoAway) and handlers are cancelled.
    /// </summary>
    internal async Task StopAsync(CancellationToken drain)
    {
        List<ManagedConnection> all;
        Task handlersIdle;
        lock (_lock)
        {
            if (_stopped)
            {
                return;
            }
            _stopped = true;
            foreach (var slot in _peers.Values)
            {
                slot.CancelReconnect();
            }
            all = [.. _peers.Values.SelectMany(s => s.Connections)];
        }
        if (_housekeeping is not null)
        {
            await _housekeeping.DisposeAsync().ConfigureAwait(false);
        }
        await _stopping.CancelAsync().ConfigureAwait(false);
        lock (_handlersLock)
        {
            handlersIdle = _runningHandlers == 0 ? Task.CompletedTask : (_handlersIdle ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
        }
        await handlersIdle.WaitAsync(drain).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        foreach (var c in all)
        {
            c.StopServing();
        }
        await Task.WhenAll(all.Select(c => CloseAsync(c, "the node stopped", CancellationToken.None))).ConfigureAwait(false);
    }
}
