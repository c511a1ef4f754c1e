using System.Buffers.Binary;

namespace Pinhole.Vpn.DataPlane;

/// <summary>
/// The framing of <c>/pinhole/vpn-relay/1.0.0</c>: a node stream carrying VPN datagrams for peers whose UDP path
/// does not work. Each frame is one datagram exactly as the data-plane socket carries it (<see cref="WireFormat"/>),
/// so handshakes, records, replay and roaming do not know which path a datagram took.
/// <code>
///  0               2       3
///  +---------------+-------+----------------------------- ... -+
///  | length (u16,  | type  | DTLS datagram or data record       |
///  |  BE) = 1 + n  | 04-06 | (n bytes, as on UDP after the type) |
///  +---------------+-------+----------------------------- ... -+
/// </code>
/// STUN (types 0–3) never crosses the relay: it is about the UDP socket's own mapping.
/// </summary>
internal static class RelayFrame
{
    /// <summary>Bytes in front of each datagram.</summary>
    internal const int HeaderLength = 2;

    /// <summary>Largest datagram: the most a UDP datagram can carry over IPv4 (65535 − 20 − 8).</summary>
    internal const int MaxDatagram = 65507;

    /// <summary>Result of <see cref="TryRead"/>.</summary>
    internal enum Status
    {
        /// <summary>A whole frame is at the start of the buffer.</summary>
        Frame,

        /// <summary>The buffer ends inside a frame: read more.</summary>
        NeedMore,

        /// <summary>The stream is corrupt or hostile; <c>error</c> says why.</summary>
        Invalid,
    }

    /// <summary>
    /// Reads the frame at the start of <paramref name="buffer"/>: on <see cref="Status.Frame"/> the datagram is
    /// <c>buffer.Slice(HeaderLength, length)</c> and the frame takes <c>HeaderLength + length</c> bytes. Checks the
    /// length and the type byte before the body is awaited, so a hostile length never makes the reader buffer it.
    /// </summary>
    internal static Status TryRead(ReadOnlySpan<byte> buffer, out int length, out string? error)
    {
        length = 0;
        error = null;
        if (buffer.Length < HeaderLength)
        {
            return Status.NeedMore;
        }
        int declared = BinaryPrimitives.ReadUInt16BigEndian(buffer);
        if (declared == 0)
        {
            error = "vpn-relay: empty frame.";
            return Status.Invalid;
        }
        if (declared > MaxDatagram)
        {
            error = $"vpn-relay: frame of {declared} bytes exceeds {MaxDatagram}.";
            return Status.Invalid;
        }
        if (buffer.Length == HeaderLength)
        {
            return Status.NeedMore;
        }
        byte type = buffer[HeaderLength];
        if (type is not (WireFormat.HandshakeToListener or WireFormat.HandshakeToDialer or WireFormat.Data))
        {
            error = $"vpn-relay: datagram type 0x{type:x2} is not a handshake (0x04, 0x05) or a data record (0x06).";
            return Status.Invalid;
        }
        if (buffer.Length < HeaderLength + declared)
        {
            return Status.NeedMore;
        }
        length = declared;
        return Status.Frame;
    }

    /// <summary>Writes <paramref name="datagram"/> as one frame; returns the bytes written.</summary>
    internal static int Write(Span<byte> destination, ReadOnlySpan<byte> datagram)
    {
        if (datagram.IsEmpty || datagram.Length > MaxDatagram)
        {
            throw new ArgumentOutOfRangeException(nameof(datagram), datagram.Length, $"A relayed datagram is 1 to {MaxDatagram} bytes.");
        }
        BinaryPrimitives.WriteUInt16BigEndian(destination, (ushort)datagram.Length);
        datagram.CopyTo(destination[HeaderLength..]);
        return HeaderLength + datagram.Length;
    }

    /// <summary>Every frame of a whole buffer (the fuzz target's entry): the count read, or the error that stopped it.</summary>
    internal static (int Frames, string? Error) ReadAll(ReadOnlySpan<byte> buffer)
    {
        int frames = 0;
        while (true)
        {
            switch (TryRead(buffer, out int length, out string? error))
            {
                case Status.Frame:
                    frames++;
                    buffer = buffer[(HeaderLength + length)..];
                    break;
                case Status.Invalid:
                    return (frames, error);
                default:
                    return (frames, null);
            }
        }
    }
}
