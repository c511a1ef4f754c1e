using System.Buffers.Binary;

namespace Pinhole.Vpn.Packets;

/// <summary>
/// Field offsets and checks of IPv4 (RFC 791) and IPv6 (RFC 8200) headers, TCP (RFC 9293) and UDP
/// (RFC 768), as pure functions over the packet bytes.
/// <code>
/// IPv4: 0 ver|ihl  1 tos  2-3 total length  4-5 id  6-7 flags|fragment  8 ttl  9 protocol  10-11 checksum
///       12-15 source  16-19 destination  (options to ihl*4)
/// IPv6: 0-3 ver|traffic class|flow label  4-5 payload length  6 next header  7 hop limit
///       8-23 source  24-39 destination
/// TCP:  0-1 src port  2-3 dst port  4-7 seq  8-11 ack  12 data offset  13 flags  14-15 window  16-17 checksum
/// UDP:  0-1 src port  2-3 dst port  4-5 length  6-7 checksum
/// </code>
/// </summary>
internal static class IpHeader
{
    internal const int Ipv4MinLength = 20;
    internal const int Ipv6Length = 40;
    internal const int Ipv4SourceOffset = 12;
    internal const int Ipv6SourceOffset = 8;
    internal const int TcpMinLength = 20;
    internal const int UdpLength = 8;
    internal const int TcpFlagsOffset = 13;
    internal const int TcpChecksumOffset = 16;
    internal const int UdpChecksumOffset = 6;
    internal const byte TcpFin = 0x01;
    internal const byte TcpSyn = 0x02;
    internal const byte TcpRst = 0x04;
    internal const byte TcpPsh = 0x08;
    internal const byte TcpAck = 0x10;
    internal const byte TcpCwr = 0x80;
    internal const byte ProtocolTcp = 6;
    internal const byte ProtocolUdp = 17;
    internal const byte ProtocolIcmp = 1;
    internal const byte ProtocolIcmpv6 = 58;
    internal const byte Ipv4MoreFragments = 0x20;
    internal const byte Ipv4DontFragment = 0x40;

    /// <summary>4, 6, or 0 when the packet is too short for its version's fixed header.</summary>
    internal static int Version(ReadOnlySpan<byte> packet)
    {
        if (packet.IsEmpty)
        {
            return 0;
        }
        int version = packet[0] >> 4;
        return version switch
        {
            4 when packet.Length >= Ipv4MinLength => 4,
            6 when packet.Length >= Ipv6Length => 6,
            _ => 0,
        };
    }

    /// <summary>Source address bytes (4 or 16); the packet's version must have been checked.</summary>
    internal static ReadOnlySpan<byte> Source(ReadOnlySpan<byte> packet, int version)
        => version == 4 ? packet.Slice(Ipv4SourceOffset, 4) : packet.Slice(Ipv6SourceOffset, 16);

    /// <summary>Destination address bytes (4 or 16); the packet's version must have been checked.</summary>
    internal static ReadOnlySpan<byte> Destination(ReadOnlySpan<byte> packet, int version)
        => version == 4 ? packet.Slice(Ipv4SourceOffset + 4, 4) : packet.Slice(Ipv6SourceOffset + 16, 16);

    /// <summary>The length the header says the packet has (IPv4 total length, IPv6 40 + payload length).</summary>
    internal static int DeclaredLength(ReadOnlySpan<byte> packet, int version)
        => version == 4 ? BinaryPrimitives.ReadUInt16BigEndian(packet[2..]) : Ipv6Length + BinaryPrimitives.ReadUInt16BigEndian(packet[4..]);

    /// <summary>Writes the IPv4 header checksum of the first <paramref name="headerLength"/> bytes.</summary>
    internal static void SetIpv4Checksum(Span<byte> packet, int headerLength)
    {
        packet[10] = 0;
        packet[11] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(packet[10..], Offload.Checksum.Ipv4Header(packet[..headerLength]));
    }
}
