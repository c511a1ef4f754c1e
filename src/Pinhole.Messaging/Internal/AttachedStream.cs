namespace Pinhole.Messaging.Internal;

/// <summary>
/// The byte stream a peer attached to a message. Its transport stream may still be on its way when the
/// message is decoded, so every operation first awaits it. Read-only or write-only as the sender chose.
/// Disposing half-closes our side; the peer sees the end of the stream.
/// </summary>
internal sealed class AttachedStream(Task<PeerStream> stream, bool canRead, bool canWrite) : Stream
{
    private int _disposed;

    public override bool CanRead => canRead && _disposed == 0;

    public override bool CanWrite => canWrite && _disposed == 0;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        EnsureCan(canRead, "read");
        var s = await stream.WaitAsync(cancellationToken).ConfigureAwait(false);
        return await s.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        EnsureCan(canWrite, "write");
        var s = await stream.WaitAsync(cancellationToken).ConfigureAwait(false);
        await s.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count).GetAwaiter().GetResult();

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer, offset, count).GetAwaiter().GetResult();

    public override async Task FlushAsync(CancellationToken cancellationToken)
    {
        if (canWrite)
        {
            var s = await stream.WaitAsync(cancellationToken).ConfigureAwait(false);
            await s.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public override void Flush() => FlushAsync(CancellationToken.None).GetAwaiter().GetResult();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0 && stream.IsCompletedSuccessfully)
        {
            await stream.Result.DisposeAsync().ConfigureAwait(false);
        }
        else if (!stream.IsCompleted)
        {
            _ = stream.ContinueWith(t => t.Result.Dispose(), CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
        }
        await base.DisposeAsync().ConfigureAwait(false);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref _disposed, 1) == 0 && stream.IsCompletedSuccessfully)
        {
            stream.Result.Dispose();
        }
        base.Dispose(disposing);
    }

    private void EnsureCan(bool allowed, string what)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (!allowed)
        {
            throw new NotSupportedException($"The peer attached this stream for the other direction; it cannot {what}.");
        }
    }
}
