using System.Buffers.Binary;
using Pinhole.Vpn.Offload;

namespace Pinhole.Vpn.Tests;

/// <summary>Answers ICMP/ICMPv6 echo requests in place (a minimal "host" behind a TUN for tests).</summary>
internal static class IcmpEcho
{
    /// <summary>Turns an echo request into its reply in place; false if the packet is not an echo request.</summary>
    internal static bool TryReply(Span<byte> p)
    {
        if (p.Length >= 28 && p[0] == 0x45 && p[9] == 1 && p[20] == 8)
        {
            Swap(p.Slice(12, 4), p.Slice(16, 4));
            p[20] = 0;
            p[22] = p[23] = 0;
            BinaryPrimitives.WriteUInt16BigEndian(p[22..], Checksum.Finish(Checksum.Add(p[20..])));
            Packets.IpHeader.SetIpv4Checksum(p, 20);
            return true;
        }
        if (p.Length >= 48 && p[0] >> 4 == 6 && p[6] == 58 && p[40] == 128)
        {
            Swap(p.Slice(8, 16), p.Slice(24, 16));
            p[40] = 129;
            p[42] = p[43] = 0;
            ulong sum = Checksum.PseudoHeader(p.Slice(8, 16), p.Slice(24, 16), 58, p.Length - 40);
            BinaryPrimitives.WriteUInt16BigEndian(p[42..], Checksum.Finish(Checksum.Add(p[40..], sum)));
            return true;
        }
        return false;
    }

    private static void Swap(Span<byte> a, Span<byte> b)
    {
        Span<byte> t = stackalloc byte[a.Length];
        a.CopyTo(t);
        b.CopyTo(a);
        t.CopyTo(b);
    }
}
