using System.Buffers;

namespace Pinhole.Transport.Multistream;

/// <summary>
/// Optimistic multistream-select of one protocol under a layer that writes first (the TLS client): the header and
/// proposal are held back and sent in the same write as the layer's first bytes (the ClientHello), so both leave
/// in one flight, one segment. The listener's header and echo are read and checked before the first byte is
/// handed to the layer above; what arrived with them (the ServerHello) is served next.
/// </summary>
/// <remarks>
/// <para>The dialer sends, in one write:</para>
/// <code>
/// 13 "/multistream/1.0.0\n" | 0b "/tls/1.0.0\n" | 16 03 01 .. (ClientHello record)
/// </code>
/// <para>and expects back <c>13 "/multistream/1.0.0\n" 0b "/tls/1.0.0\n"</c>, then the listener's TLS records.
/// "na" fails with <see cref="PeerError.Refused"/>, any other answer with <see cref="PeerError.ProtocolViolation"/>,
/// the stream ending before the answer with <see cref="PeerError.ConnectionClosed"/>. The same failure is kept in
/// <see cref="Failure"/> (and every later read fails with it), so the caller can prefer it to the upper layer's
/// complaint: a listener that answers "na" and closes looks to TLS like a connection closed mid-handshake.</para>
/// <para>Unlike <see cref="MultistreamLazyStream"/> this reads ahead of the answers (one read usually holds both)
/// into its own buffer: it is the upper layer's stream for the connection's life, so nothing read is lost.</para>
/// </remarks>
internal sealed class OptimisticSelectStream : Stream
{
    /// <summary>Room for the header and the answer at their largest (each a 2-byte prefix and 1024 bytes).</summary>
    internal const int AnswerBufferSize = 2 * (MultistreamMessage.MaxPrefixLength + MultistreamMessage.MaxLength);

    private readonly Stream _inner;
    private readonly string _protocol;
    private readonly Lock _gate = new();
    private byte[]? _proposal; // header + proposal, until a write or the confirmation sends it

    /// <summary>How long <see cref="ExplainFailureAsync"/> waits for the listener's answer after the layer above failed.</summary>
    internal static readonly TimeSpan ExplainTimeout = TimeSpan.FromSeconds(2);
    private Task? _confirmation;
    private volatile bool _confirmed;
    private byte[]? _ahead; // rented: bytes read past the answer, served before the inner stream
    private int _aheadStart;
    private int _aheadEnd;
    private int _disposed;

    /// <summary>Wraps <paramref name="inner"/> (which it owns); nothing is written until the first write or read.</summary>
    public OptimisticSelectStream(Stream inner, string protocol)
    {
        ArgumentNullException.ThrowIfNull(inner);
        _inner = inner;
        _protocol = protocol;
        _proposal = MultistreamMessage.Encode(MultistreamMessage.Header, protocol);
    }

    /// <summary>The proposed protocol.</summary>
    public string Protocol => _protocol;

    /// <summary>True once the listener has echoed the protocol.</summary>
    public bool IsConfirmed => _confirmed;

    /// <summary>What the listener's answer was wrong about (refusal, garbage, closing first), once it is known.</summary>
    public PeerException? Failure { get; private set; }

    /// <summary>
    /// Reads the listener's header and answer from the start of <paramref name="input"/>. Returns false while the
    /// bytes are a prefix of a valid answer (read more and call again), true with <paramref name="consumed"/> when
    /// the listener echoed <paramref name="protocol"/>. A pure function: the fuzz target.
    /// </summary>
    /// <exception cref="PeerException"><see cref="PeerError.Refused"/> for "na"; <see cref="PeerError.ProtocolViolation"/>
    /// for a wrong header, another answer or malformed bytes (limits are checked on the length prefix, before the body).</exception>
    public static bool TryReadAnswer(ReadOnlySpan<byte> input, string protocol, out int consumed)
    {
        consumed = 0;
        if (!MultistreamMessage.TryRead(input, out var header, out var headerLength))
        {
            return false;
        }
        if (header != MultistreamMessage.Header)
        {
            throw MultistreamMessage.Violation($"Expected the multistream-select header \"{MultistreamMessage.Header}\", got \"{MultistreamSelect.Shorten(header!)}\".");
        }
        if (!MultistreamMessage.TryRead(input[headerLength..], out var answer, out var answerLength))
        {
            return false;
        }
        if (answer == MultistreamMessage.NotAvailable)
        {
            throw new PeerException(PeerError.Refused, $"Peer does not support the protocol {protocol}.");
        }
        if (answer != protocol)
        {
            throw MultistreamMessage.Violation($"Peer answered \"{MultistreamSelect.Shorten(answer!)}\" to the proposal \"{protocol}\" (expected the same protocol or \"na\").");
        }
        consumed = headerLength + answerLength;
        return true;
    }

    /// <summary>Reads and checks the listener's answer (once; later calls share the result). Sends the proposal first if no write has.</summary>
    public Task ConfirmAsync(CancellationToken cancellationToken)
    {
        if (_confirmed)
        {
            return Task.CompletedTask;
        }
        lock (_gate)
        {
            // A cancelled confirmation leaves the stream mid-answer; it cannot be resumed, so it sticks.
            return _confirmation ??= ReadAnswerAsync(cancellationToken);
        }
    }

    /// <summary>
    /// After the layer above failed: the listener's answer if that explains the failure (its "na", a garbled answer,
    /// or its closing before it answered), else null (it had accepted, or the transport itself broke).
    /// </summary>
    /// <param name="timeProvider">Clock of the bound on the wait.</param>
    /// <param name="cancellationToken">The caller's deadline.</param>
    public async Task<PeerException?> ExplainFailureAsync(TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        if (_confirmed || Volatile.Read(ref _proposal) is not null)
        {
            return null; // nothing went out: the failure was ours, and the listener has nothing to say
        }
        // The answer, if any, is already on its way (TLS failed after our ClientHello left): a listener that says
        // nothing more must not hold the caller for the rest of the connect timeout.
        using var bound = new CancellationTokenSource(ExplainTimeout, timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, bound.Token);
        try
        {
            await ConfirmAsync(cancellationToken).WaitAsync(linked.Token).ConfigureAwait(false);
            return null;
        }
        catch (PeerException e)
        {
            return e;
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
        {
            return null;
        }
    }

    private async Task ReadAnswerAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _proposal, null) is { } proposal)
        {
            // Nothing was written yet: the listener answers nothing before it has the proposal.
            await _inner.WriteAsync(proposal, cancellationToken).ConfigureAwait(false);
            await _inner.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        var buffer = ArrayPool<byte>.Shared.Rent(AnswerBufferSize);
        var filled = 0;
        try
        {
            while (true)
            {
                if (filled == buffer.Length)
                {
                    // Unreachable: the length checks throw before the two messages can outgrow the buffer.
                    throw MultistreamMessage.Violation("multistream-select answer longer than its limit.");
                }
                var read = await _inner.ReadAsync(buffer.AsMemory(filled), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    throw EndedBeforeAnswer(buffer.AsSpan(0, filled));
                }
                filled += read;
                if (TryReadAnswer(buffer.AsSpan(0, filled), _protocol, out var consumed))
                {
                    if (consumed < filled)
                    {
                        _ahead = buffer;
                        _aheadStart = consumed;
                        _aheadEnd = filled;
                        buffer = null;
                    }
                    _confirmed = true;
                    return;
                }
            }
        }
        catch (PeerException e)
        {
            Failure = e;
            throw;
        }
        finally
        {
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    // Between messages the listener simply closed; inside one its message is cut short.
    private PeerException EndedBeforeAnswer(ReadOnlySpan<byte> received)
    {
        var betweenMessages = received.IsEmpty
            || (MultistreamMessage.TryRead(received, out _, out var headerLength) && headerLength == received.Length);
        return betweenMessages
            ? new PeerException(PeerError.ConnectionClosed, $"The peer closed the connection before answering the proposal {_protocol}.")
            : MultistreamMessage.Violation($"The stream ended inside a multistream-select message ({MultistreamMessage.Describe(received)}).");
    }

    /// <inheritdoc/>
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        _confirmed && _ahead is null ? _inner.ReadAsync(buffer, cancellationToken) : ReadSlowAsync(buffer, cancellationToken);

    private async ValueTask<int> ReadSlowAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (!_confirmed)
        {
            await ConfirmAsync(cancellationToken).ConfigureAwait(false);
        }
        return TakeAhead(buffer.Span) is { } n ? n : await _inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
    }

    // Reads are never concurrent with each other (one reader at a time, as for any stream), so _ahead needs no lock.
    private int? TakeAhead(Span<byte> destination)
    {
        if (_ahead is not { } ahead)
        {
            return null;
        }
        var n = Math.Min(destination.Length, _aheadEnd - _aheadStart);
        ahead.AsSpan(_aheadStart, n).CopyTo(destination);
        _aheadStart += n;
        if (_aheadStart == _aheadEnd)
        {
            _ahead = null;
            ArrayPool<byte>.Shared.Return(ahead);
        }
        return n;
    }

    /// <inheritdoc/>
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <inheritdoc/>
    public override int Read(Span<byte> buffer)
    {
        if (!_confirmed)
        {
            ConfirmAsync(CancellationToken.None).GetAwaiter().GetResult();
        }
        return TakeAhead(buffer) ?? _inner.Read(buffer);
    }

    /// <inheritdoc/>
    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    /// <inheritdoc/>
    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (Volatile.Read(ref _proposal) is not null && Interlocked.Exchange(ref _proposal, null) is { } proposal)
        {
            return WriteWithProposalAsync(proposal, buffer, cancellationToken);
        }
        return _inner.WriteAsync(buffer, cancellationToken);
    }

    private async ValueTask WriteWithProposalAsync(byte[] proposal, ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken)
    {
        var length = proposal.Length + buffer.Length;
        var joined = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            proposal.CopyTo(joined, 0);
            buffer.Span.CopyTo(joined.AsSpan(proposal.Length));
            await _inner.WriteAsync(joined.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(joined);
        }
    }

    /// <inheritdoc/>
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <inheritdoc/>
    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (Interlocked.Exchange(ref _proposal, null) is { } proposal)
        {
            _inner.Write([.. proposal, .. buffer]);
            return;
        }
        _inner.Write(buffer);
    }

    /// <inheritdoc/>
    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    /// <inheritdoc/>
    public override void Flush()
    {
        if (Interlocked.Exchange(ref _proposal, null) is { } proposal)
        {
            _inner.Write(proposal);
        }
        _inner.Flush();
    }

    /// <inheritdoc/>
    public override async Task FlushAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _proposal, null) is { } proposal)
        {
            await _inner.WriteAsync(proposal, cancellationToken).ConfigureAwait(false);
        }
        await _inner.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

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

    // A read-ahead buffer left at disposal is not returned to the pool: a read may still be copying from it.
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
}
