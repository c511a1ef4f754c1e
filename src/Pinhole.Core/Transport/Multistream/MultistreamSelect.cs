namespace Pinhole.Transport.Multistream;

/// <summary>
/// multistream-select 1.0 over a <see cref="Stream"/>: the dialer proposes protocols one at a time,
/// the listener echoes the one it accepts or answers "na". docs/connection-upgrade.md shows the bytes.
/// </summary>
/// <remarks>
/// Reads never go past the end of the negotiation: the length prefix is read one byte at a time and
/// then exactly the announced length, so whatever follows (a TLS ClientHello, application data)
/// stays in the stream for the next layer. Time limits come from the caller's cancellation token.
/// </remarks>
internal static class MultistreamSelect
{
    /// <summary>Most proposals a listener answers before giving up on a dialer.</summary>
    public const int MaxAttempts = 16;

    /// <summary>
    /// Dialer: sends the header and the first protocol in one write, then waits for the listener; on
    /// "na" proposes the next protocol. Returns the accepted protocol.
    /// </summary>
    /// <exception cref="PeerException"><see cref="PeerError.Refused"/> when no protocol is accepted;
    /// <see cref="PeerError.StreamAborted"/> when the stream is reset first (a reset discards the answers not yet
    /// read, so a refusal followed by a reset and an acceptance followed by the handler's reset look alike);
    /// <see cref="PeerError.ProtocolViolation"/> for unexpected or malformed messages;
    /// <see cref="PeerError.ConnectionClosed"/> when the stream ends between messages.</exception>
    public static async Task<string> SelectAsync(Stream stream, IReadOnlyList<string> protocols, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(protocols);
        if (protocols.Count == 0)
        {
            throw new ArgumentException("At least one protocol must be proposed.", nameof(protocols));
        }
        foreach (var p in protocols)
        {
            ValidateProtocol(p, nameof(protocols));
        }
        var buffer = MultistreamMessage.RentBuffer();
        try
        {
            await stream.WriteAsync(MultistreamMessage.Encode(MultistreamMessage.Header, protocols[0]), cancellationToken).ConfigureAwait(false);
            await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
            await ExpectHeaderAsync(stream, buffer, cancellationToken).ConfigureAwait(false);
            for (var i = 0; ; i++)
            {
                var answer = await ReadMessageAsync(stream, buffer, cancellationToken).ConfigureAwait(false);
                if (answer == protocols[i])
                {
                    return answer;
                }
                if (answer != MultistreamMessage.NotAvailable)
                {
                    throw MultistreamMessage.Violation($"Peer answered \"{Shorten(answer)}\" to the proposal \"{protocols[i]}\" (expected the same protocol or \"na\").");
                }
                if (i + 1 == protocols.Count)
                {
                    throw new PeerException(PeerError.Refused, $"Peer supports none of the proposed protocols: {string.Join(", ", protocols)}.");
                }
                await stream.WriteAsync(MultistreamMessage.Encode(protocols[i + 1]), cancellationToken).ConfigureAwait(false);
                await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            MultistreamMessage.ReturnBuffer(buffer);
        }
    }

    /// <summary>
    /// Optimistic dialer for a single protocol: writes the header and the protocol, and returns a
    /// stream at once, so the caller can send its first bytes in the same round trip. The listener's
    /// two answers are read and checked on the first read (see <see cref="MultistreamLazyStream"/>).
    /// </summary>
    public static async Task<MultistreamLazyStream> SelectLazyAsync(Stream stream, string protocol, CancellationToken cancellationToken, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ValidateProtocol(protocol, nameof(protocol));
        await stream.WriteAsync(MultistreamMessage.Encode(MultistreamMessage.Header, protocol), cancellationToken).ConfigureAwait(false);
        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        return new MultistreamLazyStream(stream, protocol, leaveOpen);
    }

    /// <summary>
    /// Listener: reads the dialer's header, answers with its own, then answers each proposal with "na"
    /// or, for the first one <paramref name="isSupported"/> accepts, an echo. Returns that protocol.
    /// "ls" is answered with "na" (listing is optional in the spec).
    /// </summary>
    /// <exception cref="PeerException"><see cref="PeerError.LimitExceeded"/> after <see cref="MaxAttempts"/>
    /// refused proposals; <see cref="PeerError.ProtocolViolation"/> for malformed messages or a wrong header.</exception>
    /// <param name="stream">The stream.</param>
    /// <param name="isSupported">Whether a proposed protocol is accepted.</param>
    /// <param name="cancellationToken">Ends the negotiation.</param>
    /// <param name="deferAnswer">Offered the bytes of the accepting answer (with our header when it is still due);
    /// when it returns true it has taken them to send later, with the application's first bytes.</param>
    public static async Task<string> NegotiateAsync(Stream stream, Func<string, bool> isSupported, CancellationToken cancellationToken, Func<byte[], bool>? deferAnswer = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(isSupported);
        var buffer = MultistreamMessage.RentBuffer();
        try
        {
            await ExpectHeaderAsync(stream, buffer, cancellationToken).ConfigureAwait(false);
            // An optimistic dialer sends its header and first proposal together: when the proposal is already
            // here, our header and the answer leave in one write. Otherwise the header goes at once, since a
            // dialer may wait for it before proposing.
            var headerSent = false;
            for (var attempt = 0; attempt < MaxAttempts; attempt++)
            {
                var read = ReadMessageAsync(stream, buffer, cancellationToken);
                if (!headerSent && !read.IsCompleted)
                {
                    headerSent = true;
                    await stream.WriteAsync(MultistreamMessage.Encode(MultistreamMessage.Header), cancellationToken).ConfigureAwait(false);
                    await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
                }
                var proposal = await read.ConfigureAwait(false);
                var accepted = proposal != MultistreamMessage.List && proposal != MultistreamMessage.NotAvailable
                    && proposal != MultistreamMessage.Header && isSupported(proposal);
                var answer = accepted ? proposal : MultistreamMessage.NotAvailable;
                var bytes = headerSent ? MultistreamMessage.Encode(answer) : MultistreamMessage.Encode(MultistreamMessage.Header, answer);
                headerSent = true;
                if (accepted && deferAnswer is not null && deferAnswer(bytes))
                {
                    return proposal;
                }
                await stream.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
                await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
                if (accepted)
                {
                    return proposal;
                }
            }
            throw new PeerException(PeerError.LimitExceeded, $"Peer proposed {MaxAttempts} protocols without proposing a supported one.");
        }
        finally
        {
            MultistreamMessage.ReturnBuffer(buffer);
        }
    }

    /// <summary>Reads one message and checks that it is the multistream-select 1.0 header.</summary>
    internal static async ValueTask ExpectHeaderAsync(Stream stream, byte[] buffer, CancellationToken cancellationToken)
    {
        var header = await ReadMessageAsync(stream, buffer, cancellationToken).ConfigureAwait(false);
        if (header != MultistreamMessage.Header)
        {
            throw MultistreamMessage.Violation($"Expected the multistream-select header \"{MultistreamMessage.Header}\", got \"{Shorten(header)}\".");
        }
    }

    /// <summary>
    /// Reads exactly one message: the prefix byte by byte, then exactly its length, never more.
    /// <paramref name="buffer"/> must hold <see cref="MultistreamMessage.MaxLength"/> bytes.
    /// </summary>
    internal static async ValueTask<string> ReadMessageAsync(Stream stream, byte[] buffer, CancellationToken cancellationToken)
    {
        var prefixLength = 0;
        int length;
        while (true)
        {
            var read = await stream.ReadAsync(buffer.AsMemory(prefixLength, 1), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                throw prefixLength == 0
                    ? new PeerException(PeerError.ConnectionClosed, "The stream ended during multistream-select negotiation.")
                    : MultistreamMessage.Violation("The stream ended inside a multistream-select length prefix.");
            }
            prefixLength++;
            if (MultistreamMessage.TryReadLength(buffer.AsSpan(0, prefixLength), out length, out _))
            {
                break;
            }
        }
        try
        {
            await stream.ReadExactlyAsync(buffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
        }
        catch (EndOfStreamException e)
        {
            throw new PeerException(PeerError.ProtocolViolation, $"The stream ended inside a {length}-byte multistream-select message.", e);
        }
        return MultistreamMessage.DecodePayload(buffer.AsSpan(0, length));
    }

    private static void ValidateProtocol(string protocol, string paramName)
    {
        ArgumentNullException.ThrowIfNull(protocol, paramName);
        _ = MultistreamMessage.GetEncodedLength(protocol);
        if (protocol is MultistreamMessage.NotAvailable or MultistreamMessage.List or MultistreamMessage.Header)
        {
            throw new ArgumentException($"\"{protocol}\" is reserved by multistream-select and cannot be proposed.", paramName);
        }
    }

    internal static string Shorten(string text) => text.Length <= 100 ? text : text[..100] + "...";
}
