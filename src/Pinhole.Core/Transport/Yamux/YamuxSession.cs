using System.IO.Pipelines;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Pinhole.Transport.Yamux;

/// <summary>
/// A yamux session (libp2p/specs yamux/README.md) over a reliable, ordered byte stream: many
/// flow-controlled streams, pings, and GoAway. One read loop parses frames and dispatches them to the
/// streams; one write loop (<see cref="YamuxFrameWriter"/>) sends every frame.
/// </summary>
/// <remarks>
/// Lock order: session lock, then a stream's lock, then the writer's lock; the writer's lock is a leaf
/// and a stream never takes the session lock while holding its own.
/// </remarks>
internal sealed partial class YamuxSession : IAsyncDisposable
{
    private readonly Stream _transport;
    private readonly bool _isClient;
    private readonly PipeReader _input;
    private readonly Lock _lock = new();
    private readonly Dictionary<uint, YamuxStream> _streams = [];
    private readonly Channel<YamuxStream> _acceptQueue = Channel.CreateUnbounded<YamuxStream>(
        new UnboundedChannelOptions { SingleWriter = true, AllowSynchronousContinuations = false });
    private readonly CancellationTokenSource _readCancellation = new();
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private uint _nextStreamId;
    private int _pendingInbound;
    private int _unacknowledgedOutbound;
    private TaskCompletionSource? _ackWaiter;
    private long _lastActivity;
    private long _totalReceiveWindow; // sum of the receive windows of open streams
    private YamuxGoAwayCode? _remoteGoAway;
    private volatile PeerException? _closeError;
    private int _started;
    private ITimer? _keepAliveTimer;
    private ITimer? _idleTimer;
    private Task _readLoop = Task.CompletedTask;
    private Task _writeLoop = Task.CompletedTask;

    /// <summary>Creates a session over <paramref name="transport"/>, which it owns and disposes when it ends.</summary>
    /// <param name="transport">A reliable, ordered duplex stream (TCP+TLS, or an in-memory pipe).</param>
    /// <param name="isClient">True on the dialing side (odd stream ids), false on the listening side (even).</param>
    /// <param name="options">Limits and timers; validated here.</param>
    /// <param name="timeProvider">Time source for every timer.</param>
    /// <param name="logger">Diagnostics.</param>
    public YamuxSession(Stream transport, bool isClient, YamuxSessionOptions options, TimeProvider timeProvider, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);
        options.Validate();
        _transport = transport;
        _isClient = isClient;
        Options = options;
        TimeProvider = timeProvider;
        Logger = logger;
        _nextStreamId = isClient ? 1u : 2u;
        Writer = new YamuxFrameWriter(transport, options.MaxWriteBufferSize);
        // Zero-byte reads: an idle session waits for data without holding the 64 KiB buffer (SslStream supports them).
        _input = PipeReader.Create(transport, new StreamPipeReaderOptions(bufferSize: 64 * 1024, minimumReadSize: 16 * 1024, leaveOpen: true, useZeroByteReads: true));
        _completion.Task.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>The session's options.</summary>
    internal YamuxSessionOptions Options { get; }

    /// <summary>The session's time source.</summary>
    internal TimeProvider TimeProvider { get; }

    /// <summary>The session's logger.</summary>
    internal ILogger Logger { get; }

    /// <summary>The single write path.</summary>
    internal YamuxFrameWriter Writer { get; }

    /// <summary>Completes when the session is over: successfully after a normal close, faulted with a
    /// <see cref="PeerException"/> after an error.</summary>
    public Task Completion => _completion.Task;

    /// <summary>Streams currently open (both directions, including inbound ones not yet accepted).</summary>
    public int OpenStreamCount
    {
        get { lock (_lock) { return _streams.Count; } }
    }

    /// <summary>The last measured round-trip time, or null before the first ping answer.</summary>
    public TimeSpan? LastRtt
    {
        get
        {
            var ticks = Volatile.Read(ref _lastRttTicks);
            return ticks < 0 ? null : TimeSpan.FromTicks(ticks);
        }
    }

    /// <summary>When a stream last opened, closed or carried data (a <see cref="TimeProvider"/> timestamp); keep-alives do not count.</summary>
    internal long LastActivityTimestamp => Volatile.Read(ref _lastActivity);

    /// <summary>The GoAway code the peer sent, or null if it has not sent one.</summary>
    public YamuxGoAwayCode? RemoteGoAway
    {
        get { lock (_lock) { return _remoteGoAway; } }
    }

    /// <summary>Starts the read loop, the write loop, keepalive and the idle timer, and measures the RTT once.</summary>
    public void Start()
    {
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            throw new InvalidOperationException("The yamux session was already started.");
        }
        Volatile.Write(ref _lastActivity, TimeProvider.GetTimestamp());
        _writeLoop = Task.Run(WriteLoopAsync);
        _readLoop = Task.Run(ReadLoopAsync);
        lock (_lock)
        {
            if (_closeError is not null)
            {
                return;
            }
            if (Options.KeepAliveInterval > TimeSpan.Zero)
            {
                _keepAliveTimer = TimeProvider.CreateTimer(static s => ((YamuxSession)s!).OnKeepAliveTimer(), this, Options.KeepAliveInterval, Options.KeepAliveInterval);
            }
            if (Options.IdleTimeout > TimeSpan.Zero)
            {
                _idleTimer = TimeProvider.CreateTimer(static s => ((YamuxSession)s!).OnIdleTimer(), this, Options.IdleTimeout, Timeout.InfiniteTimeSpan);
            }
        }
        YamuxLog.SessionStarted(Logger, _isClient ? "client" : "server");
        // An early RTT sample lets window auto-tuning work from the first stream.
        _ = MeasureRttAsync();
    }

    /// <summary>Opens a stream: sends its SYN and returns at once (data may follow before the ACK).
    /// Waits while <see cref="YamuxSessionOptions.MaxUnacknowledgedOutboundStreams"/> streams await their ACK.</summary>
    /// <exception cref="PeerException"><see cref="PeerError.LimitExceeded"/> at <see cref="YamuxSessionOptions.MaxStreams"/>;
    /// <see cref="PeerError.Refused"/> after the peer's GoAway; <see cref="PeerError.ConnectionClosed"/> once the session ended.</exception>
    public async ValueTask<YamuxStream> OpenStreamAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            Task wait;
            lock (_lock)
            {
                ThrowIfClosed();
                if (_remoteGoAway is { } code)
                {
                    throw new PeerException(PeerError.Refused, $"The peer sent GoAway ({code}); it accepts no new yamux streams.");
                }
                if (_streams.Count >= Options.MaxStreams)
                {
                    throw new PeerException(PeerError.LimitExceeded, $"The yamux session already has {_streams.Count} open streams (MaxStreams = {Options.MaxStreams}).");
                }
                if (_unacknowledgedOutbound < Options.MaxUnacknowledgedOutboundStreams)
                {
                    return OpenLocked();
                }
                _ackWaiter ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                wait = _ackWaiter.Task;
            }
            await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Waits for the next inbound stream and acknowledges it.</summary>
    /// <exception cref="PeerException"><see cref="PeerError.ConnectionClosed"/> once the session ended.</exception>
    public async ValueTask<YamuxStream> AcceptStreamAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            ThrowIfClosed();
            YamuxStream stream;
            try
            {
                stream = await _acceptQueue.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (ChannelClosedException)
            {
                throw CreateClosedException();
            }
            lock (_lock)
            {
                ThrowIfClosed();
                _pendingInbound--;
            }
            // A stream the peer reset while it waited is skipped.
            if (stream.TryAcknowledge())
            {
                return stream;
            }
        }
    }

    /// <summary>Sends GoAway with <paramref name="code"/>, sends what is queued, and closes the transport.
    /// Open streams fail with <see cref="PeerError.ConnectionClosed"/>.</summary>
    public async Task CloseAsync(YamuxGoAwayCode code = YamuxGoAwayCode.Normal, CancellationToken cancellationToken = default)
    {
        Shutdown(new PeerException(PeerError.ConnectionClosed, "The yamux session was closed locally."), null, code);
        await _completion.Task.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        cancellationToken.ThrowIfCancellationRequested();
    }

    /// <summary>Ends the session at once (no GoAway): every pending operation fails with
    /// <see cref="PeerError.ConnectionClosed"/> carrying <paramref name="reason"/>.</summary>
    public void Abort(Exception reason)
    {
        ArgumentNullException.ThrowIfNull(reason);
        var completion = reason as PeerException ?? new PeerException(PeerError.ConnectionClosed, $"The yamux session was aborted: {reason.Message}", reason);
        Shutdown(new PeerException(PeerError.ConnectionClosed, $"The yamux session was aborted: {reason.Message}", reason), completion, null);
    }

    /// <summary>Closes the session normally (see <see cref="CloseAsync"/>).</summary>
    public async ValueTask DisposeAsync()
    {
        await CloseAsync().ConfigureAwait(false);
    }

    /// <summary>A fresh exception describing why the session ended.</summary>
    internal PeerException CreateClosedException()
    {
        var error = _closeError ?? new PeerException(PeerError.ConnectionClosed, "The yamux session is closed.");
        return new PeerException(PeerError.ConnectionClosed, error.Message, error.InnerException ?? error);
    }

    /// <summary>Reserves <paramref name="bytes"/> of the session's receive budget for a window to grow.</summary>
    internal bool TryReserveReceiveWindow(int bytes)
    {
        var total = Volatile.Read(ref _totalReceiveWindow);
        while (total + bytes <= Options.MaxSessionReceiveWindow)
        {
            var seen = Interlocked.CompareExchange(ref _totalReceiveWindow, total + bytes, total);
            if (seen == total)
            {
                return true;
            }
            total = seen;
        }
        return false;
    }

    /// <summary>Counts a new stream's initial window against the budget (always granted: the spec requires it).</summary>
    internal void AddReceiveWindow(int bytes) => Interlocked.Add(ref _totalReceiveWindow, bytes);

    /// <summary>Forgets a stream closed in both directions (or reset).</summary>
    internal void RemoveStream(YamuxStream stream)
    {
        TaskCompletionSource? waiter = null;
        lock (_lock)
        {
            if (!_streams.Remove(stream.StreamId, out var removed) || removed != stream)
            {
                if (removed is not null)
                {
                    _streams[removed.StreamId] = removed;
                }
                return;
            }
            if (stream.AwaitingAck)
            {
                stream.AwaitingAck = false;
                _unacknowledgedOutbound--;
                waiter = _ackWaiter;
                _ackWaiter = null;
            }
        }
        Interlocked.Add(ref _totalReceiveWindow, -stream.ReceiveWindow);
        Volatile.Write(ref _lastActivity, TimeProvider.GetTimestamp());
        waiter?.TrySetResult();
    }

    private YamuxStream OpenLocked()
    {
        if (_nextStreamId > uint.MaxValue - 2)
        {
            throw new PeerException(PeerError.LimitExceeded, "The yamux session has used up its stream ids.");
        }
        var id = _nextStreamId;
        _nextStreamId += 2;
        var stream = new YamuxStream(this, id, isOutbound: true) { AwaitingAck = true };
        _streams.Add(id, stream);
        _unacknowledgedOutbound++;
        Volatile.Write(ref _lastActivity, TimeProvider.GetTimestamp());
        // Sent under the session lock so stream ids go out in increasing order.
        var delta = (uint)(Options.InitialStreamWindow - YamuxSessionOptions.SpecInitialWindow);
        if (!Writer.TryWrite(YamuxFrameType.WindowUpdate, YamuxFlags.Syn, id, delta))
        {
            throw CreateClosedException();
        }
        return stream;
    }

    private void ThrowIfClosed()
    {
        if (_closeError is not null)
        {
            throw CreateClosedException();
        }
    }

    /// <summary>
    /// Ends the session once: fails every pending operation with <paramref name="operationError"/>, sends
    /// GoAway if <paramref name="goAway"/> is set (after what is queued), then closes the transport and
    /// completes <see cref="Completion"/> (faulted with <paramref name="completionError"/> if set).
    /// </summary>
    private void Shutdown(PeerException operationError, Exception? completionError, YamuxGoAwayCode? goAway)
    {
        YamuxStream[] streams;
        TaskCompletionSource? ackWaiter;
        PendingPing[] pings;
        lock (_lock)
        {
            if (_closeError is not null)
            {
                return;
            }
            _closeError = operationError;
            streams = [.. _streams.Values];
            _streams.Clear();
            _unacknowledgedOutbound = 0;
            _pendingInbound = 0;
            ackWaiter = _ackWaiter;
            _ackWaiter = null;
            pings = [.. _pings.Values];
            _pings.Clear();
            _keepAliveTimer?.Dispose();
            _idleTimer?.Dispose();
        }
        YamuxLog.SessionClosed(Logger, operationError.Message, completionError);
        _acceptQueue.Writer.TryComplete();
        foreach (var stream in streams)
        {
            stream.OnSessionClosed(operationError);
        }
        ackWaiter?.TrySetResult();
        foreach (var ping in pings)
        {
            ping.Completion.TrySetException(CreateClosedException());
        }
        if (goAway is { } code)
        {
            Writer.TryWrite(YamuxFrameType.GoAway, YamuxFlags.None, 0, (uint)code);
            Writer.Complete();
        }
        else
        {
            Writer.Abort();
        }
        _ = FinishAsync(goAway is not null, completionError);
    }

    private async Task FinishAsync(bool drain, Exception? completionError)
    {
        if (drain)
        {
            // Let the GoAway (and what was queued before it) reach the peer, within bounds.
            await _writeLoop.WaitAsync(Options.PingTimeout, TimeProvider).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        try
        {
            await _readCancellation.CancelAsync().ConfigureAwait(false);
        }
        catch (ObjectDisposedException)
        {
        }
        try
        {
            await _transport.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            YamuxLog.SessionClosed(Logger, "error while closing the transport", ex);
        }
        await _readLoop.WaitAsync(Options.PingTimeout, TimeProvider).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (completionError is null)
        {
            _completion.TrySetResult();
        }
        else
        {
            _completion.TrySetException(completionError);
        }
    }

    private async Task WriteLoopAsync()
    {
        try
        {
            await Writer.RunAsync().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            OnTransportFailed("writing", ex);
        }
    }
}
