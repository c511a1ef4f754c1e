namespace Pinhole.Transport.Yamux;

/// <summary>Pings, keepalive and the idle timeout.</summary>
internal sealed partial class YamuxSession
{
    private readonly Dictionary<uint, PendingPing> _pings = [];
    private uint _nextPingId;
    private long _lastRttTicks = -1;
    private int _keepAliveInFlight;

    /// <summary>Sends a ping and returns the round-trip time. A ping unanswered within
    /// <see cref="YamuxSessionOptions.PingTimeout"/> means the connection is dead: the session closes and
    /// this throws <see cref="PeerError.Timeout"/>.</summary>
    public async Task<TimeSpan> PingAsync(CancellationToken cancellationToken)
    {
        uint id;
        var completion = new TaskCompletionSource<TimeSpan>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
        {
            ThrowIfClosed();
            id = ++_nextPingId;
            _pings[id] = new PendingPing(completion, TimeProvider.GetTimestamp());
        }
        try
        {
            if (!Writer.TryWrite(YamuxFrameType.Ping, YamuxFlags.Syn, 0, id))
            {
                throw CreateClosedException();
            }
            return await completion.Task.WaitAsync(Options.PingTimeout, TimeProvider, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException) when (completion.Task.IsCompletedSuccessfully)
        {
            return completion.Task.Result; // the answer and the timer raced
        }
        catch (TimeoutException ex)
        {
            YamuxLog.PingTimedOut(Logger, Options.PingTimeout);
            var error = new PeerException(PeerError.Timeout, $"The yamux peer did not answer a ping within {Options.PingTimeout}.", ex);
            Shutdown(new PeerException(PeerError.ConnectionClosed, error.Message, error), error, null);
            throw error;
        }
        finally
        {
            lock (_lock)
            {
                _pings.Remove(id);
            }
        }
    }

    private void HandlePing(YamuxFrameHeader header)
    {
        if ((header.Flags & YamuxFlags.Syn) != 0)
        {
            SendPeerInducedControl(YamuxFrameType.Ping, YamuxFlags.Ack, 0, header.Length);
            return;
        }
        if ((header.Flags & YamuxFlags.Ack) == 0)
        {
            return;
        }
        PendingPing ping;
        lock (_lock)
        {
            if (!_pings.Remove(header.Length, out ping))
            {
                return; // late or unsolicited answer
            }
        }
        var rtt = TimeProvider.GetElapsedTime(ping.Started);
        Volatile.Write(ref _lastRttTicks, rtt.Ticks);
        ping.Completion.TrySetResult(rtt);
    }

    private async Task MeasureRttAsync()
    {
        try
        {
            await PingAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (PeerException)
        {
            // The session is closing or closed; nothing to measure.
        }
    }

    private void OnKeepAliveTimer()
    {
        if (Interlocked.Exchange(ref _keepAliveInFlight, 1) == 0)
        {
            _ = KeepAliveAsync();
        }
    }

    private async Task KeepAliveAsync()
    {
        try
        {
            await PingAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (PeerException)
        {
            // A timeout already closed the session; a closed session needs no keepalive.
        }
        finally
        {
            Volatile.Write(ref _keepAliveInFlight, 0);
        }
    }

    private void OnIdleTimer()
    {
        int streams;
        lock (_lock)
        {
            if (_closeError is not null)
            {
                return;
            }
            streams = _streams.Count;
        }
        var idleFor = TimeProvider.GetElapsedTime(Volatile.Read(ref _lastActivity));
        if (streams == 0 && idleFor >= Options.IdleTimeout)
        {
            YamuxLog.IdleTimeout(Logger, Options.IdleTimeout);
            var reason = new PeerException(PeerError.IdleTimeout, $"The yamux session was idle for {Options.IdleTimeout}.");
            Shutdown(new PeerException(PeerError.ConnectionClosed, reason.Message, reason), null, YamuxGoAwayCode.Normal);
            return;
        }
        var next = streams == 0 ? Options.IdleTimeout - idleFor : Options.IdleTimeout;
        lock (_lock)
        {
            _idleTimer?.Change(next > TimeSpan.Zero ? next : TimeSpan.FromMilliseconds(1), Timeout.InfiniteTimeSpan);
        }
    }

    private readonly record struct PendingPing(TaskCompletionSource<TimeSpan> Completion, long Started);
}
