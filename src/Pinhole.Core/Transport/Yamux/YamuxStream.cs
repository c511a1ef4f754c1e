using System.Buffers;

namespace Pinhole.Transport.Yamux;

/// <summary>
/// One yamux stream. Received data goes straight into a pending read, else into a buffer bounded by the receive window;
/// sent data goes through the session's single writer, bounded by the peer's window.
/// </summary>
/// <remarks>
/// Reads and writes may run concurrently with each other, but not two reads (or two writes) at once,
/// as for any <see cref="Stream"/>. All other members are thread-safe.
/// </remarks>
internal sealed partial class YamuxStream : PeerStream
{
    private readonly YamuxSession _session;
    private readonly uint _id;
    private readonly Lock _lock = new();
    private readonly TaskCompletionSource _readsClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _writesClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private string _protocol = "";

    // Receive flow control: the window we advertise, what the peer may still send, what the app consumed
    // since our last window update, and when that update went out (for auto-tuning).
    private int _receiveWindow;
    private long _receiveCredit;
    private long _receiveBuffered;
    private int _consumedSinceUpdate;
    private long _epochStart;

    // Send flow control: what the peer lets us send, and a writer waiting for more.
    private long _sendWindow = YamuxSessionOptions.SpecInitialWindow;
    private TaskCompletionSource? _sendWaiter;

    private bool _localFin;      // we sent FIN
    private bool _remoteFin;     // the peer sent FIN
    private bool _reset;         // RST sent or received, or the close timeout expired
    private byte[]? _deferred;   // the listener's multistream answer, sent with the first write or the FIN (TryDeferAnswer)
    private bool _readerDone;    // the app disposed the stream: incoming data is discarded
    private bool _disposed;
    private bool _removed;
    private PeerException? _error; // why reads and writes fail
    private ITimer? _closeTimer;

    /// <summary>Creates a stream; the session registers it and sends SYN or ACK.</summary>
    public YamuxStream(YamuxSession session, uint id, bool isOutbound)
    {
        _session = session;
        _id = id;
        IsOutbound = isOutbound;
        _receiveWindow = session.Options.InitialStreamWindow;
        _receiveCredit = _receiveWindow;
        session.AddReceiveWindow(_receiveWindow);
        _epochStart = session.TimeProvider.GetTimestamp();
    }

    /// <inheritdoc/>
    public override long Id => _id;

    /// <summary>The yamux stream id.</summary>
    public uint StreamId => _id;

    /// <summary>True if we opened the stream.</summary>
    public bool IsOutbound { get; }

    /// <summary>Session bookkeeping: an outbound stream the peer has not acknowledged yet (guarded by the session's lock).</summary>
    internal bool AwaitingAck { get; set; }

    /// <inheritdoc/>
    public override string Protocol => Volatile.Read(ref _protocol);

    /// <summary>Records the protocol negotiated on this stream (multistream-select runs after open).</summary>
    internal void SetProtocol(string protocol)
    {
        ArgumentNullException.ThrowIfNull(protocol);
        Volatile.Write(ref _protocol, protocol);
    }

    /// <inheritdoc/>
    public override Task ReadsClosed => _readsClosed.Task;

    /// <inheritdoc/>
    public override Task WritesClosed => _writesClosed.Task;

    /// <summary>Our current receive window (grows with auto-tuning).</summary>
    internal int ReceiveWindow
    {
        get { lock (_lock) { return _receiveWindow; } }
    }

    /// <summary>Bytes received and not yet read by the application.</summary>
    internal long ReceiveBuffered
    {
        get { lock (_lock) { return _receiveBuffered; } }
    }

    /// <summary>Bytes the peer currently lets us send.</summary>
    internal long SendWindow
    {
        get { lock (_lock) { return _sendWindow; } }
    }

    /// <inheritdoc/>
    public override bool CanRead => !_disposed;

    /// <inheritdoc/>
    public override bool CanWrite => !_disposed;

    /// <inheritdoc/>
    public override void Flush()
    {
        // Writes are queued on the session's writer, which sends them as soon as it can.
    }

    /// <inheritdoc/>
    public override Task FlushAsync(CancellationToken cancellationToken) =>
        cancellationToken.IsCancellationRequested ? Task.FromCanceled(cancellationToken) : Task.CompletedTask;

    /// <inheritdoc/>
    public override void CompleteWrites()
    {
        bool remove;
        lock (_lock)
        {
            if (_localFin || _error is not null)
            {
                return;
            }
            _localFin = true;
            if (_deferred is not null)
            {
                FlushDeferredLocked();
            }
            _session.Writer.TryWrite(YamuxFrameType.WindowUpdate, YamuxFlags.Fin, _id, 0);
            remove = _remoteFin;
        }
        _writesClosed.TrySetResult();
        if (remove)
        {
            Remove();
        }
    }

    /// <inheritdoc/>
    public override void Abort()
    {
        lock (_lock)
        {
            if (_reset || _error is not null || (_localFin && _remoteFin))
            {
                return;
            }
            _reset = true;
            if (_deferred is not null)
            {
                // The protocol was accepted before the reset: say so, as an answer sent at once would have.
                FlushDeferredLocked();
            }
            _session.Writer.TryWrite(YamuxFrameType.WindowUpdate, YamuxFlags.Rst, _id, 0);
            FailLocked(new PeerException(PeerError.StreamAborted, $"yamux stream {_id} was aborted locally."));
        }
        YamuxLog.StreamReset(_session.Logger, _id, "local");
        Remove();
    }

    /// <inheritdoc/>
    public override async ValueTask DisposeAsync()
    {
        Dispose(true);
        await base.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Half-closes our side if still open; if the peer has not finished, incoming data is discarded
    /// until its FIN, or the stream is reset after <see cref="YamuxSessionOptions.StreamCloseTimeout"/>.</summary>
    protected override void Dispose(bool disposing)
    {
        if (!disposing)
        {
            base.Dispose(disposing);
            return;
        }
        var discarded = 0L;
        bool remove = false;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            if (_reset || _error is not null)
            {
                _readerDone = true;
                remove = true;
            }
            else
            {
                if (!_localFin)
                {
                    _localFin = true;
                    if (_deferred is not null)
                    {
                        FlushDeferredLocked();
                    }
                    _session.Writer.TryWrite(YamuxFrameType.WindowUpdate, YamuxFlags.Fin, _id, 0);
                    _writesClosed.TrySetResult();
                }
                _readerDone = true;
                discarded = _receiveBuffered;
                _receiveBuffered = 0;
                if (_remoteFin)
                {
                    remove = true;
                }
                else
                {
                    _closeTimer = _session.TimeProvider.CreateTimer(
                        static state => ((YamuxStream)state!).OnCloseTimeout(), this, _session.Options.StreamCloseTimeout, Timeout.InfiniteTimeSpan);
                }
            }
            // The app will not read again: release buffered segments. A racing read is a caller bug.
            ReleaseSegmentsLocked();
            if (_readPending)
            {
                FailPendingReadLocked(new ObjectDisposedException(GetType().FullName));
            }
        }
        if (discarded > 0)
        {
            // Credit the discarded bytes so a peer blocked on the window can reach its FIN.
            OnConsumed((int)Math.Min(discarded, int.MaxValue));
        }
        if (remove)
        {
            Remove();
        }
        base.Dispose(disposing);
    }

    // ---- called by the session's read loop ----

    /// <summary>Accounts for an incoming data frame of <paramref name="length"/> bytes; false if it exceeds the window.</summary>
    internal bool TryReserve(uint length, out long credit)
    {
        lock (_lock)
        {
            credit = _receiveCredit;
            if (length > _receiveCredit)
            {
                return false;
            }
            _receiveCredit -= length;
            return true;
        }
    }

    /// <summary>Delivers (part of) a data frame's payload.</summary>
    internal void OnData(in ReadOnlySequence<byte> payload)
    {
        lock (_lock)
        {
            if (_reset || _remoteFin || _error is not null)
            {
                return;
            }
            if (_readerDone)
            {
                OnConsumedLocked((int)payload.Length);
                return;
            }
            var delivered = DeliverLocked(payload);
            if (delivered > 0)
            {
                OnConsumedLocked(delivered);
            }
        }
    }

    /// <summary>The peer granted <paramref name="delta"/> more bytes.</summary>
    internal void OnWindowUpdate(uint delta)
    {
        if (delta == 0)
        {
            return;
        }
        TaskCompletionSource? waiter;
        lock (_lock)
        {
            _sendWindow = Math.Min(_sendWindow + delta, uint.MaxValue);
            waiter = _sendWaiter;
            _sendWaiter = null;
        }
        waiter?.TrySetResult();
    }

    /// <summary>The peer half-closed: reads return 0 after the buffered data.</summary>
    internal void OnRemoteFin()
    {
        bool remove;
        lock (_lock)
        {
            if (_remoteFin || _reset || _error is not null)
            {
                return;
            }
            _remoteFin = true;
            if (_readPending)
            {
                CompletePendingReadLocked(0); // nothing is buffered while a read is pending
            }
            _closeTimer?.Dispose();
            remove = _localFin;
        }
        _readsClosed.TrySetResult();
        if (remove)
        {
            Remove();
        }
    }

    /// <summary>The peer reset the stream.</summary>
    internal void OnRemoteReset()
    {
        lock (_lock)
        {
            if (_reset || _error is not null)
            {
                return;
            }
            _reset = true;
            FailLocked(new PeerException(PeerError.StreamAborted, $"yamux stream {_id} was reset by the peer."));
        }
        YamuxLog.StreamReset(_session.Logger, _id, "remote");
        Remove();
    }

    /// <summary>The session ended: pending and later operations fail with <paramref name="error"/>,
    /// except reading data that was fully received before.</summary>
    internal void OnSessionClosed(PeerException error)
    {
        lock (_lock)
        {
            if (_reset || _error is not null)
            {
                return;
            }
            FailLocked(error);
        }
    }

    /// <summary>Sends the ACK for an inbound stream as the application takes it; false if it was reset meanwhile.</summary>
    internal bool TryAcknowledge()
    {
        lock (_lock)
        {
            if (_reset || _error is not null)
            {
                return false;
            }
            var delta = (uint)(_receiveWindow - YamuxSessionOptions.SpecInitialWindow);
            return _session.Writer.TryWrite(YamuxFrameType.WindowUpdate, YamuxFlags.Ack, _id, delta);
        }
    }

    private void OnCloseTimeout()
    {
        lock (_lock)
        {
            if (_reset || _remoteFin || _error is not null)
            {
                return;
            }
            _reset = true;
            _session.Writer.TryWrite(YamuxFrameType.WindowUpdate, YamuxFlags.Rst, _id, 0);
            FailLocked(new PeerException(PeerError.Timeout, $"yamux stream {_id}: the peer did not close within {_session.Options.StreamCloseTimeout}."));
        }
        Remove();
    }

    private void FailLocked(PeerException error)
    {
        _error = error;
        if (!_remoteFin)
        {
            if (_readPending)
            {
                FailPendingReadLocked(CopyError());
            }
            _readsClosed.TrySetException(error);
            _ = _readsClosed.Task.Exception; // observed: callers need not await it
        }
        if (!_localFin)
        {
            _writesClosed.TrySetException(error);
            _ = _writesClosed.Task.Exception;
        }
        _closeTimer?.Dispose();
        var waiter = _sendWaiter;
        _sendWaiter = null;
        waiter?.TrySetResult();
    }

    private void Remove()
    {
        lock (_lock)
        {
            if (_removed)
            {
                return;
            }
            _removed = true;
        }
        _session.RemoveStream(this);
    }
}
