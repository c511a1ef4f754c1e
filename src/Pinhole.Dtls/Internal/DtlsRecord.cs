using System.Buffers.Binary;

namespace Pinhole.Dtls.Internal;

/// <summary>
/// Pure parsing of DTLS 1.0/1.2 record and handshake headers (RFC 6347 §4.1, §4.2.2), used to
/// pre-filter datagrams from unknown sources before OpenSSL sees them and to cut OpenSSL's output
/// stream into datagrams. Never throws on bad input; never allocates.
/// </summary>
/// <remarks>
/// <code>
/// DTLS record header (13 bytes)
///  0        1        2        3        4        5 ... 10           11       12
/// +--------+--------+--------+--------+--------+-----------------+--------+--------+
/// |  type  | version (254,253|255)    | epoch (16)      | sequence_number (48)     | length (16)     | fragment...
/// +--------+--------+--------+--------+--------+-----------------+--------+--------+
/// type: 20 change_cipher_spec, 21 alert, 22 handshake, 23 application_data
///
/// Handshake header (12 bytes, inside a type-22 record)
/// +--------+--------------------------+-----------------+--------------------------+--------------------------+
/// |msg_type| length (24)              | message_seq (16)| fragment_offset (24)     | fragment_length (24)     |
/// +--------+--------------------------+-----------------+--------------------------+--------------------------+
/// msg_type 1 = client_hello; a ClientHello body starts with client_version (2) and random (32).
/// </code>
/// </remarks>
internal static class DtlsRecord
{
    /// <summary>Bytes in a DTLS record header.</summary>
    internal const int HeaderLength = 13;

    /// <summary>Bytes in a DTLS handshake message header.</summary>
    internal const int HandshakeHeaderLength = 12;

    internal const byte ContentHandshake = 22;
    internal const byte HandshakeClientHello = 1;

    /// <summary>
    /// Length of the first record in <paramref name="data"/> including its header, or -1 if the header is
    /// truncated, not DTLS, or claims more bytes than present.
    /// </summary>
    internal static int RecordLength(ReadOnlySpan<byte> data)
    {
        if (data.Length < HeaderLength || data[1] != 0xFE)
        {
            return -1;
        }
        int length = BinaryPrimitives.ReadUInt16BigEndian(data.Slice(11, 2));
        int total = HeaderLength + length;
        return total <= data.Length ? total : -1;
    }

    /// <summary>
    /// True if <paramref name="datagram"/> starts with an unencrypted (epoch 0), unfragmented ClientHello
    /// record: the only thing a source without a session may send us.
    /// </summary>
    internal static bool IsClientHello(ReadOnlySpan<byte> datagram)
    {
        int total = RecordLength(datagram);
        if (total < 0 || datagram[0] != ContentHandshake)
        {
            return false;
        }
        // DTLS 1.0 (254,255) or 1.2 (254,253) in the record layer.
        if (datagram[2] != 0xFF && datagram[2] != 0xFD)
        {
            return false;
        }
        if (BinaryPrimitives.ReadUInt16BigEndian(datagram.Slice(3, 2)) != 0)
        {
            return false;
        }
        ReadOnlySpan<byte> body = datagram[HeaderLength..total];
        if (body.Length < HandshakeHeaderLength + 2 + 32 + 1 || body[0] != HandshakeClientHello)
        {
            return false;
        }
        int messageLength = ReadUInt24(body[1..]);
        int fragmentOffset = ReadUInt24(body[6..]);
        int fragmentLength = ReadUInt24(body[9..]);
        return fragmentOffset == 0
            && fragmentLength == messageLength
            && HandshakeHeaderLength + fragmentLength <= body.Length;
    }

    /// <summary>Bytes of ClientHello.random.</summary>
    internal const int RandomLength = 32;

    /// <summary>
    /// The 32-byte random of a ClientHello datagram (see <see cref="IsClientHello"/>), which tells a
    /// retransmitted or duplicated ClientHello from a new handshake; empty if it is not a ClientHello.
    /// </summary>
    internal static ReadOnlySpan<byte> ClientRandom(ReadOnlySpan<byte> datagram)
        => IsClientHello(datagram) ? datagram.Slice(HeaderLength + HandshakeHeaderLength + 2, RandomLength) : default;

    /// <summary>
    /// Cuts a stream of whole records into datagrams of at most <paramref name="mtu"/> bytes, packing
    /// consecutive records together (RFC 6347 §4.1.1 allows several records per datagram). A record larger
    /// than the MTU gets a datagram of its own. Writes (offset, length) pairs into <paramref name="cuts"/>
    /// and returns how many; -1 if the stream is not whole records or <paramref name="cuts"/> is too small.
    /// </summary>
    internal static int Pack(ReadOnlySpan<byte> records, int mtu, Span<(int Offset, int Length)> cuts)
    {
        int count = 0;
        int position = 0;
        int start = 0;
        while (position < records.Length)
        {
            int length = RecordLength(records[position..]);
            if (length < 0)
            {
                return -1;
            }
            if (position + length - start > mtu && position > start)
            {
                if (count == cuts.Length)
                {
                    return -1;
                }
                cuts[count++] = (start, position - start);
                start = position;
            }
            position += length;
        }
        if (position > start)
        {
            if (count == cuts.Length)
            {
                return -1;
            }
            cuts[count++] = (start, position - start);
        }
        return count;
    }

    private static int ReadUInt24(ReadOnlySpan<byte> b) => (b[0] << 16) | (b[1] << 8) | b[2];
}
