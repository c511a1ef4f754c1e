using System.Buffers.Binary;
using Pinhole.Vpn.Offload;

namespace Pinhole.Vpn.Packets;

/// <summary>
/// Builds the ICMP error a router sends for a packet too big for the next link: ICMPv4 "fragmentation
/// needed" (type 3 code 4, RFC 1191 §4: next-hop MTU in bytes 6–7) and ICMPv6 "packet too big" (type 2,
/// RFC 4443 §3.2). The error comes from the packet's destination, so it routes back through the tunnel,
/// and quotes as much of the packet as RFC 1812 (576 bytes in all) and RFC 4443 (1280) allow.
/// Errors are never sent about ICMP errors.
/// <code>
/// ICMPv4: type 3 | code 4 | checksum (2) | unused (2) | next-hop MTU (2) | original IP header + data ...
/// ICMPv6: type 2 | code 0 | checksum (2) | MTU (4) | as much of the original packet as fits ...
/// </code>
/// </summary>
internal static class IcmpTooBig
{
    private const int Ipv4Max = 576;
    private const int Ipv6Max = 1280;

    /// <summary>
    /// Writes the error for <paramref name="packet"/> (limit <paramref name="mtu"/>) into <paramref name="output"/>
    /// (at least 1280 bytes); returns its length, or 0 if no error should be sent.
    /// </summary>
    internal static int Build(ReadOnlySpan<byte> packet, int mtu, Span<byte> output)
    {
        int version = IpHeader.Version(packet);
        if (version == 4)
        {
            int ihl = (packet[0] & 0x0F) * 4;
            if (ihl < 20 || packet.Length < ihl + 8 || IsIcmpError(packet[9], packet[ihl], v6: false) || (packet[6] & 0x1F) != 0 || packet[7] != 0)
            {
                return 0;
            }
            int quoted = Math.Min(packet.Length, Ipv4Max - 28);
            int total = 28 + quoted;
            Span<byte> o = output[..total];
            o.Clear();
            o[0] = 0x45;
            BinaryPrimitives.WriteUInt16BigEndian(o[2..], (ushort)total);
            o[6] = IpHeader.Ipv4DontFragment;
            o[8] = 64;
            o[9] = IpHeader.ProtocolIcmp;
            packet.Slice(16, 4).CopyTo(o[12..]); // from the original destination
            packet.Slice(12, 4).CopyTo(o[16..]); // to the original source
            IpHeader.SetIpv4Checksum(o, 20);
            o[20] = 3;
            o[21] = 4;
            BinaryPrimitives.WriteUInt16BigEndian(o[26..], (ushort)Math.Clamp(mtu, 68, 65535));
            packet[..quoted].CopyTo(o[28..]);
            BinaryPrimitives.WriteUInt16BigEndian(o[22..], Checksum.Finish(Checksum.Add(o[20..])));
            return total;
        }
        if (version == 6)
        {
            if (packet.Length < 48 || IsIcmpError(packet[6], packet[40], v6: true) || packet[8] == 0xFF)
            {
                return 0;
            }
            int quoted = Math.Min(packet.Length, Ipv6Max - 48);
            int total = 48 + quoted;
            Span<byte> o = output[..total];
            o.Clear();
            o[0] = 0x60;
            BinaryPrimitives.WriteUInt16BigEndian(o[4..], (ushort)(total - 40));
            o[6] = IpHeader.ProtocolIcmpv6;
            o[7] = 64;
            packet.Slice(24, 16).CopyTo(o[8..]);
            packet.Slice(8, 16).CopyTo(o[24..]);
            o[40] = 2;
            BinaryPrimitives.WriteUInt32BigEndian(o[44..], (uint)Math.Max(mtu, 1280));
            packet[..quoted].CopyTo(o[48..]);
            ulong sum = Checksum.PseudoHeader(o.Slice(8, 16), o.Slice(24, 16), IpHeader.ProtocolIcmpv6, total - 40);
            BinaryPrimitives.WriteUInt16BigEndian(o[42..], Checksum.Finish(Checksum.Add(o[40..], sum)));
            return total;
        }
        return 0;
    }

    // ICMPv4 errors: 3, 4, 5, 11, 12; ICMPv6 errors: types below 128.
    private static bool IsIcmpError(byte protocol, byte type, bool v6) =>
        v6 ? protocol == IpHeader.ProtocolIcmpv6 && type < 128 : protocol == IpHeader.ProtocolIcmp && type is 3 or 4 or 5 or 11 or 12;
}
