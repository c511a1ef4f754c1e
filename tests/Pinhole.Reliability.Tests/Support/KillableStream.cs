namespace Pinhole.Reliability.Tests.Support;

/// <summary>A transport that can be cut at any moment, as a lost connection is: every pending and later read and write fails.</summary>
public sealed class KillableStream(Stream inner) : Stream
{
    private readonly CancellationTokenSource _killed = new();

    public void Kill() => _killed.Cancel();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _killed.Token);
        try
        {
            return await inner.ReadAsync(buffer, linked.Token);
        }
        catch (OperationCanceledException) when (_killed.IsCancellationRequested)
        {
            throw new IOException("Connection reset (killed by the test).");
        }
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_killed.IsCancellationRequested)
        {
            throw new IOException("Connection reset (killed by the test).");
        }
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _killed.Token);
        try
        {
            await inner.WriteAsync(buffer, linked.Token);
        }
        catch (OperationCanceledException) when (_killed.IsCancellationRequested)
        {
            throw new IOException("Connection reset (killed by the test).");
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count, default).GetAwaiter().GetResult();

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer, offset, count, default).GetAwaiter().GetResult();

    public override Task FlushAsync(CancellationToken cancellationToken) =>
        _killed.IsCancellationRequested ? Task.FromException(new IOException("Connection reset (killed by the test).")) : inner.FlushAsync(cancellationToken);

    public override void Flush() => inner.Flush();

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
            _killed.Dispose();
        }
        base.Dispose(disposing);
    }
}
