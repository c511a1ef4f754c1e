using System.Buffers;
using System.IO.Pipelines;

namespace Pinhole.Core.Tests.Yamux;

/// <summary>One end of an in-memory connection: reads from one pipe, writes to the other.</summary>
internal sealed class DuplexPipeStream : Stream
{
    private readonly PipeReader _input;
    private readonly PipeWriter _output;
    private int _disposed;
    private volatile Exception? _broken;

    public DuplexPipeStream(PipeReader input, PipeWriter output)
    {
        _input = input;
        _output = output;
    }

    /// <summary>Two connected ends; each pipe buffers up to <paramref name="pauseThreshold"/> bytes.</summary>
    public static (DuplexPipeStream Left, DuplexPipeStream Right) CreatePair(long pauseThreshold = 1024 * 1024)
    {
        var options = new PipeOptions(pauseWriterThreshold: pauseThreshold, resumeWriterThreshold: pauseThreshold / 2, useSynchronizationContext: false);
        var leftToRight = new Pipe(options);
        var rightToLeft = new Pipe(options);
        return (new DuplexPipeStream(rightToLeft.Reader, leftToRight.Writer), new DuplexPipeStream(leftToRight.Reader, rightToLeft.Writer));
    }

    /// <summary>Simulates connection loss: the peer's reads and writes fail with <paramref name="error"/>.</summary>
    public void Break(Exception error)
    {
        _broken = error;
        _output.Complete(error);
        _input.CancelPendingRead();
        _input.Complete(error);
    }

    /// <summary>Half-closes: the peer reads end of stream, while this end can still read.</summary>
    public void ShutdownOutput() => _output.Complete();

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        try
        {
            return await ReadCoreAsync(buffer, cancellationToken);
        }
        catch (InvalidOperationException) when (_broken is { } broken)
        {
            throw new IOException(broken.Message, broken);
        }
    }

    private async ValueTask<int> ReadCoreAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        while (true)
        {
            ObjectDisposedException.ThrowIf(_disposed != 0, this);
            if (_broken is { } broken)
            {
                throw new IOException(broken.Message, broken);
            }
            var result = await _input.ReadAsync(cancellationToken);
            var data = result.Buffer;
            if (result.IsCanceled)
            {
                _input.AdvanceTo(data.Start);
                ObjectDisposedException.ThrowIf(_disposed != 0, this);
                continue;
            }
            if (data.IsEmpty && result.IsCompleted)
            {
                _input.AdvanceTo(data.End);
                return 0;
            }
            var count = (int)Math.Min(data.Length, buffer.Length);
            data.Slice(0, count).CopyTo(buffer.Span);
            _input.AdvanceTo(data.GetPosition(count));
            return count;
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count).GetAwaiter().GetResult();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (_broken is { } broken)
        {
            throw new IOException(broken.Message, broken);
        }
        // Like TCP after the peer closed: bytes are accepted and dropped; the peer's close shows up as
        // end of stream on the read side first. Break() models a hard failure instead.
        try
        {
            await _output.WriteAsync(buffer, cancellationToken);
        }
        catch (InvalidOperationException) when (_broken is { } failure)
        {
            throw new IOException(failure.Message, failure);
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer, offset, count).GetAwaiter().GetResult();

    public override void Flush() { }
    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _output.Complete();
            _output.CancelPendingFlush();
            _input.CancelPendingRead();
            _input.Complete();
        }
        base.Dispose(disposing);
    }
}
