using System.Buffers.Binary;
using Pinhole.Vpn.Offload;

namespace Pinhole.Vpn.Packets;

/// <summary>
/// TCP MSS clamping (RFC 879, RFC 6691): a SYN through the tunnel announces at most what fits the peer's
/// path, so TCP never sends segments the tunnel would have to refuse (tailscale#3836). The MSS option is
/// rewritten in place and the checksum updated incrementally (RFC 1624).
/// </summary>
internal static class TcpMss
{
    /// <summary>Clamps the MSS option of a SYN so a segment fits <paramref name="mtu"/>; true if it changed.</summary>
    internal static bool Clamp(Span<byte> packet, int version, int mtu)
    {
        int ipLength;
        if (version == 4)
        {
            ipLength = (packet[0] & 0x0F) * 4;
            if (packet[9] != IpHeader.ProtocolTcp || (packet[6] & 0x1F) != 0 || packet[7] != 0)
            {
                return false;
            }
        }
        else
        {
            ipLength = IpHeader.Ipv6Length;
            if (packet[6] != IpHeader.ProtocolTcp)
            {
                return false;
            }
        }
        if (packet.Length < ipLength + IpHeader.TcpMinLength || (packet[ipLength + IpHeader.TcpFlagsOffset] & IpHeader.TcpSyn) == 0)
        {
            return false;
        }
        int tcpLength = (packet[ipLength + 12] >> 4) * 4;
        if (tcpLength <= IpHeader.TcpMinLength || packet.Length < ipLength + tcpLength)
        {
            return false;
        }
        int max = mtu - ipLength - IpHeader.TcpMinLength;
        if (max <= 0)
        {
            return false;
        }
        Span<byte> options = packet.Slice(ipLength + IpHeader.TcpMinLength, tcpLength - IpHeader.TcpMinLength);
        for (int i = 0; i < options.Length;)
        {
            byte kind = options[i];
            if (kind == 0)
            {
                break;
            }
            if (kind == 1)
            {
                i++;
                continue;
            }
            if (i + 1 >= options.Length || options[i + 1] < 2 || i + options[i + 1] > options.Length)
            {
                return false;
            }
            if (kind == 2 && options[i + 1] == 4)
            {
                ushort mss = BinaryPrimitives.ReadUInt16BigEndian(options[(i + 2)..]);
                if (mss <= max)
                {
                    return false;
                }
                BinaryPrimitives.WriteUInt16BigEndian(options[(i + 2)..], (ushort)max);
                // RFC 1624: HC' = ~(~HC + ~m + m')
                Span<byte> field = packet.Slice(ipLength + IpHeader.TcpChecksumOffset, 2);
                ushort checksum = BinaryPrimitives.ReadUInt16BigEndian(field);
                ulong sum = (ushort)~checksum + (ulong)(ushort)~mss + (ushort)max;
                BinaryPrimitives.WriteUInt16BigEndian(field, (ushort)~Checksum.Fold(sum));
                return true;
            }
            i += options[i + 1];
        }
        return false;
    }
}
