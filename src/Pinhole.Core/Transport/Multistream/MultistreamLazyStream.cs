namespace Pinhole.Transport.Multistream;

/// <summary>
/// A stream whose multistream-select negotiation (for one protocol) was sent but not yet confirmed.
/// Writes go straight through, so the first application bytes travel right behind the proposal;
/// the first read (or <see cref="ConfirmAsync"/>) reads the listener's header and echo and fails with
/// <see cref="PeerError.Refused"/> if the listener answered "na". Every later read fails the same way.
/// </summary>
internal sealed class MultistreamLazyStream : Stream
{
    private readonly Stream _inner;
    private readonly bool _leaveOpen;
    private readonly Lock _gate = new();
    private Task? _confirmation;
    private volatile bool _confirmed;
    private int _disposed;

    /// <summary>Wraps <paramref name="inner"/>, on which header and proposal were already written.</summary>
    public MultistreamLazyStream(Stream inner, string protocol, bool leaveOpen = false)
    {
        _inner = inner;
        Protocol = protocol;
        _leaveOpen = leaveOpen;
    }

    /// <summary>The proposed protocol.</summary>
    public string Protocol { get; }

    /// <summary>True once the listener has confirmed the protocol.</summary>
    public bool IsConfirmed => _confirmed;

    /// <summary>Reads and checks the listener's answers (once; later calls share the result).</summary>
    public Task ConfirmAsync(CancellationToken cancellationToken)
    {
        if (_confirmed)
        {
            return Task.CompletedTask;
        }
        lock (_gate)
        {
            // A cancelled confirmation leaves the stream mid-message; it cannot be resumed, so it sticks.
            return _confirmation ??= ReadConfirmationAsync(cancellationToken);
        }
    }

    private async Task ReadConfirmationAsync(CancellationToken cancellationToken)
    {
        var buffer = MultistreamMessage.RentBuffer();
        try
        {
            await MultistreamSelect.ExpectHeaderAsync(_inner, buffer, cancellationToken).ConfigureAwait(false);
            var answer = await MultistreamSelect.ReadMessageAsync(_inner, buffer, cancellationToken).ConfigureAwait(false);
            if (answer == MultistreamMessage.NotAvailable)
            {
                throw new PeerException(PeerError.Refused, $"Peer does not support the protocol {Protocol}.");
            }
            if (answer != Protocol)
            {
                throw MultistreamMessage.Violation($"Peer answered \"{MultistreamSelect.Shorten(answer)}\" to the proposal \"{Protocol}\" (expected the same protocol or \"na\").");
            }
            _confirmed = true;
        }
        finally
        {
            MultistreamMessage.ReturnBuffer(buffer);
        }
    }

    /// <inheritdoc/>
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (!_confirmed)
        {
            await ConfirmAsync(cancellationToken).ConfigureAwait(false);
        }
        return await _inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <inheritdoc/>
    public override int Read(Span<byte> buffer)
    {
        if (!_confirmed)
        {
            ConfirmAsync(CancellationToken.None).GetAwaiter().GetResult();
        }
        return _inner.Read(buffer);
    }

    /// <inheritdoc/>
    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    /// <inheritdoc/>
    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        => _inner.WriteAsync(buffer, cancellationToken);

    /// <inheritdoc/>
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => _inner.WriteAsync(buffer, offset, count, cancellationToken);

    /// <inheritdoc/>
    public override void Write(ReadOnlySpan<byte> buffer) => _inner.Write(buffer);

    /// <inheritdoc/>
    public override void Write(byte[] buffer, int offset, int count) => _inner.Write(buffer, offset, count);

    /// <inheritdoc/>
    public override void Flush() => _inner.Flush();

    /// <inheritdoc/>
    public override Task FlushAsync(CancellationToken cancellationToken) => _inner.FlushAsync(cancellationToken);

    /// <inheritdoc/>
    public override bool CanRead => _inner.CanRead;

    /// <inheritdoc/>
    public override bool CanWrite => _inner.CanWrite;

    /// <inheritdoc/>
    public override bool CanSeek => false;

    /// <inheritdoc/>
    public override long Length => throw new NotSupportedException();

    /// <inheritdoc/>
    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    /// <inheritdoc/>
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <inheritdoc/>
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing && !_leaveOpen && Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _inner.Dispose();
        }
        base.Dispose(disposing);
    }

    /// <inheritdoc/>
    public override async ValueTask DisposeAsync()
    {
        if (!_leaveOpen && Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            await _inner.DisposeAsync().ConfigureAwait(false);
        }
        await base.DisposeAsync().ConfigureAwait(false);
    }
}
