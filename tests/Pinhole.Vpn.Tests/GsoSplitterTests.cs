using System.Buffers.Binary;
using Pinhole.Vpn.Offload;
using Pinhole.Vpn.Packets;
using static Pinhole.Vpn.Tests.TestPackets;

namespace Pinhole.Vpn.Tests;

/// <summary>Reads from a TUN with IFF_VNET_HDR: wireguard-go's Test_handleVirtioRead cases and every malformed header.</summary>
public class GsoSplitterTests
{
    private static VirtioNetHeader Gso(byte type, ushort size, ushort hdrLen, ushort start, ushort offset) => new()
    {
        Flags = VirtioNetHeader.FlagNeedsChecksum,
        GsoType = type,
        GsoSize = size,
        HeaderLength = hdrLen,
        ChecksumStart = start,
        ChecksumOffset = offset,
    };

    private static readonly Dictionary<string, (VirtioNetHeader Header, byte[] Packet, int[] Lengths)> SplitCases = new()
    {
        ["tcp4"] = (Gso(VirtioNetHeader.GsoTcpV4, 100, 40, 20, 16), Tcp(A4, B4, IpHeader.TcpAck | IpHeader.TcpPsh, 200, 1), [140, 140]),
        ["tcp6"] = (Gso(VirtioNetHeader.GsoTcpV6, 100, 60, 40, 16), Tcp(A6, B6, IpHeader.TcpAck | IpHeader.TcpPsh, 200, 1), [160, 160]),
        ["udp4"] = (Gso(VirtioNetHeader.GsoUdpL4, 100, 28, 20, 6), Udp(A4, B4, 200), [128, 128]),
        ["udp6"] = (Gso(VirtioNetHeader.GsoUdpL4, 100, 48, 40, 6), Udp(A6, B6, 200), [148, 148]),
        ["tcp4 shorter last"] = (Gso(VirtioNetHeader.GsoTcpV4, 100, 40, 20, 16), Tcp(A4, B4, IpHeader.TcpAck, 250, 1), [140, 140, 90]),
        // hdr_len is not trusted: the forwarding path can set it to the whole first packet.
        ["tcp4 hdr_len lies"] = (Gso(VirtioNetHeader.GsoTcpV4, 100, 140, 20, 16), Tcp(A4, B4, IpHeader.TcpAck, 200, 1), [140, 140]),
        ["tcp4 ECN bit"] = (Gso(VirtioNetHeader.GsoTcpV4 | VirtioNetHeader.GsoEcn, 100, 40, 20, 16), Tcp(A4, B4, IpHeader.TcpAck, 200, 1), [140, 140]),
    };

    public static TheoryData<string> Splits() => [.. SplitCases.Keys];

    [Theory]
    [MemberData(nameof(Splits))]
    public void Splits_IntoValidSegments(string name)
    {
        var (header, packet, lengths) = SplitCases[name];
        packet = packet.ToArray();
        byte[] original = packet.ToArray();
        var outputs = Slots(8, 2048);
        int next = 0;
        Assert.Equal(OffloadStatus.Done, GsoSplitter.Split(packet, header, ref next, outputs, out int produced, out string? error));
        Assert.Null(error);
        Assert.Equal(lengths, outputs.Take(produced).Select(o => o.Length).ToArray());
        bool tcp = header.ChecksumOffset == 16;
        int ipLength = header.ChecksumStart;
        int headers = ipLength + (tcp ? 20 : 8);
        int payloadAt = headers;
        for (int i = 0; i < produced; i++)
        {
            ReadOnlySpan<byte> segment = outputs[i].Span;
            Assert.True(TransportChecksumValid(segment), $"{name} segment {i} checksum");
            Assert.Equal(segment.Length, IpHeader.DeclaredLength(segment, segment[0] >> 4));
            if (segment[0] >> 4 == 4)
            {
                Assert.True(Ipv4HeaderValid(segment));
                Assert.Equal(i, BinaryPrimitives.ReadUInt16BigEndian(segment[4..])); // ids count up from the first
            }
            Assert.True(segment[headers..].SequenceEqual(original.AsSpan(payloadAt, segment.Length - headers)));
            if (tcp)
            {
                Assert.Equal(1u + (uint)(i * header.GsoSize), BinaryPrimitives.ReadUInt32BigEndian(segment[(ipLength + 4)..]));
                byte flags = segment[ipLength + 13];
                Assert.Equal(i == produced - 1 ? original[ipLength + 13] : original[ipLength + 13] & ~IpHeader.TcpPsh, flags);
            }
            else
            {
                Assert.Equal(segment.Length - ipLength, BinaryPrimitives.ReadUInt16BigEndian(segment[(ipLength + 4)..]));
            }
            payloadAt += segment.Length - headers;
        }
    }

    [Fact]
    public void FinAndPsh_OnlyOnLast_CwrOnlyOnFirst()
    {
        byte[] packet = Tcp(A4, B4, IpHeader.TcpAck | IpHeader.TcpPsh | IpHeader.TcpFin | IpHeader.TcpCwr, 300, 1);
        var outputs = Slots(4, 2048);
        int next = 0;
        GsoSplitter.Split(packet, Gso(VirtioNetHeader.GsoTcpV4, 100, 40, 20, 16), ref next, outputs, out int produced, out _);
        Assert.Equal(3, produced);
        Assert.Equal(IpHeader.TcpAck | IpHeader.TcpCwr, outputs[0].Span[33]);
        Assert.Equal(IpHeader.TcpAck, outputs[1].Span[33]);
        Assert.Equal(IpHeader.TcpAck | IpHeader.TcpPsh | IpHeader.TcpFin, outputs[2].Span[33]);
    }

    [Fact]
    public void TooManySegments_ResumesWhereItStopped()
    {
        byte[] packet = Tcp(A4, B4, IpHeader.TcpAck, 1000, 1);
        var header = Gso(VirtioNetHeader.GsoTcpV4, 100, 40, 20, 16);
        var all = new List<byte[]>();
        int next = 0;
        OffloadStatus status;
        int calls = 0;
        do
        {
            var outputs = Slots(3, 2048);
            status = GsoSplitter.Split(packet, header, ref next, outputs, out int produced, out _);
            all.AddRange(outputs.Take(produced).Select(o => o.Span.ToArray()));
            calls++;
        }
        while (status == OffloadStatus.TooManySegments && calls < 20);
        Assert.Equal(OffloadStatus.Done, status);
        Assert.Equal(4, calls);
        Assert.Equal(10, all.Count);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => 1u + (uint)(100 * i)), all.Select(p => BinaryPrimitives.ReadUInt32BigEndian(p.AsSpan(24))));
    }

    [Fact]
    public void NoGso_FinishesPartialChecksum()
    {
        byte[] packet = Udp(A6, B6, 333);
        // What the kernel hands over with CHECKSUM_PARTIAL: the pseudo-header sum in the checksum field.
        ulong pseudo = Checksum.PseudoHeader(packet.AsSpan(8, 16), packet.AsSpan(24, 16), IpHeader.ProtocolUdp, packet.Length - 40);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(46), Checksum.Fold(pseudo));
        var outputs = Slots(1, 2048);
        int next = 0;
        var header = new VirtioNetHeader { Flags = VirtioNetHeader.FlagNeedsChecksum, ChecksumStart = 40, ChecksumOffset = 6 };
        Assert.Equal(OffloadStatus.Done, GsoSplitter.Split(packet, header, ref next, outputs, out int produced, out _));
        Assert.Equal(1, produced);
        Assert.True(TransportChecksumValid(outputs[0].Span));
    }

    [Fact]
    public void NoGso_CopiesPlainPacket()
    {
        byte[] packet = Icmp4Echo(A4.Address, B4.Address, 56);
        var outputs = Slots(1, 2048);
        int next = 0;
        Assert.Equal(OffloadStatus.Done, GsoSplitter.Split(packet.ToArray(), default, ref next, outputs, out int produced, out _));
        Assert.Equal(packet, outputs[0].Span.ToArray());
        Assert.Equal(1, produced);
    }

    private static readonly Dictionary<string, (VirtioNetHeader Header, byte[] Packet)> InvalidCases = new()
    {
        ["unknown gso type"] = (Gso(2, 100, 40, 20, 16), Tcp(A4, B4, IpHeader.TcpAck, 200, 1)),
        ["TCPV4 on an IPv6 packet"] = (Gso(VirtioNetHeader.GsoTcpV4, 100, 60, 40, 16), Tcp(A6, B6, IpHeader.TcpAck, 200, 1)),
        ["TCPV6 on an IPv4 packet"] = (Gso(VirtioNetHeader.GsoTcpV6, 100, 40, 20, 16), Tcp(A4, B4, IpHeader.TcpAck, 200, 1)),
        ["csum_start inside the IPv4 header"] = (Gso(VirtioNetHeader.GsoTcpV4, 100, 40, 12, 16), Tcp(A4, B4, IpHeader.TcpAck, 200, 1)),
        ["csum_start inside the IPv6 header"] = (Gso(VirtioNetHeader.GsoTcpV6, 100, 60, 20, 16), Tcp(A6, B6, IpHeader.TcpAck, 200, 1)),
        ["wrong csum_offset"] = (Gso(VirtioNetHeader.GsoTcpV4, 100, 40, 20, 6), Tcp(A4, B4, IpHeader.TcpAck, 200, 1)),
        ["gso_size zero"] = (Gso(VirtioNetHeader.GsoTcpV4, 0, 40, 20, 16), Tcp(A4, B4, IpHeader.TcpAck, 200, 1)),
        ["no payload"] = (Gso(VirtioNetHeader.GsoTcpV4, 100, 40, 20, 16), Tcp(A4, B4, IpHeader.TcpAck, 0, 1)),
        ["truncated TCP header"] = (Gso(VirtioNetHeader.GsoTcpV4, 100, 40, 20, 16), Tcp(A4, B4, IpHeader.TcpAck, 0, 1)[..30]),
        ["empty"] = (Gso(VirtioNetHeader.GsoTcpV4, 100, 40, 20, 16), []),
        ["not IP"] = (Gso(VirtioNetHeader.GsoUdpL4, 100, 28, 20, 6), new byte[64]),
        ["partial checksum outside the packet"] = (new VirtioNetHeader { Flags = 1, ChecksumStart = 60, ChecksumOffset = 6 }, Udp(A4, B4, 10)),
    };

    public static TheoryData<string> Invalid() => [.. InvalidCases.Keys];

    [Theory]
    [MemberData(nameof(Invalid))]
    public void MalformedInput_IsRefusedWithAReason(string name)
    {
        var (header, packet) = InvalidCases[name];
        packet = packet.ToArray();
        var outputs = Slots(4, 2048);
        int next = 0;
        Assert.Equal(OffloadStatus.Invalid, GsoSplitter.Split(packet, header, ref next, outputs, out int produced, out string? error));
        Assert.False(string.IsNullOrEmpty(error), name);
        Assert.Equal(0, produced);
    }

    [Fact]
    public void TcpDataOffsetBelow20_IsRefused()
    {
        byte[] packet = Tcp(A4, B4, IpHeader.TcpAck, 200, 1);
        packet[32] = 4 << 4;
        int next = 0;
        Assert.Equal(OffloadStatus.Invalid, GsoSplitter.Split(packet, Gso(VirtioNetHeader.GsoTcpV4, 100, 40, 20, 16), ref next, Slots(4, 2048), out _, out _));
    }

    [Fact]
    public void SegmentLargerThanOutput_IsRefused()
    {
        byte[] packet = Tcp(A4, B4, IpHeader.TcpAck, 3000, 1);
        int next = 0;
        Assert.Equal(OffloadStatus.Invalid, GsoSplitter.Split(packet, Gso(VirtioNetHeader.GsoTcpV4, 1500, 40, 20, 16), ref next, Slots(4, 1024), out _, out string? error));
        Assert.Contains("does not fit", error);
    }

    [Fact]
    public void RandomBytes_NeverThrow()
    {
        var random = new Random(7);
        var outputs = Slots(8, 2048);
        for (int i = 0; i < 20000; i++)
        {
            byte[] packet = new byte[random.Next(0, 400)];
            random.NextBytes(packet);
            if (packet.Length > 0 && random.Next(2) == 0)
            {
                packet[0] = (byte)(random.Next(2) == 0 ? 0x45 : 0x60);
            }
            byte[] h = new byte[10];
            random.NextBytes(h);
            h[1] = (byte)random.Next(0, 6);
            var header = VirtioNetHeader.Read(h);
            int next = 0;
            OffloadStatus status;
            int rounds = 0;
            do
            {
                status = GsoSplitter.Split(packet, header, ref next, outputs, out _, out _);
            }
            while (status == OffloadStatus.TooManySegments && ++rounds < 10000);
        }
    }
}
