using System.Buffers.Binary;
using System.Net;
using Pinhole.Vpn.Offload;
using Pinhole.Vpn.Packets;

namespace Pinhole.Vpn.Tests;

/// <summary>Builds IPv4/IPv6 TCP and UDP packets with correct checksums (the cases of wireguard-go's offload tests).</summary>
internal static class TestPackets
{
    internal const int Room = 16;

    internal static readonly IPEndPoint A4 = IPEndPoint.Parse("192.0.2.1:1");
    internal static readonly IPEndPoint B4 = IPEndPoint.Parse("192.0.2.2:1");
    internal static readonly IPEndPoint C4 = IPEndPoint.Parse("192.0.2.3:1");
    internal static readonly IPEndPoint A6 = IPEndPoint.Parse("[2001:db8::1]:1");
    internal static readonly IPEndPoint B6 = IPEndPoint.Parse("[2001:db8::2]:1");
    internal static readonly IPEndPoint C6 = IPEndPoint.Parse("[2001:db8::3]:1");

    internal sealed class Ip
    {
        public byte Tos;
        public byte Ttl = 64;
        public byte Flags; // IPv4: 0x2 = DF, 0x1 = MF (3-bit field)
        public int TrafficClass;
        public byte HopLimit = 64;
    }

    internal static byte[] Tcp(IPEndPoint src, IPEndPoint dst, byte flags, int payload, uint seq, Action<Ip>? ip = null, uint ack = 1, byte[]? options = null, byte fill = 0)
    {
        bool v6 = src.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6;
        int ipLength = v6 ? 40 : 20;
        int tcpLength = 20 + (options?.Length ?? 0);
        byte[] p = new byte[ipLength + tcpLength + payload];
        WriteIp(p, src, dst, IpHeader.ProtocolTcp, ip);
        Span<byte> t = p.AsSpan(ipLength);
        BinaryPrimitives.WriteUInt16BigEndian(t, (ushort)src.Port);
        BinaryPrimitives.WriteUInt16BigEndian(t[2..], (ushort)dst.Port);
        BinaryPrimitives.WriteUInt32BigEndian(t[4..], seq);
        BinaryPrimitives.WriteUInt32BigEndian(t[8..], ack);
        t[12] = (byte)(tcpLength / 4 << 4);
        t[13] = flags;
        BinaryPrimitives.WriteUInt16BigEndian(t[14..], 3000);
        options?.CopyTo(t[20..]);
        for (int i = 0; i < payload; i++)
        {
            t[tcpLength + i] = fill == 0 ? (byte)(seq + i) : fill;
        }
        FixTransportChecksum(p);
        return p;
    }

    internal static byte[] Udp(IPEndPoint src, IPEndPoint dst, int payload, Action<Ip>? ip = null, byte fill = 0x5A)
    {
        bool v6 = src.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6;
        int ipLength = v6 ? 40 : 20;
        byte[] p = new byte[ipLength + 8 + payload];
        WriteIp(p, src, dst, IpHeader.ProtocolUdp, ip);
        Span<byte> u = p.AsSpan(ipLength);
        BinaryPrimitives.WriteUInt16BigEndian(u, (ushort)src.Port);
        BinaryPrimitives.WriteUInt16BigEndian(u[2..], (ushort)dst.Port);
        BinaryPrimitives.WriteUInt16BigEndian(u[4..], (ushort)(8 + payload));
        u[8..].Fill(fill);
        FixTransportChecksum(p);
        return p;
    }

    internal static byte[] Icmp4Echo(IPAddress src, IPAddress dst, int payload, bool df = false, byte ttl = 64)
    {
        byte[] p = new byte[20 + 8 + payload];
        WriteIp(p, new IPEndPoint(src, 0), new IPEndPoint(dst, 0), IpHeader.ProtocolIcmp, ip => { ip.Flags = df ? (byte)2 : (byte)0; ip.Ttl = ttl; });
        p[20] = 8;
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(24), 0x1234);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(26), 1);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(22), Checksum.Finish(Checksum.Add(p.AsSpan(20))));
        return p;
    }

    internal static void WriteIp(byte[] p, IPEndPoint src, IPEndPoint dst, byte protocol, Action<Ip>? mutate)
    {
        var ip = new Ip();
        mutate?.Invoke(ip);
        if (src.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6)
        {
            BinaryPrimitives.WriteUInt32BigEndian(p, (uint)(6 << 28 | ip.TrafficClass << 20));
            BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(4), (ushort)(p.Length - 40));
            p[6] = protocol;
            p[7] = ip.HopLimit;
            src.Address.TryWriteBytes(p.AsSpan(8), out _);
            dst.Address.TryWriteBytes(p.AsSpan(24), out _);
            return;
        }
        p[0] = 0x45;
        p[1] = ip.Tos;
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), (ushort)p.Length);
        p[6] = (byte)(ip.Flags << 5);
        p[8] = ip.Ttl;
        p[9] = protocol;
        src.Address.TryWriteBytes(p.AsSpan(12), out _);
        dst.Address.TryWriteBytes(p.AsSpan(16), out _);
        IpHeader.SetIpv4Checksum(p, 20);
    }

    internal static void FixTransportChecksum(byte[] p)
    {
        int version = p[0] >> 4;
        int ipLength = version == 4 ? (p[0] & 0xF) * 4 : 40;
        byte protocol = version == 4 ? p[9] : p[6];
        int at = ipLength + (protocol == IpHeader.ProtocolTcp ? 16 : 6);
        p[at] = 0;
        p[at + 1] = 0;
        ulong sum = Checksum.PseudoHeader(IpHeader.Source(p, version), IpHeader.Destination(p, version), protocol, p.Length - ipLength);
        ushort c = Checksum.Finish(Checksum.Add(p.AsSpan(ipLength), sum));
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(at), c);
    }

    internal static bool TransportChecksumValid(ReadOnlySpan<byte> p)
    {
        int version = p[0] >> 4;
        int ipLength = version == 4 ? (p[0] & 0xF) * 4 : 40;
        byte protocol = version == 4 ? p[9] : p[6];
        ulong sum = Checksum.PseudoHeader(IpHeader.Source(p, version), IpHeader.Destination(p, version), protocol, p.Length - ipLength);
        return Checksum.Fold(Checksum.Add(p[ipLength..], sum)) == 0xFFFF;
    }

    internal static bool Ipv4HeaderValid(ReadOnlySpan<byte> p) => Checksum.Fold(Checksum.Add(p[..20])) == 0xFFFF;

    internal static byte[] FlipTransportChecksum(byte[] p)
    {
        int version = p[0] >> 4;
        int ipLength = version == 4 ? 20 : 40;
        byte protocol = version == 4 ? p[9] : p[6];
        int at = ipLength + (protocol == IpHeader.ProtocolTcp ? 16 : 6);
        p[at] ^= 0xFF;
        p[at + 1] ^= 0xFF;
        return p;
    }

    /// <summary>Places each packet in its own pinned buffer with room in front, as the data plane does.</summary>
    internal static PacketRef[] Refs(params byte[][] packets)
    {
        var refs = new PacketRef[packets.Length];
        for (int i = 0; i < packets.Length; i++)
        {
            byte[] buffer = GC.AllocateArray<byte>(Room + packets[i].Length + 64, pinned: true);
            packets[i].CopyTo(buffer, Room);
            refs[i] = new PacketRef(buffer, Room, packets[i].Length);
        }
        return refs;
    }

    internal static PacketRef[] Slots(int count, int size = 65535 + Room)
    {
        var refs = new PacketRef[count];
        for (int i = 0; i < count; i++)
        {
            refs[i] = new PacketRef(GC.AllocateArray<byte>(size, pinned: true), Room, 0);
        }
        return refs;
    }

    /// <summary>TCP payload bytes of a packet.</summary>
    internal static ReadOnlySpan<byte> TcpPayload(ReadOnlySpan<byte> p)
    {
        int ipLength = p[0] >> 4 == 4 ? 20 : 40;
        int tcpLength = (p[ipLength + 12] >> 4) * 4;
        return p[(ipLength + tcpLength)..];
    }
}
