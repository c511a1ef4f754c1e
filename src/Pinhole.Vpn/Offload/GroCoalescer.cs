using System.Buffers.Binary;
using Pinhole.Vpn.Packets;

namespace Pinhole.Vpn.Offload;

/// <summary>
/// Userspace GRO for TUN writes: groups a batch of plain IP packets into TCP and UDP "super-packets" that
/// one write with a virtio-net header hands to the kernel, which then treats them like one large
/// receive. The rules are the kernel's GRO rules (net/ipv4/tcp_offload.c, tools/testing/selftests/net/gro.c)
/// as wireguard-go's tun/offload_linux.go applies them, written anew: same flow (addresses, ports, and for
/// TCP the ACK number), equal IP fields that GSO would copy (ToS/traffic class, TTL/hop limit, DF), no IPv4
/// options or fragments, TCP flags ACK or ACK|PSH only, equal TCP options, adjacent sequence numbers (in
/// either order), PSH only at the end, equal segment sizes but a shorter last, valid checksums (a coalesced
/// packet's checksum is recomputed by the kernel, which would hide corruption).
/// <para>
/// Nothing is copied: a group is its head packet (whose IP and transport headers are rewritten in place)
/// followed by the payloads of its other packets; <see cref="CopyGroup"/> and the TUN's writev gather them.
/// Instances hold reusable scratch state and are not thread-safe.
/// </para>
/// </summary>
internal sealed class GroCoalescer
{
    /// <summary>Largest super-packet (IPv4 total length is 16 bits).</summary>
    internal const int MaxLength = 65535;

    /// <summary>Most packets in one group.</summary>
    internal const int MaxSegments = 64;

    private readonly Dictionary<FlowKey, int> _lastItemOfFlow = [];
    private Item[] _items = new Item[128];
    private int[] _next = new int[128];
    private int _count;

    /// <summary>Groups to write, in the order of their first packet.</summary>
    internal int GroupCount => _count;

    /// <summary>The packet (index into the batch) that opened group <paramref name="group"/>: groups are written in this order.</summary>
    internal int First(int group) => _items[group].First;

    /// <summary>The head packet (index into the batch) of group <paramref name="group"/>.</summary>
    internal int Head(int group) => _items[group].Head;

    /// <summary>The virtio-net header to write before group <paramref name="group"/>.</summary>
    internal VirtioNetHeader Header(int group) => _items[group].Header;

    /// <summary>Packets in group <paramref name="group"/>.</summary>
    internal int Segments(int group) => _items[group].NumMerged + 1;

    /// <summary>Bytes of group <paramref name="group"/> (without the virtio-net header).</summary>
    internal int Length(int group) => _items[group].TotalLength;

    /// <summary>The packet after <paramref name="packet"/> in its group, or -1.</summary>
    internal int Next(int packet) => _next[packet];

    /// <summary>Header bytes of each packet of group <paramref name="group"/> (skipped for all but the head).</summary>
    internal int HeadersLength(int group) => _items[group].IpHeaderLength + _items[group].TransportHeaderLength;

    /// <summary>
    /// Coalesces <paramref name="packets"/>. Afterwards the groups describe what to write; the head
    /// packets' headers have been rewritten. <paramref name="tcp"/> and <paramref name="udp"/> say which
    /// kinds the TUN accepts (TSO and USO offloads).
    /// </summary>
    internal void Coalesce(ReadOnlySpan<PacketRef> packets, bool tcp, bool udp)
    {
        _lastItemOfFlow.Clear();
        _count = 0;
        if (_items.Length < packets.Length)
        {
            _items = new Item[Math.Max(packets.Length, _items.Length * 2)];
        }
        if (_next.Length < packets.Length)
        {
            _next = new int[Math.Max(packets.Length, _next.Length * 2)];
        }
        for (int i = 0; i < packets.Length; i++)
        {
            _next[i] = -1;
            ReadOnlySpan<byte> packet = packets[i].Span;
            Kind kind = Classify(packet, tcp, udp);
            bool handled = kind switch
            {
                Kind.Tcp4 or Kind.Tcp6 => TcpGro(packets, i, kind == Kind.Tcp6),
                Kind.Udp4 or Kind.Udp6 => UdpGro(packets, i, kind == Kind.Udp6),
                _ => false,
            };
            if (!handled)
            {
                // Not a candidate: written alone, in order.
                NewItem(i, packet.Length, candidate: false);
            }
        }
        Finish(packets);
    }

    /// <summary>Copies group <paramref name="group"/> into <paramref name="destination"/> (without the virtio header); returns its length.</summary>
    internal int CopyGroup(ReadOnlySpan<PacketRef> packets, int group, Span<byte> destination)
    {
        ref Item item = ref _items[group];
        int headers = item.IpHeaderLength + item.TransportHeaderLength;
        int at = 0;
        for (int p = item.Head; p >= 0; p = _next[p])
        {
            ReadOnlySpan<byte> bytes = p == item.Head ? packets[p].Span : packets[p].Span[headers..];
            bytes.CopyTo(destination[at..]);
            at += bytes.Length;
        }
        return at;
    }

    private enum Kind
    {
        None,
        Tcp4,
        Tcp6,
        Udp4,
        Udp6,
    }

    private static Kind Classify(ReadOnlySpan<byte> packet, bool tcp, bool udp)
    {
        if (packet.Length < 28)
        {
            return Kind.None;
        }
        int version = packet[0] >> 4;
        if (version == 4)
        {
            if ((packet[0] & 0x0F) != 5)
            {
                return Kind.None; // IPv4 options do not coalesce
            }
            if (packet[9] == IpHeader.ProtocolTcp && tcp && packet.Length >= 40)
            {
                return Kind.Tcp4;
            }
            if (packet[9] == IpHeader.ProtocolUdp && udp)
            {
                return Kind.Udp4;
            }
        }
        else if (version == 6)
        {
            if (packet[6] == IpHeader.ProtocolTcp && tcp && packet.Length >= 60)
            {
                return Kind.Tcp6;
            }
            if (packet[6] == IpHeader.ProtocolUdp && udp && packet.Length >= 48)
            {
                return Kind.Udp6;
            }
        }
        return Kind.None;
    }

    // Common checks: the length field agrees with the packet; IPv4 not fragmented.
    private static bool LengthAndFragmentOk(ReadOnlySpan<byte> packet, bool v6)
    {
        if (packet.Length > MaxLength)
        {
            return false;
        }
        if (v6)
        {
            return BinaryPrimitives.ReadUInt16BigEndian(packet[4..]) == packet.Length - IpHeader.Ipv6Length;
        }
        if (BinaryPrimitives.ReadUInt16BigEndian(packet[2..]) != packet.Length)
        {
            return false;
        }
        // MF set or a non-zero fragment offset: a fragment, never coalesced.
        return (packet[6] & IpHeader.Ipv4MoreFragments) == 0 && (packet[6] & 0x1F) == 0 && packet[7] == 0;
    }

    private bool TcpGro(ReadOnlySpan<PacketRef> packets, int index, bool v6)
    {
        ReadOnlySpan<byte> packet = packets[index].Span;
        if (!LengthAndFragmentOk(packet, v6))
        {
            return false;
        }
        int ipLength = v6 ? IpHeader.Ipv6Length : IpHeader.Ipv4MinLength;
        int tcpLength = (packet[ipLength + 12] >> 4) * 4;
        if (tcpLength < IpHeader.TcpMinLength || packet.Length < ipLength + tcpLength)
        {
            return false;
        }
        byte flags = packet[ipLength + IpHeader.TcpFlagsOffset];
        if (flags != IpHeader.TcpAck && flags != (IpHeader.TcpAck | IpHeader.TcpPsh))
        {
            return false;
        }
        bool psh = flags != IpHeader.TcpAck;
        int payload = packet.Length - ipLength - tcpLength;
        if (payload < 1)
        {
            return false;
        }
        uint seq = BinaryPrimitives.ReadUInt32BigEndian(packet[(ipLength + 4)..]);
        var key = FlowKey.Create(packet, v6, ipLength, IpHeader.ProtocolTcp);
        if (_lastItemOfFlow.TryGetValue(key, out int last))
        {
            // Newest first: in-order arrival coalesces with the newest group at once.
            for (int it = last; it >= 0; it = _items[it].PrevInFlow)
            {
                ref Item item = ref _items[it];
                if (item.Dead)
                {
                    continue;
                }
                Join join = CanJoinTcp(packets, packet, tcpLength, seq, psh, payload, ref item);
                if (join == Join.No)
                {
                    continue;
                }
                if (item.NumMerged == 0 && !ChecksumValid(packets[item.Head].Span, item.IpHeaderLength, IpHeader.ProtocolTcp, v6))
                {
                    item.Dead = true; // written alone, never a candidate again
                    continue;
                }
                if (!ChecksumValid(packet, ipLength, IpHeader.ProtocolTcp, v6))
                {
                    return false; // a packet with a bad checksum is written alone
                }
                if (join == Join.Append)
                {
                    _next[item.Tail] = index;
                    item.Tail = index;
                    if (psh)
                    {
                        item.Psh = true;
                        packets[item.Head].Buffer[packets[item.Head].Offset + item.IpHeaderLength + IpHeader.TcpFlagsOffset] |= IpHeader.TcpPsh;
                    }
                }
                else
                {
                    _next[index] = item.Head;
                    item.Head = index;
                    item.SentSeq = seq;
                    if (item.Psh)
                    {
                        packets[index].Buffer[packets[index].Offset + ipLength + IpHeader.TcpFlagsOffset] |= IpHeader.TcpPsh;
                    }
                }
                item.GsoSize = Math.Max(item.GsoSize, payload);
                item.TotalLength += payload;
                item.NumMerged++;
                return true;
            }
        }
        ref Item created = ref NewItem(index, packet.Length, candidate: true);
        created.IpHeaderLength = ipLength;
        created.TransportHeaderLength = tcpLength;
        created.GsoSize = payload;
        created.SentSeq = seq;
        created.Psh = psh;
        created.IsV6 = v6;
        created.Protocol = IpHeader.ProtocolTcp;
        created.PrevInFlow = _lastItemOfFlow.TryGetValue(key, out int previous) ? previous : -1;
        _lastItemOfFlow[key] = _count - 1;
        return true;
    }

    private enum Join
    {
        No,
        Append,
        Prepend,
    }

    private static Join CanJoinTcp(ReadOnlySpan<PacketRef> packets, ReadOnlySpan<byte> packet, int tcpLength, uint seq, bool psh, int payload, ref Item item)
    {
        ReadOnlySpan<byte> head = packets[item.Head].Span;
        int ipLength = item.IpHeaderLength;
        if (tcpLength != item.TransportHeaderLength)
        {
            return Join.No;
        }
        if (tcpLength > IpHeader.TcpMinLength
            && !packet.Slice(ipLength + IpHeader.TcpMinLength, tcpLength - IpHeader.TcpMinLength).SequenceEqual(head.Slice(ipLength + IpHeader.TcpMinLength, tcpLength - IpHeader.TcpMinLength)))
        {
            return Join.No;
        }
        if (!IpHeadersMatch(packet, head))
        {
            return Join.No;
        }
        if (item.TotalLength + payload > MaxLength || item.NumMerged + 1 >= MaxSegments)
        {
            return Join.No;
        }
        int groupPayload = item.TotalLength - ipLength - tcpLength;
        if (seq == unchecked(item.SentSeq + (uint)groupPayload))
        {
            // Append: nothing may follow PSH or a short segment, and no segment may be larger than the first.
            if (item.Psh || groupPayload % item.GsoSize != 0 || payload > item.GsoSize)
            {
                return Join.No;
            }
            return Join.Append;
        }
        if (unchecked(seq + (uint)payload) == item.SentSeq)
        {
            // Prepend: PSH only on the last; the new first segment sets gso_size, so it may not be smaller,
            // and may be larger only if the group is one packet (which then becomes the short last one).
            if (psh || payload < item.GsoSize || (payload > item.GsoSize && item.NumMerged > 0))
            {
                return Join.No;
            }
            return Join.Prepend;
        }
        return Join.No;
    }

    private bool UdpGro(ReadOnlySpan<PacketRef> packets, int index, bool v6)
    {
        ReadOnlySpan<byte> packet = packets[index].Span;
        if (!LengthAndFragmentOk(packet, v6))
        {
            return false;
        }
        int ipLength = v6 ? IpHeader.Ipv6Length : IpHeader.Ipv4MinLength;
        if (BinaryPrimitives.ReadUInt16BigEndian(packet[(ipLength + 4)..]) != packet.Length - ipLength)
        {
            return false; // the UDP length must cover exactly the rest of the packet
        }
        int payload = packet.Length - ipLength - IpHeader.UdpLength;
        if (payload < 1)
        {
            return false;
        }
        var key = FlowKey.Create(packet, v6, ipLength, IpHeader.ProtocolUdp);
        bool knownInvalid = false;
        bool exists = _lastItemOfFlow.TryGetValue(key, out int last);
        if (exists)
        {
            // Only the newest group of a flow: joining an older one would reorder datagrams.
            ref Item item = ref _items[last];
            ReadOnlySpan<byte> head = packets[item.Head].Span;
            int groupPayload = item.TotalLength - ipLength - IpHeader.UdpLength;
            if (!item.Dead && IpHeadersMatch(packet, head) && groupPayload % item.GsoSize == 0 && payload <= item.GsoSize
                && item.TotalLength + payload <= MaxLength && item.NumMerged + 1 < MaxSegments)
            {
                bool itemOk = item.NumMerged > 0 || (!item.ChecksumKnownInvalid && ChecksumValid(head, ipLength, IpHeader.ProtocolUdp, v6));
                if (!itemOk)
                {
                    item.Dead = true;
                }
                else if (!ChecksumValid(packet, ipLength, IpHeader.ProtocolUdp, v6))
                {
                    knownInvalid = true;
                }
                else
                {
                    _next[item.Tail] = index;
                    item.Tail = index;
                    item.TotalLength += payload;
                    item.NumMerged++;
                    return true;
                }
            }
        }
        ref Item created = ref NewItem(index, packet.Length, candidate: true);
        created.IpHeaderLength = ipLength;
        created.TransportHeaderLength = IpHeader.UdpLength;
        created.GsoSize = payload;
        created.IsV6 = v6;
        created.Protocol = IpHeader.ProtocolUdp;
        created.ChecksumKnownInvalid = knownInvalid;
        created.PrevInFlow = exists ? last : -1;
        _lastItemOfFlow[key] = _count - 1;
        return true;
    }

    // The fields GSO copies from the first segment to all: they must be equal.
    private static bool IpHeadersMatch(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        if (a[0] >> 4 == 6)
        {
            // version + traffic class, and hop limit
            return a[0] == b[0] && a[1] >> 4 == b[1] >> 4 && a[7] == b[7];
        }
        // ToS; DF and the reserved bit (MF is excluded earlier); TTL
        return a[1] == b[1] && a[6] >> 5 == b[6] >> 5 && a[8] == b[8];
    }

    private static bool ChecksumValid(ReadOnlySpan<byte> packet, int ipLength, byte protocol, bool v6)
    {
        int addressLength = v6 ? 16 : 4;
        int sourceAt = v6 ? IpHeader.Ipv6SourceOffset : IpHeader.Ipv4SourceOffset;
        ulong sum = Checksum.PseudoHeader(packet.Slice(sourceAt, addressLength), packet.Slice(sourceAt + addressLength, addressLength), protocol, packet.Length - ipLength);
        return Checksum.Fold(Checksum.Add(packet[ipLength..], sum)) == 0xFFFF;
    }

    private ref Item NewItem(int packet, int length, bool candidate)
    {
        ref Item item = ref _items[_count++];
        item = default;
        item.First = packet;
        item.Head = packet;
        item.Tail = packet;
        item.TotalLength = length;
        item.Dead = !candidate;
        item.PrevInFlow = -1;
        return ref item;
    }

    // Rewrites the head of every merged group and computes its virtio-net header.
    private void Finish(ReadOnlySpan<PacketRef> packets)
    {
        for (int g = 0; g < _count; g++)
        {
            ref Item item = ref _items[g];
            if (item.NumMerged == 0)
            {
                item.Header = default;
                continue;
            }
            Span<byte> head = packets[item.Head].Span;
            bool tcp = item.Protocol == IpHeader.ProtocolTcp;
            int ipLength = item.IpHeaderLength;
            item.Header = new VirtioNetHeader
            {
                // NEEDS_CSUM becomes CHECKSUM_PARTIAL: the kernel completes the transport checksum.
                Flags = VirtioNetHeader.FlagNeedsChecksum,
                GsoType = tcp ? (item.IsV6 ? VirtioNetHeader.GsoTcpV6 : VirtioNetHeader.GsoTcpV4) : VirtioNetHeader.GsoUdpL4,
                HeaderLength = (ushort)(ipLength + item.TransportHeaderLength),
                GsoSize = (ushort)item.GsoSize,
                ChecksumStart = (ushort)ipLength,
                ChecksumOffset = (ushort)(tcp ? IpHeader.TcpChecksumOffset : IpHeader.UdpChecksumOffset),
            };
            if (item.IsV6)
            {
                BinaryPrimitives.WriteUInt16BigEndian(head[4..], (ushort)(item.TotalLength - IpHeader.Ipv6Length));
            }
            else
            {
                BinaryPrimitives.WriteUInt16BigEndian(head[2..], (ushort)item.TotalLength);
                IpHeader.SetIpv4Checksum(head, ipLength);
            }
            int transportLength = item.TotalLength - ipLength;
            if (!tcp)
            {
                BinaryPrimitives.WriteUInt16BigEndian(head[(ipLength + 4)..], (ushort)transportLength);
            }
            int addressLength = item.IsV6 ? 16 : 4;
            int sourceAt = item.IsV6 ? IpHeader.Ipv6SourceOffset : IpHeader.Ipv4SourceOffset;
            ulong pseudo = Checksum.PseudoHeader(head.Slice(sourceAt, addressLength), head.Slice(sourceAt + addressLength, addressLength), item.Protocol, transportLength);
            BinaryPrimitives.WriteUInt16BigEndian(head[(ipLength + item.Header.ChecksumOffset)..], Checksum.Fold(pseudo));
        }
    }

    private struct Item
    {
        internal int First;
        internal int Head;
        internal int Tail;
        internal int PrevInFlow;
        internal int TotalLength;
        internal int GsoSize;
        internal int NumMerged;
        internal int IpHeaderLength;
        internal int TransportHeaderLength;
        internal uint SentSeq;
        internal byte Protocol;
        internal bool Psh;
        internal bool IsV6;
        internal bool Dead;
        internal bool ChecksumKnownInvalid;
        internal VirtioNetHeader Header;
    }

    private readonly struct FlowKey : IEquatable<FlowKey>
    {
        private readonly UInt128 _source;
        private readonly UInt128 _destination;
        private readonly uint _ports;
        private readonly uint _ack;
        private readonly byte _protocol;
        private readonly bool _v6;

        private FlowKey(UInt128 source, UInt128 destination, uint ports, uint ack, byte protocol, bool v6)
        {
            _source = source;
            _destination = destination;
            _ports = ports;
            _ack = ack;
            _protocol = protocol;
            _v6 = v6;
        }

        internal static FlowKey Create(ReadOnlySpan<byte> packet, bool v6, int ipLength, byte protocol)
        {
            UInt128 source, destination;
            if (v6)
            {
                source = BinaryPrimitives.ReadUInt128BigEndian(packet[IpHeader.Ipv6SourceOffset..]);
                destination = BinaryPrimitives.ReadUInt128BigEndian(packet[(IpHeader.Ipv6SourceOffset + 16)..]);
            }
            else
            {
                source = BinaryPrimitives.ReadUInt32BigEndian(packet[IpHeader.Ipv4SourceOffset..]);
                destination = BinaryPrimitives.ReadUInt32BigEndian(packet[(IpHeader.Ipv4SourceOffset + 4)..]);
            }
            uint ports = BinaryPrimitives.ReadUInt32BigEndian(packet[ipLength..]);
            // TCP: different ACK numbers are different flows (the kernel flushes on an ACK change).
            uint ack = protocol == IpHeader.ProtocolTcp ? BinaryPrimitives.ReadUInt32BigEndian(packet[(ipLength + 8)..]) : 0;
            return new FlowKey(source, destination, ports, ack, protocol, v6);
        }

        public bool Equals(FlowKey other) => _source == other._source && _destination == other._destination && _ports == other._ports
            && _ack == other._ack && _protocol == other._protocol && _v6 == other._v6;

        public override bool Equals(object? obj) => obj is FlowKey other && Equals(other);

        public override int GetHashCode() => HashCode.Combine(_source, _destination, _ports, _ack, _protocol, _v6);
    }
}
