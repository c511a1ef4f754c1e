using System.Buffers.Binary;
using Pinhole.Vpn.Offload;

namespace Pinhole.Vpn.Packets;

/// <summary>Packets the data plane writes into its own TUN to probe the kernel.</summary>
internal static class ProbePackets
{
    private static ReadOnlySpan<byte> Fingerprint => "pinhole-probe-tun-gro"u8;

    /// <summary>
    /// A two-segment IPv4 TCP super-packet (for a GSO_TCPV4 write) from and to 127.0.0.1 with TTL 0: a
    /// martian on a TUN, so the kernel drops it right after parsing, and it can never leave the host.
    /// Its checksum field holds the pseudo-header sum, as NEEDS_CSUM requires.
    /// </summary>
    internal static byte[] CoalescedTcp()
    {
        int segment = Fingerprint.Length;
        int total = 40 + 2 * segment;
        byte[] p = new byte[total];
        p[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), (ushort)total);
        p[8] = 0; // TTL 0
        p[9] = IpHeader.ProtocolTcp;
        p[12] = 127;
        p[15] = 1;
        p[16] = 127;
        p[19] = 1;
        IpHeader.SetIpv4Checksum(p, 20);
        BinaryPrimitives.WriteUInt32BigEndian(p.AsSpan(24), 1); // seq
        BinaryPrimitives.WriteUInt32BigEndian(p.AsSpan(28), 1); // ack
        p[32] = 5 << 4;
        p[33] = IpHeader.TcpAck;
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(34), 3000);
        Fingerprint.CopyTo(p.AsSpan(40));
        Fingerprint.CopyTo(p.AsSpan(40 + segment));
        ulong pseudo = Checksum.PseudoHeader(p.AsSpan(12, 4), p.AsSpan(16, 4), IpHeader.ProtocolTcp, total - 20);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(36), Checksum.Fold(pseudo));
        return p;
    }
}
