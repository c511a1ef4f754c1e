using System.Buffers;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.IO.Pipelines;
using System.Runtime.InteropServices;
using System.Threading.Channels;
using Pinhole.Messaging.MessagePack;

namespace Pinhole.Messaging.Internal;

/// <summary>
/// Sends messages on a channel stream to a peer.
/// <code>
/// WriteAsync/TryWrite --encode--> scratch --frame--> Pipe (paused at SendBufferSize) --pump--> PeerStream
///                                                                                   &lt;--Stop-- (reverse reader)
/// </code>
/// Writes are serialized by a lock so frames keep their order; attachments found while encoding have their
/// streams opened before the message's frame is queued. The pump copies whatever is queued in big writes,
/// which batches small messages; the pipe's pause threshold and the stream's flow-control window give
/// back-pressure.
/// <para>A message that finds nothing queued, the pump idle and no other message written within the last
/// <see cref="BurstGap"/> skips the pipe: its frame (header and body contiguous in the scratch buffer) is
/// written to the stream at once, on the caller's thread. That saves the copy into the pipe and the hand-off to
/// the pump, which is what request/reply traffic pays per message; the yamux stream's write itself only copies
/// into the session's writer.
/// Messages of a burst still queue, so that the pump sends them as one write (one yamux frame) instead of one
/// frame each.</para>
/// </summary>
internal sealed class RemoteSender<T> : Sender<T>
{
    /// <summary>Messages from this size on are written to the stream directly rather than through the pipe.</summary>
    private const int DirectWriteThreshold = 16 * 1024;

    /// <summary>Room left in front of every encoded message for its frame header, so header and body are one write.</summary>
    private const int HeaderReserve = ChannelFrame.MaxPrefixLength + 1;

    /// <summary>A message written sooner than this after the previous one is part of a burst and goes through the
    /// pipe (a scheduling heuristic on Stopwatch time, not a timer: both paths deliver the same frames in order).</summary>
    private static readonly long BurstGap = Stopwatch.Frequency / 50_000; // 20 µs

    private readonly MessageSession _session;
    private readonly IMessageCodec<T> _codec;
    private readonly Task<PeerStream> _streamTask;
    private readonly Pipe _pipe;
    private readonly SemaphoreSlim _lock = new(1, 1);
    private readonly ArrayBufferWriter<byte> _scratch = new(256);
    private readonly EncodeContext _context;
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stopPump = new();
    private TaskCompletionSource _progress = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _pendingFlush;
    private Exception? _failure;
    private int _completed;
    private long _queued;
    private long _sent;
    private int _flushWaiters;
    private long _lastWrite; // Stopwatch timestamp of the last message written (under the write lock)
    private PeerStream? _stream;

    public RemoteSender(MessageSession session, IMessageCodec<T> codec, Task<PeerStream> stream)
    {
        _session = session;
        _codec = codec;
        _streamTask = stream;
        _context = new EncodeContext(session);
        int pause = session.Options.SendBufferSize;
        _pipe = new Pipe(new PipeOptions(pauseWriterThreshold: pause, resumeWriterThreshold: pause / 2, useSynchronizationContext: false));
        _ = PumpAsync();
    }

    public override Task Closed => _closed.Task;

    public override bool TryWrite(T item)
    {
        if (_failure is not null || Volatile.Read(ref _completed) != 0 || _pendingFlush is { IsCompleted: false } || !_lock.Wait(0))
        {
            return false;
        }
        bool handedOff = false;
        try
        {
            if (_failure is not null || _completed != 0)
            {
                return false;
            }
            Encode(item);
            if (_context.Count > 0)
            {
                // Streams must be opened first, asynchronously; the lock stays held until the frame is queued.
                var attachments = _context.Take();
                var body = Body.ToArray();
                _pendingFlush = SendWithAttachmentsAsync(attachments, body);
                handedOff = true;
                return true;
            }
            if (TryGetIdleStream(out var stream))
            {
                var write = WriteFramedAsync(stream);
                _pendingFlush = write.IsCompletedSuccessfully ? null : write.AsTask();
                return true;
            }
            QueueFrame(ChannelFrameType.Message, Body);
            var flush = _pipe.Writer.FlushAsync();
            _pendingFlush = flush.IsCompleted ? null : flush.AsTask();
            return true;
        }
        finally
        {
            if (!handedOff)
            {
                _lock.Release();
            }
        }
    }

    public override async ValueTask<bool> WaitToWriteAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            if (_failure is not null)
            {
                throw _failure;
            }
            if (Volatile.Read(ref _completed) != 0)
            {
                return false;
            }
            if (_pendingFlush is { IsCompleted: false } pending)
            {
                await pending.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
            bool ready = _pendingFlush is null or { IsCompleted: true };
            _lock.Release();
            if (ready)
            {
                return _failure is null && Volatile.Read(ref _completed) == 0;
            }
        }
    }

    public override async ValueTask WriteAsync(T item, CancellationToken cancellationToken = default)
    {
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfClosed();
            if (_pendingFlush is { } pending)
            {
                await pending.WaitAsync(cancellationToken).ConfigureAwait(false);
                _pendingFlush = null;
            }
            Encode(item);
            if (_context.Count > 0)
            {
                await OpenAttachmentsAsync(_context.Take(), cancellationToken).ConfigureAwait(false);
            }
            if (_scratch.WrittenCount - HeaderReserve >= DirectWriteThreshold)
            {
                await WriteDirectAsync(cancellationToken).ConfigureAwait(false);
            }
            else if (TryGetIdleStream(out var stream))
            {
                var write = WriteFramedAsync(stream);
                if (!write.IsCompletedSuccessfully)
                {
                    // Not cancelled with the caller: a frame is written whole or the channel fails.
                    _pendingFlush = write.AsTask();
                    await _pendingFlush.WaitAsync(cancellationToken).ConfigureAwait(false);
                    _pendingFlush = null;
                }
            }
            else
            {
                QueueFrame(ChannelFrameType.Message, Body);
                await _pipe.Writer.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
            ThrowIfClosed();
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>
    /// Writes a last message and closes the channel (<see cref="Request{TRequest, TResponse}.ReplyAsync"/>). When the
    /// stream is open and nothing is queued, the frame and the stream's end go out together from this task: the
    /// pump only notices the completed pipe afterwards, off the reply's path. Otherwise it is
    /// <see cref="WriteAsync"/>, <see cref="TryComplete"/> and <see cref="FlushAsync"/>.
    /// </summary>
    internal async ValueTask WriteAndCompleteAsync(T item, CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        bool direct = false;
        try
        {
            ThrowIfClosed();
            if (_pendingFlush is { } pending)
            {
                await pending.WaitAsync(cancellationToken).ConfigureAwait(false);
                _pendingFlush = null;
            }
            if (!_streamTask.IsCompleted)
            {
                // A reply stream usually arrives before its request; if not, it is bounded by the attachment timeout.
                await ((Task)_streamTask).WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
            ThrowIfClosed();
            if (_streamTask.IsCompletedSuccessfully && Volatile.Read(ref _sent) == Volatile.Read(ref _queued) && !_stopPump.IsCancellationRequested)
            {
                Encode(item);
                if (_context.Count > 0)
                {
                    await OpenAttachmentsAsync(_context.Take(), cancellationToken).ConfigureAwait(false);
                }
                if (Interlocked.Exchange(ref _completed, 1) != 0)
                {
                    throw new ChannelClosedException("The sender was completed.");
                }
                direct = true;
                var stream = _streamTask.Result;
                var frame = Framed();
                long length = frame.Length;
                Interlocked.Add(ref _queued, length);
                try
                {
                    // Not cancelled with the caller: a frame is written whole or the channel fails.
                    await stream.WriteAsync(frame, CancellationToken.None).ConfigureAwait(false);
                }
                catch (Exception e)
                {
                    Fail(e);
                    await _stopPump.CancelAsync().ConfigureAwait(false);
                    throw _failure ?? e;
                }
                OnDirectSent(length);
                stream.CompleteWrites();
                // The pump finds the pipe complete and empty: it marks the channel closed and disposes the stream
                // once the receiver is done, as after any close.
                await _pipe.Writer.CompleteAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            _lock.Release();
        }
        if (!direct)
        {
            await WriteAsync(item, cancellationToken).ConfigureAwait(false);
            TryComplete();
            await FlushAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// A large message skips the pipe (one copy less): once everything queued before it has been sent, its
    /// frame goes straight to the stream. The write lock is held, so nothing can be queued meanwhile.
    /// </summary>
    private async Task WriteDirectAsync(CancellationToken cancellationToken)
    {
        await _pipe.Writer.FlushAsync(cancellationToken).ConfigureAwait(false);
        await FlushAsync(cancellationToken).ConfigureAwait(false);
        var stream = await _streamTask.WaitAsync(cancellationToken).ConfigureAwait(false);
        var frame = Framed();
        long length = frame.Length;
        Interlocked.Add(ref _queued, length);
        try
        {
            await stream.WriteAsync(frame, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Fail(e);
            if (_failure is { } failure && !ReferenceEquals(failure, e))
            {
                // The channel had already failed (the pump saw the loss and closed the stream under us): that is the reason.
                throw failure;
            }
            throw;
        }
        Interlocked.Add(ref _sent, length);
    }

    public override bool TryComplete(Exception? error = null)
    {
        if (Interlocked.Exchange(ref _completed, 1) != 0)
        {
            return false;
        }
        _ = CompleteAsync(error);
        return true;
    }

    public override async ValueTask FlushAsync(CancellationToken cancellationToken = default)
    {
        long target = Volatile.Read(ref _queued);
        if (Volatile.Read(ref _sent) >= target)
        {
            return;
        }
        // Announced before reading _sent again, so a direct write that completes now signals progress.
        Interlocked.Increment(ref _flushWaiters);
        try
        {
            while (Volatile.Read(ref _sent) < target)
            {
                var progress = Volatile.Read(ref _progress);
                if (Volatile.Read(ref _sent) >= target)
                {
                    break;
                }
                if (_failure is not null)
                {
                    throw _failure;
                }
                await progress.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            Interlocked.Decrement(ref _flushWaiters);
        }
    }

    /// <summary>The channel's stream, when it is open, the pump has nothing left to send and this message is not
    /// part of a burst: its frame may then go to the stream directly (still under the write lock) without
    /// overtaking anything. Called once per message under the write lock (it notes the time of the write).</summary>
    private bool TryGetIdleStream([NotNullWhen(true)] out PeerStream? stream)
    {
        stream = null;
        long now = Stopwatch.GetTimestamp();
        long previous = _lastWrite;
        _lastWrite = now;
        if (now - previous <= BurstGap || !_streamTask.IsCompletedSuccessfully
            || Volatile.Read(ref _sent) != Volatile.Read(ref _queued) || _stopPump.IsCancellationRequested)
        {
            return false;
        }
        stream = _streamTask.Result;
        return true;
    }

    /// <summary>Writes the encoded message's frame to the stream; called under the write lock with the pump idle.</summary>
    private ValueTask WriteFramedAsync(PeerStream stream)
    {
        var frame = Framed();
        long length = frame.Length;
        Interlocked.Add(ref _queued, length);
        ValueTask write;
        try
        {
            write = stream.WriteAsync(frame, CancellationToken.None);
        }
        catch (Exception e)
        {
            write = ValueTask.FromException(e);
        }
        if (write.IsCompletedSuccessfully)
        {
            write.GetAwaiter().GetResult();
            OnDirectSent(length);
            return default;
        }
        return new ValueTask(AwaitDirectAsync(write, length));
    }

    private async Task AwaitDirectAsync(ValueTask write, long length)
    {
        try
        {
            await write.ConfigureAwait(false);
        }
        catch (Exception e)
        {
            Fail(e);
            await _stopPump.CancelAsync().ConfigureAwait(false);
            if (_failure is { } failure && !ReferenceEquals(failure, e))
            {
                // The channel had already failed (the pump saw the loss and closed the stream under us): that is the reason.
                throw failure;
            }
            throw;
        }
        OnDirectSent(length);
    }

    private void OnDirectSent(long length)
    {
        Interlocked.Add(ref _sent, length);
        if (Volatile.Read(ref _flushWaiters) > 0)
        {
            Interlocked.Exchange(ref _progress, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        }
    }

    /// <summary>The encoded message.</summary>
    private ReadOnlySpan<byte> Body => _scratch.WrittenSpan[HeaderReserve..];

    /// <summary>The encoded message with its frame header written into the room reserved in front of it.</summary>
    private ReadOnlyMemory<byte> Framed()
    {
        var written = MemoryMarshal.AsMemory(_scratch.WrittenMemory);
        Span<byte> header = stackalloc byte[HeaderReserve];
        int length = ChannelFrame.WriteHeader(header, ChannelFrameType.Message, written.Length - HeaderReserve);
        var frame = written[(HeaderReserve - length)..];
        header[..length].CopyTo(frame.Span);
        return frame;
    }

    public override void Abort(string? reason = null)
    {
        Interlocked.Exchange(ref _completed, 1);
        Fail(new ChannelAbortedException(reason ?? "The sender aborted the channel."));
        _stream?.Abort();
        _stopPump.Cancel();
    }

    private async Task CompleteAsync(Exception? error)
    {
        await _lock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_pendingFlush is { } pending)
            {
                await pending.ConfigureAwait(false);
            }
            if (error is not null && _failure is null)
            {
                var body = MessageCodec.Serialize(MessageCodec.String, error.Message);
                QueueFrame(ChannelFrameType.Error, body);
            }
            if (_failure is null)
            {
                await _pipe.Writer.FlushAsync().ConfigureAwait(false);
            }
            await _pipe.Writer.CompleteAsync().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            Fail(e);
        }
        finally
        {
            _lock.Release();
        }
    }

    private async Task SendWithAttachmentsAsync((ulong Id, Action<Task<PeerStream>> Start)[] attachments, byte[] body)
    {
        try
        {
            await OpenAttachmentsAsync(attachments, CancellationToken.None).ConfigureAwait(false);
            QueueFrame(ChannelFrameType.Message, body);
            await _pipe.Writer.FlushAsync().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            Fail(e);
        }
        finally
        {
            _lock.Release();
        }
    }

    private async Task OpenAttachmentsAsync((ulong Id, Action<Task<PeerStream>> Start)[] attachments, CancellationToken cancellationToken)
    {
        foreach (var (id, start) in attachments)
        {
            var stream = await _session.OpenAttachmentAsync(id, cancellationToken).ConfigureAwait(false);
            start(Task.FromResult(stream));
        }
    }

    private void Encode(T item)
    {
        _scratch.ResetWrittenCount();
        _scratch.GetSpan(HeaderReserve);
        _scratch.Advance(HeaderReserve);
        _context.Clear();
        var writer = new MessagePackWriter(_scratch, _context);
        _codec.Write(ref writer, item);
        int length = _scratch.WrittenCount - HeaderReserve;
        if (length > _session.Options.MaxMessageSize)
        {
            _context.Clear();
            throw new PeerException(PeerError.LimitExceeded, $"The message of {length} bytes exceeds the limit of {_session.Options.MaxMessageSize} bytes.");
        }
    }

    private void QueueFrame(ChannelFrameType type, ReadOnlySpan<byte> body)
    {
        long before = _pipe.Writer.UnflushedBytes;
        ChannelFrame.WriteHeader(_pipe.Writer, type, body.Length);
        _pipe.Writer.Write(body);
        Interlocked.Add(ref _queued, _pipe.Writer.UnflushedBytes - before);
    }

    private void ThrowIfClosed()
    {
        if (_failure is not null)
        {
            throw _failure;
        }
        if (Volatile.Read(ref _completed) != 0)
        {
            throw new ChannelClosedException("The sender was completed.");
        }
    }

    private void Fail(Exception reason)
    {
        Interlocked.CompareExchange(ref _failure, reason, null);
        _closed.TrySetException(_failure);
        Interlocked.Exchange(ref _progress, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }

    private async Task PumpAsync()
    {
        PeerStream stream;
        try
        {
            stream = await _streamTask.ConfigureAwait(false);
        }
        catch (Exception e)
        {
            Fail(e);
            await _pipe.Reader.CompleteAsync(e).ConfigureAwait(false);
            return;
        }
        _stream = stream;
        if (_failure is not null)
        {
            stream.Abort();
        }
        var reverse = ReverseAsync(stream);
        try
        {
            while (true)
            {
                var result = await _pipe.Reader.ReadAsync(_stopPump.Token).ConfigureAwait(false);
                foreach (var segment in result.Buffer)
                {
                    await stream.WriteAsync(segment, _stopPump.Token).ConfigureAwait(false);
                }
                Interlocked.Add(ref _sent, result.Buffer.Length);
                _pipe.Reader.AdvanceTo(result.Buffer.End);
                Interlocked.Exchange(ref _progress, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
                if (result.IsCompleted)
                {
                    break;
                }
            }
            await stream.FlushAsync(_stopPump.Token).ConfigureAwait(false);
            stream.CompleteWrites();
            _closed.TrySetResult();
        }
        catch (OperationCanceledException) when (_stopPump.IsCancellationRequested)
        {
            // Stopped by the receiver (graceful: half-close so it sees the end) or aborted (already reset).
            if (_failure is ChannelClosedException)
            {
                stream.CompleteWrites();
            }
        }
        catch (Exception e)
        {
            Fail(e);
        }
        finally
        {
            await _pipe.Reader.CompleteAsync().ConfigureAwait(false);
        }
        await reverse.ConfigureAwait(false);
        await stream.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Reads the receiver-to-sender direction: a Stop frame, or the end when the receiver is done.</summary>
    private async Task ReverseAsync(PeerStream stream)
    {
        var input = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 512, leaveOpen: true));
        try
        {
            while (true)
            {
                var result = await input.ReadAsync().ConfigureAwait(false);
                var buffer = result.Buffer;
                if (ChannelFrame.TryRead(ref buffer, 4096, out var type, out var body))
                {
                    if (type != ChannelFrameType.Stop)
                    {
                        throw new PeerException(PeerError.ProtocolViolation, $"Unexpected {type} frame from a receiver.");
                    }
                    string reason = "The receiver stopped reading.";
                    try
                    {
                        reason = MessageCodec.Deserialize(MessageCodec.String, body) is { Length: > 0 } r ? $"The receiver stopped reading: {r}" : reason;
                    }
                    catch (MessagePackException)
                    {
                    }
                    Interlocked.Exchange(ref _completed, 1);
                    Fail(new ChannelClosedException(reason));
                    _stopPump.Cancel();
                    return;
                }
                if (result.IsCompleted)
                {
                    return;
                }
                input.AdvanceTo(buffer.Start, buffer.End);
            }
        }
        catch (Exception e)
        {
            // After a graceful finish a lost connection changes nothing; before it, it is the reason.
            if (!_closed.Task.IsCompleted)
            {
                Fail(e);
                _stopPump.Cancel();
            }
        }
        finally
        {
            await input.CompleteAsync().ConfigureAwait(false);
        }
    }
}
