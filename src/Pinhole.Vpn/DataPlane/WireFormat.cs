using System.Buffers.Binary;

namespace Pinhole.Vpn.DataPlane;

/// <summary>
/// What the data plane's UDP socket carries. Every datagram starts with a type byte, chosen from RFC 7983's
/// unassigned range 4–15 so that STUN (first byte 0–3) shares the socket: the data plane learns its public mapping
/// with Binding requests on this very socket.
/// <code>
/// 0x00-0x03 STUN (RFC 8489): Binding responses to this socket's own requests; anything else is dropped
/// 0x04 handshake, to the receiver's DTLS listener:  | 0x04 | DTLS 1.2 datagram ...            |
/// 0x05 handshake, to the receiver's DTLS dialer:    | 0x05 | DTLS 1.2 datagram ...            |
/// 0x06 data record:
///  0      1                  5                        13                    13+n        13+n+16
///  +------+------------------+------------------------+---------------------+-----------+
///  | 0x06 | receiver index   | counter (u64, BE)      | ciphertext (n)      | tag (16)  |
///  +------+------------------+------------------------+---------------------+-----------+
///         (u32, BE: picks    = the explicit nonce      AES-256-GCM, key from the DTLS
///          the keypair)        (salt(4) | counter)      exporter; AAD = counter|type|0|0|len
/// </code>
/// The plaintext of a data record is empty (a keepalive), an IPv4/IPv6 packet (first nibble 4 or 6), or a
/// control message: <c>0x01 | kind | id (u32, BE) | padding</c> with kind 1 = ping (padded to probe a path
/// MTU), 2 = pong. The receiver index lets a peer roam: records are matched to keys by index, never by
/// source address, and the peer's endpoint moves only after a record from the new address authenticates.
/// </summary>
internal static class WireFormat
{
    internal const byte HandshakeToListener = 0x04;
    internal const byte HandshakeToDialer = 0x05;
    internal const byte Data = 0x06;

    /// <summary>True for a first byte in RFC 7983's STUN range (0–3).</summary>
    internal static bool IsStun(byte first) => first <= 3;

    /// <summary>Bytes in front of the plaintext: type, receiver index, counter.</summary>
    internal const int DataHeaderLength = 13;

    /// <summary>Bytes after the plaintext: the GCM tag.</summary>
    internal const int TagLength = 16;

    /// <summary>Record overhead over the plaintext (29 bytes).</summary>
    internal const int DataOverhead = DataHeaderLength + TagLength;

    internal const byte ControlMarker = 0x01;
    internal const byte ControlPing = 1;
    internal const byte ControlPong = 2;
    internal const byte ControlProbe = 3;     // a relayed peer asks over UDP whether UDP works again
    internal const byte ControlProbeAck = 4;  // the answer, sent back to the probe's source
    internal const int ControlLength = 6;

    /// <summary>
    /// Reads a data record's header; false (never an exception) if <paramref name="datagram"/> is not a data
    /// record long enough to hold a tag.
    /// </summary>
    internal static bool TryReadDataHeader(ReadOnlySpan<byte> datagram, out uint receiverIndex, out ulong counter)
    {
        if (datagram.Length < DataOverhead || datagram[0] != Data)
        {
            receiverIndex = 0;
            counter = 0;
            return false;
        }
        receiverIndex = BinaryPrimitives.ReadUInt32BigEndian(datagram[1..]);
        counter = BinaryPrimitives.ReadUInt64BigEndian(datagram[5..]);
        return receiverIndex != 0;
    }

    /// <summary>Writes the type and receiver index (the counter is written by the cipher as its nonce).</summary>
    internal static void WriteDataHeader(Span<byte> header, uint receiverIndex)
    {
        header[0] = Data;
        BinaryPrimitives.WriteUInt32BigEndian(header[1..], receiverIndex);
    }

    /// <summary>Reads a control message (ping/pong, probe/ack); false if <paramref name="plaintext"/> is not one.</summary>
    internal static bool TryReadControl(ReadOnlySpan<byte> plaintext, out byte kind, out uint id)
    {
        if (plaintext.Length < ControlLength || plaintext[0] != ControlMarker || plaintext[1] is not (ControlPing or ControlPong or ControlProbe or ControlProbeAck))
        {
            kind = 0;
            id = 0;
            return false;
        }
        kind = plaintext[1];
        id = BinaryPrimitives.ReadUInt32BigEndian(plaintext[2..]);
        return true;
    }

    /// <summary>Writes a control message into the first 6 bytes of <paramref name="plaintext"/> (the rest is padding, zeroed).</summary>
    internal static void WriteControl(Span<byte> plaintext, byte kind, uint id)
    {
        plaintext.Clear();
        plaintext[0] = ControlMarker;
        plaintext[1] = kind;
        BinaryPrimitives.WriteUInt32BigEndian(plaintext[2..], id);
    }
}
