namespace Pinhole.Transport.Multistream;

/// <summary>
/// A stream opened with optimistic ("lazy") multistream-select: the header and the single proposal were
/// written and the stream is handed out at once, so the caller's first bytes follow the proposal in the
/// same round trip (go-libp2p and js-libp2p do the same for single-protocol streams). The listener's
/// header and echo are read and checked before the first read returns data. If the listener answered
/// "na" (or reset the stream before accepting), that read and every later read or write fail with
/// <see cref="PeerError.Refused"/> and the stream
/// is reset (the listener would otherwise take our data for another proposal).
/// </summary>
/// <remarks>
/// The confirmation runs once, detached from the cancellation of the read that started it: a cancelled
/// first read leaves the negotiation intact for the next one. It ends at the latest with the stream.
/// </remarks>
internal sealed class MultistreamLazyPeerStream : PeerStream
{
    private readonly PeerStream _inner;
    private readonly string _protocol;
    private readonly Lock _gate = new();
    private Task? _confirmation;
    private volatile bool _confirmed;
    private volatile PeerException? _refusal;
    private int _disposed;

    /// <summary>Wraps <paramref name="inner"/>, on which the header and <paramref name="protocol"/> were already written.</summary>
    public MultistreamLazyPeerStream(PeerStream inner, string protocol)
    {
        _inner = inner;
        _protocol = protocol;
    }

    /// <summary>Writes the header and the proposal for <paramref name="protocol"/> and returns the lazy stream.</summary>
    public static async ValueTask<MultistreamLazyPeerStream> SelectAsync(PeerStream stream, string protocol, CancellationToken cancellationToken)
    {
        await stream.WriteAsync(MultistreamMessage.Encode(MultistreamMessage.Header, protocol), cancellationToken).ConfigureAwait(false);
        return new MultistreamLazyPeerStream(stream, protocol);
    }

    /// <summary>The underlying multiplexed stream.</summary>
    internal PeerStream Inner => _inner;

    /// <summary>True once the listener has confirmed the protocol.</summary>
    public bool IsConfirmed => _confirmed;

    /// <inheritdoc/>
    public override long Id => _inner.Id;

    /// <inheritdoc/>
    public override string Protocol => _protocol;

    /// <inheritdoc/>
    public override Task ReadsClosed => _inner.ReadsClosed;

    /// <inheritdoc/>
    public override Task WritesClosed => _inner.WritesClosed;

    /// <inheritdoc/>
    public override bool CanRead => _inner.CanRead;

    /// <inheritdoc/>
    public override bool CanWrite => _inner.CanWrite;

    /// <summary>Reads and checks the listener's answers (once; later calls share the result).</summary>
    public Task ConfirmAsync()
    {
        if (_confirmed)
        {
            return Task.CompletedTask;
        }
        lock (_gate)
        {
            if (_confirmation is null)
            {
                _confirmation = ReadConfirmationAsync();
                // Observed here: a stream disposed before anyone read leaves nobody else to observe it.
                _confirmation.ContinueWith(static t => _ = t.Exception, CancellationToken.None,
                    TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
            return _confirmation;
        }
    }

    private async Task ReadConfirmationAsync()
    {
        var buffer = MultistreamMessage.RentBuffer();
        try
        {
            await MultistreamSelect.ExpectHeaderAsync(_inner, buffer, CancellationToken.None).ConfigureAwait(false);
            var answer = await MultistreamSelect.ReadMessageAsync(_inner, buffer, CancellationToken.None).ConfigureAwait(false);
            if (answer == MultistreamMessage.NotAvailable)
            {
                var refusal = new PeerException(PeerError.Refused, $"Peer does not support the protocol {_protocol}.");
                _refusal = refusal;
                _inner.Abort();
                throw refusal;
            }
            if (answer != _protocol)
            {
                throw MultistreamMessage.Violation($"Peer answered \"{MultistreamSelect.Shorten(answer)}\" to the proposal \"{_protocol}\" (expected the same protocol or \"na\").");
            }
            _confirmed = true;
        }
        catch (PeerException e) when (e.Error == PeerError.ProtocolViolation)
        {
            _inner.Abort();
            throw;
        }
        catch (PeerException e) when (e.Error == PeerError.StreamAborted)
        {
            // A listener that answered "na" may reset the stream as soon as it reads our data as its next
            // proposal, and a reset discards the "na" not yet read: either way the peer did not accept the protocol.
            var refusal = new PeerException(PeerError.Refused, $"Peer reset the stream before accepting the protocol {_protocol}.", e);
            _refusal = refusal;
            throw refusal;
        }
        finally
        {
            MultistreamMessage.ReturnBuffer(buffer);
        }
    }

    /// <inheritdoc/>
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        _confirmed ? _inner.ReadAsync(buffer, cancellationToken) : ReadAfterConfirmationAsync(buffer, cancellationToken);

    private async ValueTask<int> ReadAfterConfirmationAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        await ConfirmAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        return await _inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <inheritdoc/>
    public override int Read(Span<byte> buffer)
    {
        if (!_confirmed)
        {
            ConfirmAsync().GetAwaiter().GetResult();
        }
        return _inner.Read(buffer);
    }

    /// <inheritdoc/>
    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    /// <inheritdoc/>
    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_refusal is { } refusal)
        {
            return ValueTask.FromException(Copy(refusal));
        }
        return _confirmed ? _inner.WriteAsync(buffer, cancellationToken) : WriteBeforeConfirmationAsync(buffer, cancellationToken);
    }

    // Before the listener accepted, a reset is its refusal (it may reset right after "na", which the reset discards).
    private async ValueTask WriteBeforeConfirmationAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken)
    {
        try
        {
            await _inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        catch (PeerException e) when (e.Error == PeerError.StreamAborted && !_confirmed)
        {
            var refusal = _refusal ?? new PeerException(PeerError.Refused, $"Peer reset the stream before accepting the protocol {_protocol}.", e);
            _refusal = refusal;
            throw Copy(refusal);
        }
    }

    /// <inheritdoc/>
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <inheritdoc/>
    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (_refusal is { } refusal)
        {
            throw Copy(refusal);
        }
        _inner.Write(buffer);
    }

    /// <inheritdoc/>
    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    /// <inheritdoc/>
    public override void Flush() => _inner.Flush();

    /// <inheritdoc/>
    public override Task FlushAsync(CancellationToken cancellationToken) => _inner.FlushAsync(cancellationToken);

    /// <inheritdoc/>
    public override void CompleteWrites() => _inner.CompleteWrites();

    /// <inheritdoc/>
    public override void Abort() => _inner.Abort();

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _inner.Dispose();
        }
        base.Dispose(disposing);
    }

    /// <inheritdoc/>
    public override async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            await _inner.DisposeAsync().ConfigureAwait(false);
        }
        await base.DisposeAsync().ConfigureAwait(false);
    }

    private static PeerException Copy(PeerException error) => new(error.Error, error.Message, error);
}
