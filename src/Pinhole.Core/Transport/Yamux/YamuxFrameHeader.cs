using System.Buffers;
using System.Buffers.Binary;

namespace Pinhole.Transport.Yamux;

/// <summary>
/// The 12-byte yamux frame header (libp2p/specs yamux/README.md, hashicorp/yamux spec.md).
/// All fields are big-endian.
/// </summary>
/// <remarks>
/// <code>
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +---------------+---------------+-------------------------------+
/// |  Version (0)  |     Type      |     Flags (SYN=1 ACK=2 FIN=4 RST=8)
/// +---------------+---------------+-------------------------------+
/// |                          Stream ID                            |
/// +---------------------------------------------------------------+
/// |                            Length                             |
/// +---------------------------------------------------------------+
/// Type:   0 Data (Length = payload bytes that follow)
///         1 Window Update (Length = window delta)
///         2 Ping (Length = opaque value, echoed; Stream ID 0)
///         3 Go Away (Length = code: 0 normal, 1 protocol error, 2 internal error; Stream ID 0)
/// Stream ID: odd for streams the client opens, even for the server's; 0 is the session.
/// </code>
/// </remarks>
internal readonly record struct YamuxFrameHeader(YamuxFrameType Type, YamuxFlags Flags, uint StreamId, uint Length)
{
    /// <summary>Bytes in a header.</summary>
    public const int Size = 12;

    /// <summary>The only version defined.</summary>
    public const byte Version = 0;

    /// <summary>Parses a header from the first <see cref="Size"/> bytes of <paramref name="source"/>.</summary>
    /// <exception cref="FormatException">The version or type is unknown.</exception>
    public static YamuxFrameHeader Parse(ReadOnlySpan<byte> source)
    {
        if (source.Length < Size)
        {
            throw new ArgumentException($"A yamux header needs {Size} bytes, got {source.Length}.", nameof(source));
        }
        if (source[0] != Version)
        {
            throw new FormatException($"Unsupported yamux version {source[0]} (only 0 is defined).");
        }
        var type = source[1];
        if (type > (byte)YamuxFrameType.GoAway)
        {
            throw new FormatException($"Unknown yamux frame type {type}.");
        }
        // Unknown flag bits are kept: the spec reserves them, and older peers ignore them too.
        return new YamuxFrameHeader(
            (YamuxFrameType)type,
            (YamuxFlags)BinaryPrimitives.ReadUInt16BigEndian(source[2..]),
            BinaryPrimitives.ReadUInt32BigEndian(source[4..]),
            BinaryPrimitives.ReadUInt32BigEndian(source[8..]));
    }

    /// <summary>Parses a header from the start of <paramref name="buffer"/>; false if fewer than <see cref="Size"/> bytes are there.</summary>
    /// <exception cref="FormatException">The version or type is unknown.</exception>
    public static bool TryParse(in ReadOnlySequence<byte> buffer, out YamuxFrameHeader header)
    {
        if (buffer.Length < Size)
        {
            header = default;
            return false;
        }
        var first = buffer.FirstSpan;
        if (first.Length >= Size)
        {
            header = Parse(first);
            return true;
        }
        Span<byte> copy = stackalloc byte[Size];
        buffer.Slice(0, Size).CopyTo(copy);
        header = Parse(copy);
        return true;
    }

    /// <summary>Writes the header into the first <see cref="Size"/> bytes of <paramref name="destination"/>.</summary>
    public void Write(Span<byte> destination)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(destination.Length, Size, nameof(destination));
        destination[0] = Version;
        destination[1] = (byte)Type;
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)Flags);
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], StreamId);
        BinaryPrimitives.WriteUInt32BigEndian(destination[8..], Length);
    }
}
