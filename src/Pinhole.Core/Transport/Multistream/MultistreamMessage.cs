using System.Buffers;
using System.Text;
using Pinhole.Codecs;

namespace Pinhole.Transport.Multistream;

/// <summary>
/// Encoding of one multistream-select 1.0 message (multiformats/multistream-select, libp2p/specs
/// connections/README.md "Protocol Negotiation"). Pure functions over buffers.
/// </summary>
/// <remarks>
/// <code>
/// +-------------------+--------------------------------+------+
/// | uvarint(length)   | UTF-8 text (length - 1 bytes)  | 0x0a |
/// +-------------------+--------------------------------+------+
///   length counts the text and the '\n'; we accept at most 1024 (go-multistream's limit too).
///
/// "/multistream/1.0.0" = 13 2f 6d 75 6c 74 69 73 74 72 65 61 6d 2f 31 2e 30 2e 30 0a
/// "na"                 = 03 6e 61 0a
/// </code>
/// </remarks>
internal static class MultistreamMessage
{
    /// <summary>The protocol id of multistream-select 1.0, sent first by both sides.</summary>
    public const string Header = "/multistream/1.0.0";

    /// <summary>"Not available": the listener's answer to a protocol it does not speak.</summary>
    public const string NotAvailable = "na";

    /// <summary>The optional list request; Pinhole answers it with <see cref="NotAvailable"/>.</summary>
    public const string List = "ls";

    /// <summary>Largest length prefix accepted (text + newline), checked before any buffer is used.</summary>
    public const int MaxLength = 1024;

    /// <summary>A length below 1024 fits in two varint bytes.</summary>
    public const int MaxPrefixLength = 2;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Bytes needed to encode <paramref name="text"/>; throws <see cref="ArgumentException"/> for text that cannot be sent.</summary>
    public static int GetEncodedLength(string text)
    {
        var length = GetPayloadLength(text);
        return Varint.GetLength((ulong)length) + length;
    }

    /// <summary>Writes one message; returns the bytes written.</summary>
    public static int Write(Span<byte> destination, string text)
    {
        var length = GetPayloadLength(text);
        var n = Varint.Write(destination, (ulong)length);
        n += StrictUtf8.GetBytes(text, destination[n..]);
        destination[n++] = (byte)'\n';
        return n;
    }

    /// <summary>Encodes several messages back to back (e.g. header and proposal, sent in one write).</summary>
    public static byte[] Encode(params ReadOnlySpan<string> messages)
    {
        var total = 0;
        foreach (var m in messages)
        {
            total += GetEncodedLength(m);
        }
        var bytes = new byte[total];
        var offset = 0;
        foreach (var m in messages)
        {
            offset += Write(bytes.AsSpan(offset), m);
        }
        return bytes;
    }

    /// <summary>
    /// Reads one message from the start of <paramref name="buffer"/>. Returns false when the buffer
    /// holds only part of it (read more, then call again); throws <see cref="PeerException"/> with
    /// <see cref="PeerError.ProtocolViolation"/> for bytes that can never become a valid message.
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> buffer, out string? message, out int consumed)
    {
        message = null;
        consumed = 0;
        if (!TryReadLength(buffer, out var length, out var prefix))
        {
            return false;
        }
        if (buffer.Length - prefix < length)
        {
            return false;
        }
        message = DecodePayload(buffer.Slice(prefix, length));
        consumed = prefix + length;
        return true;
    }

    /// <summary>
    /// Reads the length prefix. False when more bytes are needed; throws when the prefix is invalid or
    /// announces more than <see cref="MaxLength"/>, so a reader never buffers more than that.
    /// </summary>
    public static bool TryReadLength(ReadOnlySpan<byte> buffer, out int length, out int prefixLength)
    {
        length = 0;
        prefixLength = 0;
        var status = Varint.TryRead(buffer[..Math.Min(buffer.Length, MaxPrefixLength)], out var value, out var read);
        switch (status)
        {
            case Varint.ReadStatus.Done:
                break;
            case Varint.ReadStatus.NeedMoreData when buffer.Length < MaxPrefixLength:
                return false;
            case Varint.ReadStatus.NeedMoreData:
                throw Violation($"multistream-select message length prefix is longer than {MaxPrefixLength} bytes (message over {MaxLength} bytes).");
            default:
                throw Violation("multistream-select message length prefix is not a minimal varint.");
        }
        if (value == 0)
        {
            throw Violation("Empty multistream-select message (length 0, not even a newline).");
        }
        if (value > MaxLength)
        {
            throw Violation($"multistream-select message of {value} bytes exceeds the limit of {MaxLength}.");
        }
        length = (int)value;
        prefixLength = read;
        return true;
    }

    /// <summary>Decodes the bytes after the length prefix: UTF-8 text ending with exactly one '\n'.</summary>
    public static string DecodePayload(ReadOnlySpan<byte> payload)
    {
        if (payload.IsEmpty || payload[^1] != (byte)'\n')
        {
            throw Violation($"multistream-select message does not end with a newline: {Describe(payload)}.");
        }
        var text = payload[..^1];
        if (text.Contains((byte)'\n'))
        {
            throw Violation($"multistream-select message contains more than one line: {Describe(payload)}.");
        }
        try
        {
            return StrictUtf8.GetString(text);
        }
        catch (DecoderFallbackException e)
        {
            throw new PeerException(PeerError.ProtocolViolation, $"multistream-select message is not valid UTF-8: {Describe(payload)}.", e);
        }
    }

    private static int GetPayloadLength(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length == 0)
        {
            throw new ArgumentException("A multistream-select message cannot be empty.", nameof(text));
        }
        if (text.Contains('\n', StringComparison.Ordinal))
        {
            throw new ArgumentException($"A multistream-select message cannot contain a newline: \"{text.ReplaceLineEndings("\\n")}\".", nameof(text));
        }
        int length;
        try
        {
            length = StrictUtf8.GetByteCount(text) + 1;
        }
        catch (EncoderFallbackException e)
        {
            throw new ArgumentException("A multistream-select message must be valid Unicode (unpaired surrogate).", nameof(text), e);
        }
        if (length > MaxLength)
        {
            throw new ArgumentException($"Protocol id is {length - 1} bytes long; multistream-select messages are limited to {MaxLength - 1} bytes of text.", nameof(text));
        }
        return length;
    }

    internal static PeerException Violation(string message) => new(PeerError.ProtocolViolation, message);

    /// <summary>Shows the first bytes of bad input as hex, for error messages.</summary>
    internal static string Describe(ReadOnlySpan<byte> bytes)
    {
        var shown = bytes[..Math.Min(bytes.Length, 32)];
        return $"{bytes.Length} bytes {Convert.ToHexStringLower(shown)}{(bytes.Length > shown.Length ? "..." : "")}";
    }

    /// <summary>Rents a buffer big enough for any message.</summary>
    internal static byte[] RentBuffer() => ArrayPool<byte>.Shared.Rent(MaxLength);

    /// <summary>Returns a buffer from <see cref="RentBuffer"/>.</summary>
    internal static void ReturnBuffer(byte[] buffer) => ArrayPool<byte>.Shared.Return(buffer);
}
