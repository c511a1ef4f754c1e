using CsCheck;
using Pinhole.Vpn.Offload;
using Pinhole.Vpn.Packets;
using static Pinhole.Vpn.Tests.TestPackets;

namespace Pinhole.Vpn.Tests;

/// <summary>TUN write coalescing: wireguard-go's Test_handleGRO case list, plus round trips through the splitter.</summary>
public class GroCoalescerTests
{
    private const byte Ack = IpHeader.TcpAck;
    private const byte Psh = IpHeader.TcpPsh;

    public static TheoryData<string, byte[][], bool, int[], int[]> Cases() => new()
    {
        {
            "multiple protocols and flows",
            [
                Tcp(A4, B4, Ack, 100, 1), Udp(A4, B4, 100), Udp(A4, C4, 100), Tcp(A4, B4, Ack, 100, 101), Tcp(A4, C4, Ack, 100, 201),
                Tcp(A6, B6, Ack, 100, 1), Tcp(A6, B6, Ack, 100, 101), Tcp(A6, C6, Ack, 100, 201), Udp(A4, B4, 100), Udp(A6, B6, 100), Udp(A6, B6, 100),
            ],
            true, [0, 1, 2, 4, 5, 7, 9], [240, 228, 128, 140, 260, 160, 248]
        },
        {
            "multiple protocols and flows no UDP GRO",
            [
                Tcp(A4, B4, Ack, 100, 1), Udp(A4, B4, 100), Udp(A4, C4, 100), Tcp(A4, B4, Ack, 100, 101), Tcp(A4, C4, Ack, 100, 201),
                Tcp(A6, B6, Ack, 100, 1), Tcp(A6, B6, Ack, 100, 101), Tcp(A6, C6, Ack, 100, 201), Udp(A4, B4, 100), Udp(A6, B6, 100), Udp(A6, B6, 100),
            ],
            false, [0, 1, 2, 4, 5, 7, 8, 9, 10], [240, 128, 128, 140, 260, 160, 128, 148, 148]
        },
        {
            "PSH interleaved",
            [
                Tcp(A4, B4, Ack, 100, 1), Tcp(A4, B4, Ack | Psh, 100, 101), Tcp(A4, B4, Ack, 100, 201), Tcp(A4, B4, Ack, 100, 301),
                Tcp(A6, B6, Ack, 100, 1), Tcp(A6, B6, Ack | Psh, 100, 101), Tcp(A6, B6, Ack, 100, 201), Tcp(A6, B6, Ack, 100, 301),
            ],
            true, [0, 2, 4, 6], [240, 240, 260, 260]
        },
        {
            "coalesceItemInvalidCSum",
            [
                FlipTransportChecksum(Tcp(A4, B4, Ack, 100, 1)), Tcp(A4, B4, Ack, 100, 101), Tcp(A4, B4, Ack, 100, 201),
                FlipTransportChecksum(Udp(A4, B4, 100)), Udp(A4, B4, 100), Udp(A4, B4, 100),
            ],
            true, [0, 1, 3, 4], [140, 240, 128, 228]
        },
        {
            "packet with invalid checksum is written alone",
            [Tcp(A4, B4, Ack, 100, 1), FlipTransportChecksum(Tcp(A4, B4, Ack, 100, 101)), Tcp(A4, B4, Ack, 100, 201)],
            true, [0, 1, 2], [140, 140, 140]
        },
        {
            "out of order",
            [Tcp(A4, B4, Ack, 100, 101), Tcp(A4, B4, Ack, 100, 1), Tcp(A4, B4, Ack, 100, 201)],
            true, [0], [340]
        },
        {
            "unequal TTL",
            [Tcp(A4, B4, Ack, 100, 1), Tcp(A4, B4, Ack, 100, 101, ip => ip.Ttl++), Udp(A4, B4, 100), Udp(A4, B4, 100, ip => ip.Ttl++)],
            true, [0, 1, 2, 3], [140, 140, 128, 128]
        },
        {
            "unequal ToS",
            [Tcp(A4, B4, Ack, 100, 1), Tcp(A4, B4, Ack, 100, 101, ip => ip.Tos++), Udp(A4, B4, 100), Udp(A4, B4, 100, ip => ip.Tos++)],
            true, [0, 1, 2, 3], [140, 140, 128, 128]
        },
        {
            "unequal flags more fragments set",
            [Tcp(A4, B4, Ack, 100, 1), Tcp(A4, B4, Ack, 100, 101, ip => ip.Flags = 1), Udp(A4, B4, 100), Udp(A4, B4, 100, ip => ip.Flags = 1)],
            true, [0, 1, 2, 3], [140, 140, 128, 128]
        },
        {
            "unequal flags DF set",
            [Tcp(A4, B4, Ack, 100, 1), Tcp(A4, B4, Ack, 100, 101, ip => ip.Flags = 2), Udp(A4, B4, 100), Udp(A4, B4, 100, ip => ip.Flags = 2)],
            true, [0, 1, 2, 3], [140, 140, 128, 128]
        },
        {
            "ipv6 unequal hop limit",
            [Tcp(A6, B6, Ack, 100, 1), Tcp(A6, B6, Ack, 100, 101, ip => ip.HopLimit++), Udp(A6, B6, 100), Udp(A6, B6, 100, ip => ip.HopLimit++)],
            true, [0, 1, 2, 3], [160, 160, 148, 148]
        },
        {
            "ipv6 unequal traffic class",
            [Tcp(A6, B6, Ack, 100, 1), Tcp(A6, B6, Ack, 100, 101, ip => ip.TrafficClass++), Udp(A6, B6, 100), Udp(A6, B6, 100, ip => ip.TrafficClass++)],
            true, [0, 1, 2, 3], [160, 160, 148, 148]
        },
        {
            "different ACK numbers are different flows",
            [Tcp(A4, B4, Ack, 100, 1, ack: 1), Tcp(A4, B4, Ack, 100, 101, ack: 2)],
            true, [0, 1], [140, 140]
        },
        {
            "SYN, FIN and RST are never coalesced",
            [Tcp(A4, B4, Ack, 100, 1), Tcp(A4, B4, Ack | IpHeader.TcpFin, 100, 101), Tcp(A4, B4, IpHeader.TcpSyn, 0, 0), Tcp(A4, B4, IpHeader.TcpRst | Ack, 0, 201)],
            true, [0, 1, 2, 3], [140, 140, 40, 40]
        },
        {
            "a shorter segment ends the group",
            [Tcp(A4, B4, Ack, 100, 1), Tcp(A4, B4, Ack, 50, 101), Tcp(A4, B4, Ack, 100, 151)],
            true, [0, 2], [190, 140]
        },
        {
            "a larger segment cannot follow",
            [Tcp(A4, B4, Ack, 50, 1), Tcp(A4, B4, Ack, 100, 51)],
            true, [0, 1], [90, 140]
        },
        {
            "unequal TCP options",
            [Tcp(A4, B4, Ack, 100, 1, options: [1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2]), Tcp(A4, B4, Ack, 100, 101, options: [1, 1, 8, 10, 0, 0, 0, 2, 0, 0, 0, 2]), Tcp(A4, B4, Ack, 100, 201, options: [1, 1, 8, 10, 0, 0, 0, 2, 0, 0, 0, 2])],
            true, [0, 1], [152, 252]
        },
        {
            "UDP never reorders: only the newest group of a flow grows",
            [Udp(A4, B4, 100), Udp(A4, B4, 100, ip => ip.Ttl++), Udp(A4, B4, 100)],
            true, [0, 1, 2], [128, 128, 128]
        },
        {
            "UDP after a shorter datagram starts a new group",
            [Udp(A4, B4, 100), Udp(A4, B4, 50), Udp(A4, B4, 100)],
            true, [0, 2], [178, 128]
        },
        {
            "pure ACKs are not coalesced",
            [Tcp(A4, B4, Ack, 0, 1), Tcp(A4, B4, Ack, 0, 1)],
            true, [0, 1], [40, 40]
        },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Coalesces_LikeTheKernel(string name, byte[][] packets, bool udp, int[] wantFirst, int[] wantLengths)
    {
        var refs = Refs(packets.Select(p => p.ToArray()).ToArray());
        var gro = new GroCoalescer();
        gro.Coalesce(refs, tcp: true, udp: udp);

        Assert.True(gro.GroupCount == wantFirst.Length, $"{name}: {gro.GroupCount} groups, wanted {wantFirst.Length}");
        for (int g = 0; g < gro.GroupCount; g++)
        {
            Assert.Equal(wantFirst[g], gro.First(g));
            Assert.Equal(wantLengths[g], gro.Length(g));
        }
        AssertEverySegmentSurvivesResplitting(refs, gro, packets);
    }

    [Fact]
    public void MergedHead_HasVirtioHeaderAndPartialChecksum()
    {
        var refs = Refs(Tcp(A4, B4, Ack, 100, 1), Tcp(A4, B4, Ack | Psh, 100, 101));
        var gro = new GroCoalescer();
        gro.Coalesce(refs, tcp: true, udp: true);

        Assert.Equal(1, gro.GroupCount);
        VirtioNetHeader h = gro.Header(0);
        Assert.Equal(VirtioNetHeader.FlagNeedsChecksum, h.Flags);
        Assert.Equal(VirtioNetHeader.GsoTcpV4, h.GsoType);
        Assert.Equal(40, h.HeaderLength);
        Assert.Equal(100, h.GsoSize);
        Assert.Equal(20, h.ChecksumStart);
        Assert.Equal(16, h.ChecksumOffset);
        byte[] merged = new byte[gro.Length(0)];
        gro.CopyGroup(refs, 0, merged);
        Assert.Equal(240, System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(merged.AsSpan(2)));
        Assert.True(Ipv4HeaderValid(merged));
        Assert.Equal(Psh | Ack, merged[33]); // PSH carried to the head, so the last segment keeps it
        ushort field = System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(merged.AsSpan(36));
        Assert.Equal(Checksum.Fold(Checksum.PseudoHeader(merged.AsSpan(12, 4), merged.AsSpan(16, 4), 6, 220)), field);
    }

    [Fact]
    public void SingleSegmentGroups_HaveZeroHeader()
    {
        var refs = Refs(Tcp(A4, B4, Ack, 100, 1), Udp(A6, B6, 10));
        var gro = new GroCoalescer();
        gro.Coalesce(refs, tcp: true, udp: true);
        Assert.Equal(2, gro.GroupCount);
        Assert.Equal(default, gro.Header(0));
        Assert.Equal(default, gro.Header(1));
    }

    [Fact]
    public void GroupsStopAt64Segments()
    {
        var packets = Enumerable.Range(0, 100).Select(i => Tcp(A4, B4, Ack, 100, (uint)(1 + i * 100))).ToArray();
        var refs = Refs(packets);
        var gro = new GroCoalescer();
        gro.Coalesce(refs, tcp: true, udp: true);
        Assert.Equal(2, gro.GroupCount);
        Assert.Equal(GroCoalescer.MaxSegments, gro.Segments(0));
        Assert.Equal(36, gro.Segments(1));
    }

    [Fact]
    public void GroupsStopAt64KiB()
    {
        var packets = Enumerable.Range(0, 10).Select(i => Tcp(A4, B4, Ack, 8000, (uint)(1 + i * 8000))).ToArray();
        var refs = Refs(packets);
        var gro = new GroCoalescer();
        gro.Coalesce(refs, tcp: true, udp: true);
        Assert.All(Enumerable.Range(0, gro.GroupCount), g => Assert.True(gro.Length(g) <= GroCoalescer.MaxLength));
        Assert.Equal(2, gro.GroupCount);
        Assert.Equal(8, gro.Segments(0));
    }

    [Fact]
    public void RandomTcpStreams_RoundTripThroughTheSplitter()
    {
        // A window of one flow's segments in random order with random PSH, lengths and a second flow mixed
        // in: whatever groups form, splitting them again gives back every segment's bytes and flags.
        Gen.Select(Gen.Int[1, 40], Gen.Int[1, 1400], Gen.Int[0, int.MaxValue], Gen.Bool)
            .Sample((count, size, seed, v6) =>
            {
                var random = new Random(seed);
                var src = v6 ? A6 : A4;
                var dst = v6 ? B6 : B4;
                var packets = new List<byte[]>();
                uint seq = (uint)random.Next();
                for (int i = 0; i < count; i++)
                {
                    int length = random.Next(4) == 0 ? random.Next(1, size + 1) : size;
                    byte flags = random.Next(6) == 0 ? (byte)(Ack | Psh) : Ack;
                    packets.Add(Tcp(src, dst, flags, length, seq));
                    seq += (uint)length;
                    if (random.Next(8) == 0)
                    {
                        packets.Add(Tcp(src, C4.AddressFamily == src.AddressFamily ? C4 : C6, Ack, 10, (uint)i));
                    }
                }
                // Local shuffles only, as on a real path.
                for (int i = 0; i + 1 < packets.Count; i++)
                {
                    if (random.Next(5) == 0)
                    {
                        (packets[i], packets[i + 1]) = (packets[i + 1], packets[i]);
                    }
                }
                var original = packets.Select(p => p.ToArray()).ToArray();
                var refs = Refs(packets.ToArray());
                var gro = new GroCoalescer();
                gro.Coalesce(refs, tcp: true, udp: true);
                AssertEverySegmentSurvivesResplitting(refs, gro, original);
            }, iter: 300);
    }

    // Splitting every group again must give back exactly the original packets' TCP/UDP payloads, flags,
    // sequence numbers and valid checksums (IPv4 ids may differ: GSO numbers them).
    private static void AssertEverySegmentSurvivesResplitting(PacketRef[] refs, GroCoalescer gro, byte[][] originals)
    {
        var produced = new List<byte[]>();
        var slots = Slots(70, 2048);
        for (int g = 0; g < gro.GroupCount; g++)
        {
            byte[] bytes = new byte[gro.Length(g)];
            int length = gro.CopyGroup(refs, g, bytes);
            Assert.Equal(gro.Length(g), length);
            if (gro.Segments(g) == 1)
            {
                produced.Add(bytes);
                continue;
            }
            int next = 0;
            Assert.Equal(OffloadStatus.Done, GsoSplitter.Split(bytes, gro.Header(g), ref next, slots, out int n, out string? error));
            Assert.Null(error);
            Assert.Equal(gro.Segments(g), n);
            for (int i = 0; i < n; i++)
            {
                produced.Add(slots[i].Span.ToArray());
            }
        }
        Assert.Equal(originals.Length, produced.Count);
        static string Key(byte[] p)
        {
            var copy = p.ToArray();
            if (copy[0] >> 4 == 4)
            {
                copy[4] = copy[5] = copy[10] = copy[11] = 0; // id and header checksum
            }
            return Convert.ToHexString(copy);
        }
        foreach (var p in produced.Where(p => p[0] >> 4 == 4))
        {
            Assert.True(Ipv4HeaderValid(p));
        }
        var wanted = originals.Select(Key).Order().ToArray();
        var got = produced.Select(Key).Order().ToArray();
        Assert.Equal(wanted, got);
    }
}
