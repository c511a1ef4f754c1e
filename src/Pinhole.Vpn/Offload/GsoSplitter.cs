using System.Buffers.Binary;
using Pinhole.Vpn.Packets;

namespace Pinhole.Vpn.Offload;

/// <summary>Why a packet read from the TUN could not be turned into plain packets.</summary>
internal enum OffloadStatus
{
    /// <summary>Done: every segment was written.</summary>
    Done,
    /// <summary>The outputs ran out; call again with <c>nextSegment</c> to continue (nothing is lost).</summary>
    TooManySegments,
    /// <summary>The packet or its virtio-net header is malformed; it is dropped.</summary>
    Invalid,
}

/// <summary>
/// Userspace GSO: turns one packet read from a TUN with IFF_VNET_HDR (a TCP or UDP "super-packet" of up to
/// 64 KiB with a virtio-net header, or a plain packet whose checksum the kernel left to us) into plain IP
/// packets of at most gso_size payload each, with their own lengths, IPv4 ids and checksums, and TCP
/// sequence numbers and flags. The same job as the kernel's tcp_gso_segment/__udp_gso_segment and
/// wireguard-go's tun/offload_linux.go, written from the RFCs. A pure function over buffers.
/// </summary>
internal static class GsoSplitter
{
    /// <summary>
    /// Splits <paramref name="packet"/> (the bytes after the virtio-net header) into <paramref name="outputs"/>:
    /// each output's buffer receives a packet at its <see cref="PacketRef.Offset"/>, and its
    /// <see cref="PacketRef.Length"/> is set. Starts at segment <paramref name="nextSegment"/> and advances
    /// it; returns <see cref="OffloadStatus.TooManySegments"/> when <paramref name="outputs"/> is full before
    /// the end (call again with fresh outputs). <paramref name="packet"/> is modified (checksum fields).
    /// </summary>
    internal static OffloadStatus Split(Span<byte> packet, VirtioNetHeader header, ref int nextSegment, Span<PacketRef> outputs, out int produced, out string? error)
    {
        produced = 0;
        if (header.GsoType == VirtioNetHeader.GsoNone)
        {
            return SplitNone(packet, header, ref nextSegment, outputs, ref produced, out error);
        }
        int version = IpHeader.Version(packet);
        byte gso = (byte)(header.GsoType & ~VirtioNetHeader.GsoEcn);
        bool tcp = gso is VirtioNetHeader.GsoTcpV4 or VirtioNetHeader.GsoTcpV6;
        if (!tcp && gso != VirtioNetHeader.GsoUdpL4)
        {
            error = $"unsupported virtio GSO type {header.GsoType}";
            return OffloadStatus.Invalid;
        }
        if (version == 0 || (gso == VirtioNetHeader.GsoTcpV4 && version != 4) || (gso == VirtioNetHeader.GsoTcpV6 && version != 6))
        {
            error = $"GSO type {header.GsoType} does not fit IP version {(packet.IsEmpty ? 0 : packet[0] >> 4)} ({packet.Length} bytes)";
            return OffloadStatus.Invalid;
        }
        int ipHeaderLength = header.ChecksumStart;
        int minimumIp = version == 4 ? (packet[0] & 0x0F) * 4 : IpHeader.Ipv6Length;
        if (version == 4 ? ipHeaderLength != minimumIp || minimumIp < IpHeader.Ipv4MinLength : ipHeaderLength < IpHeader.Ipv6Length)
        {
            error = $"csum_start {ipHeaderLength} is not the end of the IPv{version} header";
            return OffloadStatus.Invalid;
        }
        int expectedOffset = tcp ? IpHeader.TcpChecksumOffset : IpHeader.UdpChecksumOffset;
        if (header.ChecksumOffset != expectedOffset)
        {
            error = $"csum_offset {header.ChecksumOffset} is not the {(tcp ? "TCP" : "UDP")} checksum ({expectedOffset})";
            return OffloadStatus.Invalid;
        }
        // hdr_len is not trusted: recompute it from csum_start and the transport header.
        int transportHeaderLength;
        if (tcp)
        {
            if (packet.Length < ipHeaderLength + IpHeader.TcpMinLength)
            {
                error = $"a {packet.Length}-byte packet cannot hold a TCP header at {ipHeaderLength}";
                return OffloadStatus.Invalid;
            }
            transportHeaderLength = (packet[ipHeaderLength + 12] >> 4) * 4;
            if (transportHeaderLength < IpHeader.TcpMinLength)
            {
                error = $"TCP data offset {transportHeaderLength} is below 20";
                return OffloadStatus.Invalid;
            }
        }
        else
        {
            transportHeaderLength = IpHeader.UdpLength;
        }
        int headersLength = ipHeaderLength + transportHeaderLength;
        if (packet.Length <= headersLength)
        {
            error = $"a {packet.Length}-byte GSO packet has no payload after {headersLength} header bytes";
            return OffloadStatus.Invalid;
        }
        if (header.GsoSize == 0)
        {
            error = "gso_size is 0";
            return OffloadStatus.Invalid;
        }
        int payloadLength = packet.Length - headersLength;
        int segments = (payloadLength + header.GsoSize - 1) / header.GsoSize;
        if (nextSegment < 0 || nextSegment >= segments)
        {
            error = $"segment {nextSegment} of {segments}";
            return OffloadStatus.Invalid;
        }

        ReadOnlySpan<byte> source = IpHeader.Source(packet, version);
        ReadOnlySpan<byte> destination = IpHeader.Destination(packet, version);
        byte protocol = tcp ? IpHeader.ProtocolTcp : IpHeader.ProtocolUdp;
        uint firstSeq = tcp ? BinaryPrimitives.ReadUInt32BigEndian(packet[(ipHeaderLength + 4)..]) : 0;
        ushort firstId = version == 4 ? BinaryPrimitives.ReadUInt16BigEndian(packet[4..]) : (ushort)0;
        byte flags = tcp ? packet[ipHeaderLength + IpHeader.TcpFlagsOffset] : (byte)0;

        for (; nextSegment < segments; nextSegment++)
        {
            if (produced == outputs.Length)
            {
                error = null;
                return OffloadStatus.TooManySegments;
            }
            int i = nextSegment;
            int dataStart = headersLength + i * header.GsoSize;
            int dataLength = Math.Min(header.GsoSize, packet.Length - dataStart);
            int total = headersLength + dataLength;
            ref PacketRef output = ref outputs[produced];
            if (output.Capacity < total)
            {
                error = $"a {total}-byte segment does not fit a {output.Capacity}-byte buffer";
                return OffloadStatus.Invalid;
            }
            Span<byte> o = output.Buffer.AsSpan(output.Offset, total);
            packet[..headersLength].CopyTo(o);
            packet.Slice(dataStart, dataLength).CopyTo(o[headersLength..]);
            if (version == 4)
            {
                BinaryPrimitives.WriteUInt16BigEndian(o[2..], (ushort)total);
                BinaryPrimitives.WriteUInt16BigEndian(o[4..], (ushort)(firstId + i));
                IpHeader.SetIpv4Checksum(o, ipHeaderLength);
            }
            else
            {
                BinaryPrimitives.WriteUInt16BigEndian(o[4..], (ushort)(total - IpHeader.Ipv6Length));
            }
            Span<byte> transport = o[ipHeaderLength..];
            if (tcp)
            {
                BinaryPrimitives.WriteUInt32BigEndian(transport[4..], firstSeq + (uint)(i * header.GsoSize));
                byte f = flags;
                if (i != segments - 1)
                {
                    f &= unchecked((byte)~(IpHeader.TcpFin | IpHeader.TcpPsh));
                }
                if (i != 0)
                {
                    // As tcp_gso_segment: congestion window reduced is signalled once, on the first segment.
                    f &= unchecked((byte)~IpHeader.TcpCwr);
                }
                transport[IpHeader.TcpFlagsOffset] = f;
            }
            else
            {
                BinaryPrimitives.WriteUInt16BigEndian(transport[4..], (ushort)(IpHeader.UdpLength + dataLength));
            }
            int transportLength = total - ipHeaderLength;
            transport[expectedOffset] = 0;
            transport[expectedOffset + 1] = 0;
            ulong sum = Checksum.PseudoHeader(source, destination, protocol, transportLength);
            ushort checksum = Checksum.Finish(Checksum.Add(transport[..transportLength], sum));
            if (!tcp && checksum == 0)
            {
                checksum = 0xFFFF; // RFC 768: a computed zero is sent as all ones
            }
            BinaryPrimitives.WriteUInt16BigEndian(transport[expectedOffset..], checksum);
            output.Length = total;
            produced++;
        }
        error = null;
        return OffloadStatus.Done;
    }

    // A plain packet; if the kernel left its checksum partial (CHECKSUM_PARTIAL), finish it here.
    private static OffloadStatus SplitNone(Span<byte> packet, VirtioNetHeader header, ref int nextSegment, Span<PacketRef> outputs, ref int produced, out string? error)
    {
        if (nextSegment != 0)
        {
            error = $"segment {nextSegment} of 1";
            return OffloadStatus.Invalid;
        }
        if (outputs.IsEmpty)
        {
            error = null;
            return OffloadStatus.TooManySegments;
        }
        if ((header.Flags & VirtioNetHeader.FlagNeedsChecksum) != 0)
        {
            int at = header.ChecksumStart + header.ChecksumOffset;
            if (header.ChecksumStart >= packet.Length || at + 2 > packet.Length)
            {
                error = $"checksum at {header.ChecksumStart}+{header.ChecksumOffset} is outside the {packet.Length}-byte packet";
                return OffloadStatus.Invalid;
            }
            // The field holds the pseudo-header sum; the checksum covers it plus everything from csum_start.
            ulong initial = BinaryPrimitives.ReadUInt16BigEndian(packet[at..]);
            packet[at] = 0;
            packet[at + 1] = 0;
            BinaryPrimitives.WriteUInt16BigEndian(packet[at..], Checksum.Finish(Checksum.Add(packet[header.ChecksumStart..], initial)));
        }
        ref PacketRef output = ref outputs[0];
        if (output.Capacity < packet.Length)
        {
            error = $"a {packet.Length}-byte packet does not fit a {output.Capacity}-byte buffer";
            return OffloadStatus.Invalid;
        }
        packet.CopyTo(output.Buffer.AsSpan(output.Offset));
        output.Length = packet.Length;
        produced = 1;
        nextSegment = 1;
        error = null;
        return OffloadStatus.Done;
    }
}
