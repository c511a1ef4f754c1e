using System.Buffers;
using System.Runtime.CompilerServices;

namespace Pinhole.Transport.Yamux;

/// <summary>Reading, writing and flow control of a yamux stream.</summary>
internal sealed partial class YamuxStream
{
    /// <inheritdoc/>
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <inheritdoc/>
    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    /// <inheritdoc/>
    public override int Read(Span<byte> buffer)
    {
        var rented = ArrayPool<byte>.Shared.Rent(buffer.Length);
        try
        {
            var count = ReadAsync(rented.AsMemory(0, buffer.Length)).AsTask().GetAwaiter().GetResult();
            rented.AsSpan(0, count).CopyTo(buffer);
            return count;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <inheritdoc/>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        var maxFrame = _session.Options.MaxDataFrameSize;
        while (true)
        {
            Task? wait = null;
            lock (_lock)
            {
                ThrowIfCannotWriteLocked();
                if (buffer.IsEmpty)
                {
                    return;
                }
                if (_deferred is not null && !FlushDeferredLocked())
                {
                    throw _session.CreateClosedException();
                }
                if (_sendWindow == 0)
                {
                    _sendWaiter ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    wait = _sendWaiter.Task;
                }
                else
                {
                    var count = (int)Math.Min(Math.Min(buffer.Length, _sendWindow), maxFrame);
                    var status = _session.Writer.TryWriteData(_id, YamuxFlags.None, buffer.Span[..count]);
                    if (status == YamuxWriteStatus.Closed)
                    {
                        throw _session.CreateClosedException();
                    }
                    if (status == YamuxWriteStatus.Written)
                    {
                        _sendWindow -= count;
                        buffer = buffer[count..];
                        continue;
                    }
                }
            }
            if (wait is not null)
            {
                await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await _session.Writer.WaitForSpaceAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Holds <paramref name="answer"/> (the listener's multistream header and echo) back until this stream's first
    /// write, its half-close or its dispose, so that it rides in the same frame batch (and TLS record) as the
    /// application's first bytes instead of a record of its own. Only when the dialer has already sent data past
    /// its proposal: such a dialer negotiated optimistically and does not wait for the echo before writing; one
    /// that waits for it gets it at once (false: the caller writes it now).
    /// </summary>
    internal bool TryDeferAnswer(byte[] answer)
    {
        lock (_lock)
        {
            if (_receiveBuffered == 0 || _localFin || _reset || _error is not null || _disposed || _deferred is not null)
            {
                return false;
            }
            _deferred = answer;
            return true;
        }
    }

    /// <summary>Queues the deferred answer ahead of anything else this stream sends (under the lock). It is the
    /// stream's first data, so the peer's initial window (256 KiB by the spec) has room for it. False when the
    /// session's writer is closed.</summary>
    private bool FlushDeferredLocked()
    {
        var answer = _deferred!;
        _deferred = null;
        if (_session.Writer.TryWriteData(_id, YamuxFlags.None, answer, ignoreLimit: true) != YamuxWriteStatus.Written)
        {
            return false;
        }
        _sendWindow -= Math.Min(_sendWindow, answer.Length);
        return true;
    }

    /// <inheritdoc/>
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <inheritdoc/>
    public override void Write(byte[] buffer, int offset, int count) =>
        WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    /// <inheritdoc/>
    public override void Write(ReadOnlySpan<byte> buffer) => Write(buffer.ToArray(), 0, buffer.Length);

    /// <summary>
    /// After dispose: the stream's failure if it had one (the connection was lost, the stream reset) — that is the
    /// reason the caller needs, even when some other owner disposed the stream after the loss — else
    /// <see cref="ObjectDisposedException"/>.
    /// </summary>
    private void ThrowIfDisposed()
    {
        if (!_disposed)
        {
            return;
        }
        lock (_lock)
        {
            if (_error is not null)
            {
                throw CopyError();
            }
        }
        throw new ObjectDisposedException(GetType().FullName);
    }

    private void ThrowIfCannotWriteLocked()
    {
        if (_error is not null)
        {
            throw CopyError();
        }
        if (_localFin)
        {
            throw new InvalidOperationException($"Writes on yamux stream {_id} were completed.");
        }
    }

    private PeerException CopyError()
    {
        var error = _error ?? new PeerException(PeerError.StreamAborted, $"yamux stream {_id} was reset.");
        // A fresh exception per throw: the stored one may be thrown on several threads.
        return new PeerException(error.Error, error.Message, error.InnerException ?? error);
    }

    /// <summary>
    /// The application consumed (or the stream discarded) <paramref name="count"/> bytes. Once half the window is consumed, the
    /// window is re-opened; if that half went by within two round trips, the sender is limited by our
    /// window rather than by the link or our reader, so the window doubles (up to the maximum).
    /// </summary>
    private void OnConsumed(int count)
    {
        lock (_lock)
        {
            OnConsumedLocked(count);
        }
    }

    private void OnConsumedLocked(int count)
    {
        if (_reset || _remoteFin || _error is not null)
        {
            return; // the peer sends no more data: no update needed
        }
        _consumedSinceUpdate += count;
        if (_consumedSinceUpdate < _receiveWindow / 2)
        {
            return;
        }
        var time = _session.TimeProvider;
        var now = time.GetTimestamp();
        var grow = 0;
        var max = _session.Options.MaxStreamWindow;
        if (_receiveWindow < max && !_readerDone && _session.LastRtt is { } rtt
            && time.GetElapsedTime(_epochStart, now) <= rtt * 2)
        {
            var grown = (int)Math.Min(_receiveWindow * 2L, max);
            if (_session.TryReserveReceiveWindow(grown - _receiveWindow))
            {
                grow = grown - _receiveWindow;
                _receiveWindow = grown;
                YamuxLog.WindowGrown(_session.Logger, _id, grown);
            }
        }
        var delta = (uint)(_consumedSinceUpdate + grow);
        _consumedSinceUpdate = 0;
        _receiveCredit += delta;
        _epochStart = now;
        _session.Writer.TryWrite(YamuxFrameType.WindowUpdate, YamuxFlags.None, _id, delta);
    }
}
