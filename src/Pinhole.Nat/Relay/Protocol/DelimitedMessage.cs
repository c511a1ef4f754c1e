using System.Buffers;
using Pinhole.Codecs;

namespace Pinhole.Nat.Relay.Protocol;

/// <summary>
/// The framing of circuit relay v2 (hop, stop) and DCUtR messages: an unsigned varint length, then that many
/// bytes of protobuf. Implementations refuse messages over 4 KiB (go-libp2p's limit; DCUtR.md says SHOULD).
/// </summary>
/// <remarks>
/// <code>
/// +------------------------+---------------------------+
/// | uvarint(length) 1-2 B  | protobuf message (length) |
/// +------------------------+---------------------------+
/// length ≤ 4096, so the prefix is at most 2 bytes; a 3rd prefix byte already announces too much.
/// </code>
/// Readers take the prefix byte by byte and then exactly <c>length</c> bytes, never more: on the hop and stop
/// streams the bytes after the last message belong to the relayed connection (a TLS ClientHello).
/// </remarks>
internal static class DelimitedMessage
{
    /// <summary>Largest message body accepted or sent.</summary>
    public const int MaxLength = 4096;

    /// <summary>Outcome of <see cref="TryRead"/>.</summary>
    public enum ReadStatus
    {
        /// <summary>One message was read.</summary>
        Done,
        /// <summary>The buffer ends inside the message.</summary>
        NeedMoreData,
    }

    /// <summary>
    /// Takes one message from the front of <paramref name="buffer"/>: pure, for parsers and fuzzing.
    /// Throws <see cref="FormatException"/> for a bad prefix or a length over <paramref name="maxLength"/>
    /// (checked before anything is buffered).
    /// </summary>
    public static ReadStatus TryRead(ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> body, out SequencePosition consumed, int maxLength = MaxLength)
    {
        body = default;
        consumed = buffer.Start;
        Span<byte> prefix = stackalloc byte[3];
        var available = (int)Math.Min(buffer.Length, prefix.Length);
        buffer.Slice(0, available).CopyTo(prefix);
        var status = Varint.TryRead(prefix[..available], out var length, out var read, prefix.Length);
        if (status == Varint.ReadStatus.NeedMoreData)
        {
            return ReadStatus.NeedMoreData;
        }
        if (status == Varint.ReadStatus.Invalid)
        {
            throw new FormatException($"Invalid message length prefix (over {maxLength} bytes or not minimally encoded).");
        }
        if (length > (ulong)maxLength)
        {
            throw new FormatException($"Message of {length} bytes exceeds the limit of {maxLength}.");
        }
        if (buffer.Length - read < (long)length)
        {
            return ReadStatus.NeedMoreData;
        }
        body = buffer.Slice(read, (long)length);
        consumed = body.End;
        return ReadStatus.Done;
    }

    /// <summary>Frames <paramref name="body"/>: prefix and body in one array, for one write.</summary>
    public static byte[] Frame(ReadOnlySpan<byte> body)
    {
        if (body.Length > MaxLength)
        {
            throw new ArgumentException($"A message is at most {MaxLength} bytes; this one has {body.Length}.", nameof(body));
        }
        var frame = new byte[Varint.GetLength((ulong)body.Length) + body.Length];
        var n = Varint.Write(frame, (ulong)body.Length);
        body.CopyTo(frame.AsSpan(n));
        return frame;
    }

    /// <summary>Writes one framed message and flushes.</summary>
    public static async ValueTask WriteAsync(Stream stream, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        await stream.WriteAsync(Frame(body.Span), cancellationToken).ConfigureAwait(false);
        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Reads exactly one message from <paramref name="stream"/> (nothing after it). Returns null at a clean end of
    /// stream before the first byte; throws <see cref="PeerException"/> (<see cref="PeerError.ProtocolViolation"/>) for
    /// a bad or oversized prefix and for a stream that ends inside a message. <paramref name="what"/> names the protocol in errors.
    /// </summary>
    public static async ValueTask<byte[]?> ReadAsync(Stream stream, string what, CancellationToken cancellationToken, int maxLength = MaxLength)
    {
        var prefix = new byte[3];
        var length = -1;
        for (var i = 0; i < prefix.Length && length < 0; i++)
        {
            if (await stream.ReadAsync(prefix.AsMemory(i, 1), cancellationToken).ConfigureAwait(false) == 0)
            {
                return i == 0 ? null : throw new PeerException(PeerError.ProtocolViolation, $"The {what} stream ended inside a length prefix.");
            }
            switch (Varint.TryRead(prefix.AsSpan(0, i + 1), out var value, out _, prefix.Length))
            {
                case Varint.ReadStatus.Done when value > (ulong)maxLength:
                    throw new PeerException(PeerError.ProtocolViolation, $"{what} message of {value} bytes exceeds the limit of {maxLength}.");
                case Varint.ReadStatus.Done:
                    length = (int)value;
                    break;
                case Varint.ReadStatus.Invalid:
                    throw new PeerException(PeerError.ProtocolViolation, $"Invalid {what} length prefix.");
                default:
                    break;
            }
        }
        if (length < 0)
        {
            throw new PeerException(PeerError.ProtocolViolation, $"{what} length prefix announces more than {maxLength} bytes.");
        }
        var body = new byte[length];
        try
        {
            await stream.ReadExactlyAsync(body, cancellationToken).ConfigureAwait(false);
        }
        catch (EndOfStreamException e)
        {
            throw new PeerException(PeerError.ProtocolViolation, $"The {what} stream ended inside a {length}-byte message.", e);
        }
        return body;
    }
}
