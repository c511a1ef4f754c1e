using System.Buffers.Binary;
using Pinhole.Nat.Internal;

namespace Pinhole.Nat;

/// <summary>TURN ChannelData framing (RFC 8656 §12.4): a pure parser and writer over buffers.</summary>
public static class TurnChannelData
{
    //  0                   1                   2                   3
    //  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    // +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    // |         Channel Number        |            Length             |
    // +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    // /                       Application Data                        /
    // +-------------------------------+-------------------------------+
    // Channel numbers 0x4000-0x4FFF (RFC 8656 §12); over UDP the data may be padded to 4 bytes.

    /// <summary>Header length.</summary>
    public const int HeaderLength = 4;

    /// <summary>Lowest channel number a client may bind.</summary>
    public const ushort MinChannel = 0x4000;

    /// <summary>Highest channel number a client may bind.</summary>
    public const ushort MaxChannel = 0x4FFF;

    /// <summary>True for a channel number a client may bind.</summary>
    public static bool IsValidChannel(ushort channel) => channel is >= MinChannel and <= MaxChannel;

    /// <summary>Reads one ChannelData message that fills <paramref name="datagram"/> (padding of up to 3 bytes allowed).</summary>
    /// <exception cref="PeerException"><see cref="PeerError.ProtocolViolation"/> saying what is wrong.</exception>
    public static ushort Parse(ReadOnlySpan<byte> datagram, out ReadOnlySpan<byte> data)
    {
        if (!TryParse(datagram, out ushort channel, out data, out string? error))
        {
            throw NatErrors.Malformed("TURN ChannelData", error);
        }
        return channel;
    }

    /// <summary>Like <see cref="Parse"/>, reporting a problem in <paramref name="error"/> instead of throwing.</summary>
    public static bool TryParse(ReadOnlySpan<byte> datagram, out ushort channel, out ReadOnlySpan<byte> data, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? error)
    {
        data = default;
        channel = 0;
        if (datagram.Length < HeaderLength)
        {
            error = $"{datagram.Length} bytes, shorter than the 4-byte header";
            return false;
        }
        channel = BinaryPrimitives.ReadUInt16BigEndian(datagram);
        if (!IsValidChannel(channel))
        {
            error = $"channel number 0x{channel:X4} outside 0x4000-0x4FFF";
            return false;
        }
        int length = BinaryPrimitives.ReadUInt16BigEndian(datagram[2..]);
        int available = datagram.Length - HeaderLength;
        if (length > available)
        {
            error = $"length {length} but only {available} bytes follow";
            return false;
        }
        if (available - length > 3)
        {
            error = $"{available - length} bytes after the data (at most 3 of padding)";
            return false;
        }
        data = datagram.Slice(HeaderLength, length);
        error = null;
        return true;
    }

    /// <summary>Writes the header and <paramref name="data"/> into <paramref name="destination"/>; returns the bytes written (no padding, as on UDP).</summary>
    public static int Write(ushort channel, ReadOnlySpan<byte> data, Span<byte> destination)
    {
        if (!IsValidChannel(channel))
        {
            throw new ArgumentOutOfRangeException(nameof(channel), channel, "A channel number is 0x4000-0x4FFF.");
        }
        if (data.Length > ushort.MaxValue - HeaderLength)
        {
            throw new ArgumentException("ChannelData carries at most 65531 bytes.", nameof(data));
        }
        BinaryPrimitives.WriteUInt16BigEndian(destination, channel);
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)data.Length);
        data.CopyTo(destination[HeaderLength..]);
        return HeaderLength + data.Length;
    }
}
