using System.Buffers.Binary;

namespace Pinhole.Nat;

/// <summary>What the first four bytes of a frame on a TURN TCP/TLS connection say.</summary>
public enum TurnFrameStatus
{
    /// <summary>A frame: read <c>frameLength</c> bytes in all, deliver the first <c>datagramLength</c>.</summary>
    Frame,
    /// <summary>Fewer than four bytes given.</summary>
    NeedMore,
    /// <summary>Neither STUN nor ChannelData, or a length that breaks the rules: the connection cannot be resynchronised.</summary>
    Invalid,
}

/// <summary>
/// Framing of TURN over TCP and TLS (RFC 8656 §12.5, RFC 8489 §6.2.2): STUN messages and ChannelData follow each
/// other on the stream with no other delimiter, each saying its own length.
/// <code>
/// STUN          0 0 | type (14) | length (16) | magic cookie (32) | transaction id (96) | attributes [length]
///               frame = 20 + length; length a multiple of 4
/// ChannelData   channel (16, 0x4000–0x4FFF) | length (16) | data [length] | padding to a multiple of 4
///               frame = 4 + length + pad; the datagram handed on is 4 + length (the padding is dropped)
/// </code>
/// Pure: it reads four bytes and allocates nothing; the caller bounds the frame by its buffer before reading on.
/// </summary>
public static class TurnStreamFraming
{
    /// <summary>Bytes needed to measure a frame.</summary>
    public const int HeaderLength = 4;

    /// <summary>Largest frame accepted: a whole UDP datagram's worth.</summary>
    public const int MaxFrameLength = 65_535;

    /// <summary>Measures the frame that starts with <paramref name="header"/>.</summary>
    /// <param name="header">At least the first four bytes of the frame.</param>
    /// <param name="frameLength">Bytes the frame takes on the stream, header included.</param>
    /// <param name="datagramLength">Bytes of it to hand on as one datagram.</param>
    /// <param name="error">Why the frame is invalid, else null.</param>
    public static TurnFrameStatus Measure(ReadOnlySpan<byte> header, out int frameLength, out int datagramLength, out string? error)
    {
        frameLength = datagramLength = 0;
        error = null;
        if (header.Length < HeaderLength)
        {
            return TurnFrameStatus.NeedMore;
        }
        int length = BinaryPrimitives.ReadUInt16BigEndian(header[2..]);
        byte first = header[0];
        if ((first & 0xC0) == 0)
        {
            if (length % 4 != 0)
            {
                error = $"a STUN message length of {length} (not a multiple of 4)";
                return TurnFrameStatus.Invalid;
            }
            frameLength = datagramLength = StunMessage.HeaderLength + length;
        }
        else if (first is >= 0x40 and <= 0x4F)
        {
            datagramLength = HeaderLength + length;
            frameLength = datagramLength + ((4 - (length % 4)) % 4);
        }
        else
        {
            error = $"a frame starting with 0x{first:X2} (neither STUN nor a ChannelData channel 0x4000–0x4FFF)";
            return TurnFrameStatus.Invalid;
        }
        if (frameLength > MaxFrameLength)
        {
            error = $"a {frameLength}-byte frame (at most {MaxFrameLength})";
            return TurnFrameStatus.Invalid;
        }
        return TurnFrameStatus.Frame;
    }

    /// <summary>Padding a ChannelData message needs on a stream (0–3 bytes; a STUN message needs none).</summary>
    public static int PaddingFor(ReadOnlySpan<byte> datagram) =>
        datagram.Length >= 1 && datagram[0] is >= 0x40 and <= 0x4F ? (4 - (datagram.Length % 4)) % 4 : 0;
}
