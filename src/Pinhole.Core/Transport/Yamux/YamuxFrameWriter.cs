using System.Buffers;
using System.IO.Pipelines;

namespace Pinhole.Transport.Yamux;

/// <summary>
/// The single write path of a session. Frames are copied under a lock into a pipe of 32 KiB segments that
/// are filled completely: a frame may straddle two segments, so the byte stream is cut at segment
/// boundaries rather than frame boundaries. One loop drains the pipe to the transport one segment per
/// write, so a stream of frames becomes full TLS records (TLS carries at most 16 KiB per record and
/// <see cref="System.Net.Security.SslStream"/> on Linux encrypts at most 32 KiB per call, one send each),
/// a frame's header rides in the same record as its payload, and small frames coalesce.
/// </summary>
/// <remarks>
/// Cutting at frame boundaries instead turned every 64 KiB write into 65,548 bytes, i.e. four full records
/// and a 12-byte one, three sends instead of two: that alone cost 4-14 % more CPU per byte on a bare
/// SslStream (docs/performance.md, "record alignment").
/// The pipe itself never blocks its writer: the read loop must always be able to send window updates,
/// ping replies and resets, or two peers with full buffers could deadlock each other. Back-pressure is
/// applied to stream data only, through <see cref="WaitForSpaceAsync"/>.
/// </remarks>
internal sealed class YamuxFrameWriter
{
    /// <summary>Pipe segment size: two full TLS records, the most SslStream encrypts per send.</summary>
    internal const int SegmentSize = 32 * 1024;

    private readonly Pipe _pipe;
    private readonly Stream _transport;
    private readonly long _maxBuffered;
    private readonly Lock _lock = new();
    private long _buffered;
    private long _written;
    private bool _completed;
    private bool _aborted;
    private TaskCompletionSource? _spaceWaiter;

    /// <summary>Creates a writer for <paramref name="transport"/>; call <see cref="RunAsync"/> to start draining.</summary>
    public YamuxFrameWriter(Stream transport, int maxBuffered)
    {
        _transport = transport;
        _maxBuffered = maxBuffered;
        _pipe = new Pipe(new PipeOptions(
            pauseWriterThreshold: 0,
            resumeWriterThreshold: 0,
            minimumSegmentSize: SegmentSize,
            useSynchronizationContext: false));
    }

    /// <summary>Bytes written to the transport so far.</summary>
    public long Written => Volatile.Read(ref _written);

    /// <summary>Bytes queued and not yet written to the transport.</summary>
    public long Buffered => Volatile.Read(ref _buffered);

    /// <summary>Queues a frame without payload. False once the writer is closed.</summary>
    public bool TryWrite(YamuxFrameType type, YamuxFlags flags, uint streamId, uint length)
    {
        lock (_lock)
        {
            if (_completed)
            {
                return false;
            }
            var writer = _pipe.Writer;
            Span<byte> header = stackalloc byte[YamuxFrameHeader.Size];
            new YamuxFrameHeader(type, flags, streamId, length).Write(header);
            Append(writer, header);
            _buffered += YamuxFrameHeader.Size;
            Flush(writer);
            return true;
        }
    }

    /// <summary>Queues a data frame with its payload, unless the queue is at its limit or the writer is closed.
    /// The limit is checked before adding, so the queue holds at most the limit plus one frame of data.
    /// <paramref name="ignoreLimit"/> queues a small frame regardless of the limit, as control frames are.</summary>
    public YamuxWriteStatus TryWriteData(uint streamId, YamuxFlags flags, ReadOnlySpan<byte> payload, bool ignoreLimit = false)
    {
        lock (_lock)
        {
            if (_completed)
            {
                return YamuxWriteStatus.Closed;
            }
            if (_buffered >= _maxBuffered && !ignoreLimit)
            {
                return YamuxWriteStatus.Full;
            }
            var writer = _pipe.Writer;
            Span<byte> header = stackalloc byte[YamuxFrameHeader.Size];
            new YamuxFrameHeader(YamuxFrameType.Data, flags, streamId, (uint)payload.Length).Write(header);
            Append(writer, header);
            Append(writer, payload);
            _buffered += YamuxFrameHeader.Size + payload.Length;
            Flush(writer);
            return YamuxWriteStatus.Written;
        }
    }

    /// <summary>Waits until the queue is below its limit, so a stream may send more data. Returns at once
    /// when the writer is closed (the caller then finds the session closed).</summary>
    public ValueTask WaitForSpaceAsync(CancellationToken cancellationToken)
    {
        Task wait;
        lock (_lock)
        {
            if (_buffered < _maxBuffered || _completed)
            {
                return default;
            }
            _spaceWaiter ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            wait = _spaceWaiter.Task;
        }
        return new ValueTask(wait.WaitAsync(cancellationToken));
    }

    /// <summary>Stops accepting frames; the loop sends what is queued and then ends.</summary>
    public void Complete()
    {
        TaskCompletionSource? waiter;
        lock (_lock)
        {
            if (_completed)
            {
                return;
            }
            _completed = true;
            _pipe.Writer.Complete();
            waiter = _spaceWaiter;
            _spaceWaiter = null;
        }
        waiter?.TrySetResult();
    }

    /// <summary>Stops at once, dropping what is queued.</summary>
    public void Abort()
    {
        lock (_lock)
        {
            _aborted = true;
        }
        Complete();
        _pipe.Reader.CancelPendingRead();
    }

    /// <summary>Drains queued frames to the transport until completed or aborted. Throws the transport's error.</summary>
    public async Task RunAsync()
    {
        var reader = _pipe.Reader;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync().ConfigureAwait(false);
                if (Volatile.Read(ref _aborted))
                {
                    return;
                }
                var buffer = result.Buffer;
                if (!buffer.IsEmpty)
                {
                    await WriteBufferAsync(buffer).ConfigureAwait(false);
                    await _transport.FlushAsync().ConfigureAwait(false);
                }
                var written = buffer.Length;
                // Only this loop writes the counter; readers see whole values (64-bit).
                Volatile.Write(ref _written, _written + written);
                reader.AdvanceTo(buffer.End);
                Release(written);
                if (result.IsCompleted)
                {
                    return;
                }
            }
        }
        finally
        {
            await reader.CompleteAsync().ConfigureAwait(false);
        }
    }

    private async ValueTask WriteBufferAsync(ReadOnlySequence<byte> buffer)
    {
        // Every segment but the first and the last is exactly SegmentSize bytes: whole records, one send each.
        foreach (var segment in buffer)
        {
            await _transport.WriteAsync(segment).ConfigureAwait(false);
        }
    }

    /// <summary>Copies <paramref name="source"/> into the pipe, filling the current segment before starting the next.</summary>
    private static void Append(PipeWriter writer, ReadOnlySpan<byte> source)
    {
        while (!source.IsEmpty)
        {
            var destination = writer.GetSpan();
            var count = Math.Min(destination.Length, source.Length);
            source[..count].CopyTo(destination);
            writer.Advance(count);
            source = source[count..];
        }
    }

    private void Release(long written)
    {
        TaskCompletionSource? waiter = null;
        lock (_lock)
        {
            _buffered -= written;
            // Wake writers at half the limit so they do not ping-pong at the threshold.
            if (_spaceWaiter is not null && _buffered <= _maxBuffered / 2)
            {
                waiter = _spaceWaiter;
                _spaceWaiter = null;
            }
        }
        waiter?.TrySetResult();
    }

    /// <summary>Flushes a pipe that has no pause threshold: that completes synchronously and only wakes its reader.</summary>
    internal static void Flush(PipeWriter writer)
    {
        var flush = writer.FlushAsync();
        if (!flush.IsCompleted)
        {
            throw new InvalidOperationException("A yamux pipe unexpectedly applied back-pressure.");
        }
        flush.GetAwaiter().GetResult();
    }
}
