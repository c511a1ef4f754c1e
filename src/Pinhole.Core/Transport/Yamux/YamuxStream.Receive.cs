using System.Buffers;
using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;

namespace Pinhole.Transport.Yamux;

/// <summary>
/// The receive side of a yamux stream. When the application has a read pending, the read loop copies
/// the payload straight into the application's buffer (one copy after decryption); only what does not
/// fit, or arrives while no read is pending, is kept in pooled segments owned by the stream. The
/// segments are bounded by the receive window and released as soon as they are read.
/// </summary>
internal sealed partial class YamuxStream : IValueTaskSource<int>
{
    private const int SegmentSize = 16 * 1024;

    // Buffered data (guarded by _lock): a queue of rented segments, read from _readOffset in the head
    // and written at _writeOffset in the tail; segments between are full.
    private readonly Queue<byte[]> _segments = new();
    private byte[]? _tail;
    private int _readOffset;
    private int _writeOffset;

    // The application's pending read (guarded by _lock). Reads are sequential, so one source is reused.
    private ManualResetValueTaskSourceCore<int> _readSource = new() { RunContinuationsAsynchronously = true };
    private Memory<byte> _pendingBuffer;
    private bool _readPending;

    int IValueTaskSource<int>.GetResult(short token) => _readSource.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<int>.GetStatus(short token) => _readSource.GetStatus(token);

    void IValueTaskSource<int>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _readSource.OnCompleted(continuation, state, token, flags);

    /// <inheritdoc/>
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_disposed)
        {
            lock (_lock)
            {
                return ValueTask.FromException<int>(_error is not null ? CopyError() : new ObjectDisposedException(GetType().FullName));
            }
        }
        if (Volatile.Read(ref _reset))
        {
            return ValueTask.FromException<int>(CopyError());
        }
        if (buffer.IsEmpty)
        {
            return new ValueTask<int>(0);
        }
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<int>(cancellationToken);
        }
        short version;
        lock (_lock)
        {
            if (_receiveBuffered > 0)
            {
                var count = CopyOutLocked(buffer.Span);
                _receiveBuffered -= count;
                OnConsumedLocked(count);
                return new ValueTask<int>(count);
            }
            if (_remoteFin)
            {
                return new ValueTask<int>(0);
            }
            if (_error is not null)
            {
                return ValueTask.FromException<int>(CopyError());
            }
            if (_readerDone)
            {
                return ValueTask.FromException<int>(new ObjectDisposedException(GetType().FullName));
            }
            if (_readPending)
            {
                return ValueTask.FromException<int>(new InvalidOperationException($"A read is already pending on yamux stream {_id}."));
            }
            _readSource.Reset();
            version = _readSource.Version;
            _pendingBuffer = buffer;
            _readPending = true;
        }
        return cancellationToken.CanBeCanceled
            ? WaitForReadAsync(version, cancellationToken)
            : new ValueTask<int>(this, version);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> WaitForReadAsync(short version, CancellationToken cancellationToken)
    {
        // Disposing the registration waits for a running callback, so it can never touch a later read.
        using var registration = cancellationToken.UnsafeRegister(
            static (state, token) => ((YamuxStream)state!).CancelPendingRead(token), this);
        return await new ValueTask<int>(this, version).ConfigureAwait(false);
    }

    private void CancelPendingRead(CancellationToken token)
    {
        lock (_lock)
        {
            if (_readPending)
            {
                FailPendingReadLocked(new OperationCanceledException(token));
            }
        }
    }

    /// <summary>Delivers received bytes: into the pending read first, the rest into the buffer.
    /// Returns the bytes handed to the application (to be credited back to the peer).</summary>
    private int DeliverLocked(ReadOnlySequence<byte> data)
    {
        var delivered = 0;
        if (_readPending)
        {
            delivered = (int)Math.Min(data.Length, _pendingBuffer.Length);
            data.Slice(0, delivered).CopyTo(_pendingBuffer.Span);
            data = data.Slice(delivered);
            CompletePendingReadLocked(delivered);
        }
        if (!data.IsEmpty)
        {
            foreach (var segment in data)
            {
                AppendLocked(segment.Span);
            }
            _receiveBuffered += data.Length;
        }
        return delivered;
    }

    private void CompletePendingReadLocked(int count)
    {
        _readPending = false;
        _pendingBuffer = default;
        _readSource.SetResult(count); // continuations run asynchronously, never on the read loop
    }

    private void FailPendingReadLocked(Exception error)
    {
        _readPending = false;
        _pendingBuffer = default;
        _readSource.SetException(error);
    }

    private void AppendLocked(ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
        {
            if (_tail is null || _writeOffset == _tail.Length)
            {
                _tail = ArrayPool<byte>.Shared.Rent(SegmentSize);
                _segments.Enqueue(_tail);
                _writeOffset = 0;
            }
            var count = Math.Min(data.Length, _tail.Length - _writeOffset);
            data[..count].CopyTo(_tail.AsSpan(_writeOffset));
            _writeOffset += count;
            data = data[count..];
        }
    }

    private int CopyOutLocked(Span<byte> destination)
    {
        var copied = 0;
        while (copied < destination.Length && _segments.TryPeek(out var head))
        {
            var isTail = ReferenceEquals(head, _tail);
            var end = isTail ? _writeOffset : head.Length;
            var count = Math.Min(end - _readOffset, destination.Length - copied);
            head.AsSpan(_readOffset, count).CopyTo(destination[copied..]);
            copied += count;
            _readOffset += count;
            if (_readOffset == end)
            {
                // Emptied: give the segment back at once, so an idle stream holds no buffer.
                _segments.Dequeue();
                ArrayPool<byte>.Shared.Return(head);
                _readOffset = 0;
                if (isTail)
                {
                    _tail = null;
                    _writeOffset = 0;
                }
            }
        }
        return copied;
    }

    private void ReleaseSegmentsLocked()
    {
        while (_segments.TryDequeue(out var segment))
        {
            ArrayPool<byte>.Shared.Return(segment);
        }
        _tail = null;
        _readOffset = 0;
        _writeOffset = 0;
    }
}
