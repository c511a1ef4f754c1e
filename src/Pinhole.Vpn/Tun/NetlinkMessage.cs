using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Pinhole.Vpn.Tun;

/// <summary>
/// rtnetlink requests (rtnetlink(7)) built into a buffer, and the kernel's answers parsed, as pure functions.
/// Everything is host byte order (little-endian here) except addresses. Layout:
/// <code>
/// nlmsghdr (16): len u32 | type u16 | flags u16 | seq u32 | pid u32
/// ifinfomsg (16): family u8 | pad u8 | type u16 | index i32 | flags u32 | change u32
/// ifaddrmsg (8):  family u8 | prefixlen u8 | flags u8 | scope u8 | index u32
/// rtmsg (12):     family u8 | dst_len u8 | src_len u8 | tos u8 | table u8 | protocol u8 | scope u8 | type u8 | flags u32
/// fib_rule_hdr (12): family | dst_len | src_len | tos | table | res1 | res2 | action (u8 each) | flags u32
/// rtattr: len u16 | type u16 | data, padded to 4 bytes
/// nlmsgerr (NLMSG_ERROR): error i32 (0 = ACK, else -errno) | the request's nlmsghdr ...
/// </code>
/// </summary>
internal static class NetlinkMessage
{
    internal const ushort RtmNewLink = 16;
    internal const ushort RtmGetLink = 18;
    internal const ushort RtmNewAddr = 20;
    internal const ushort RtmDelAddr = 21;
    internal const ushort RtmNewRoute = 24;
    internal const ushort RtmDelRoute = 25;
    internal const ushort RtmNewRule = 32;
    internal const ushort RtmDelRule = 33;
    internal const ushort NlmsgError = 2;
    internal const ushort NlmsgDone = 3;
    internal const ushort FlagRequest = 0x1;
    internal const ushort FlagAck = 0x4;
    internal const ushort FlagReplace = 0x100;
    internal const ushort FlagExclusive = 0x200;
    internal const ushort FlagCreate = 0x400;
    internal const int HeaderLength = 16;

    private const ushort IflaMtu = 4;
    private const ushort IfaAddress = 1;
    private const ushort IfaLocal = 2;
    private const ushort IfaFlags = 8;
    private const byte IfaFNoDad = 0x02;
    private const ushort RtaDst = 1;
    private const ushort RtaOif = 4;
    private const ushort RtaPriority = 6;
    private const ushort RtaTable = 15;
    private const ushort FraPriority = 6;
    private const ushort FraFwmark = 10;
    private const ushort FraSuppressPrefixLength = 14;
    private const ushort FraTable = 15;
    private const ushort FraFwmask = 16;
    private const byte RtProtStatic = 4;
    private const byte RtScopeUniverse = 0;
    private const byte RtScopeLink = 253;
    private const byte RtnUnicast = 1;
    private const byte FrActToTable = 1;
    private const uint FibRuleInvert = 0x2;
    private const uint IffUp = 0x1;

    /// <summary>RTM_NEWLINK: interface up or down and/or a new MTU.</summary>
    internal static int SetLink(Span<byte> buffer, uint seq, int index, bool? up, int? mtu)
    {
        int at = Begin(buffer, RtmNewLink, FlagRequest | FlagAck, seq);
        Span<byte> ifi = buffer.Slice(at, 16);
        ifi.Clear();
        BinaryPrimitives.WriteInt32LittleEndian(ifi[4..], index);
        if (up is { } u)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(ifi[8..], u ? IffUp : 0);
            BinaryPrimitives.WriteUInt32LittleEndian(ifi[12..], IffUp);
        }
        at += 16;
        if (mtu is { } m)
        {
            at = AttributeU32(buffer, at, IflaMtu, (uint)m);
        }
        return End(buffer, at);
    }

    /// <summary>RTM_NEWADDR (replace) or RTM_DELADDR of <paramref name="address"/>/<paramref name="prefixLength"/>; IPv6 without duplicate address detection.</summary>
    internal static int Address(Span<byte> buffer, uint seq, bool add, int index, IPAddress address, int prefixLength)
    {
        bool v6 = address.AddressFamily == AddressFamily.InterNetworkV6;
        int at = Begin(buffer, add ? RtmNewAddr : RtmDelAddr, (ushort)(FlagRequest | FlagAck | (add ? FlagCreate | FlagReplace : 0)), seq);
        Span<byte> ifa = buffer.Slice(at, 8);
        ifa[0] = (byte)(v6 ? 10 : 2);
        ifa[1] = (byte)prefixLength;
        ifa[2] = v6 ? IfaFNoDad : (byte)0;
        ifa[3] = RtScopeUniverse;
        BinaryPrimitives.WriteInt32LittleEndian(ifa[4..], index);
        at += 8;
        at = AttributeAddress(buffer, at, IfaLocal, address);
        at = AttributeAddress(buffer, at, IfaAddress, address);
        if (v6)
        {
            at = AttributeU32(buffer, at, IfaFlags, IfaFNoDad);
        }
        return End(buffer, at);
    }

    /// <summary>RTM_NEWROUTE (replace) or RTM_DELROUTE: <paramref name="prefix"/> out of interface <paramref name="index"/> in <paramref name="table"/>.</summary>
    internal static int Route(Span<byte> buffer, uint seq, bool add, int index, IPNetwork prefix, uint table, uint? metric)
    {
        bool v6 = prefix.BaseAddress.AddressFamily == AddressFamily.InterNetworkV6;
        int at = Begin(buffer, add ? RtmNewRoute : RtmDelRoute, (ushort)(FlagRequest | FlagAck | (add ? FlagCreate | FlagReplace : 0)), seq);
        Span<byte> rt = buffer.Slice(at, 12);
        rt.Clear();
        rt[0] = (byte)(v6 ? 10 : 2);
        rt[1] = (byte)prefix.PrefixLength;
        rt[4] = table < 256 ? (byte)table : (byte)252; // RT_TABLE_COMPAT; RTA_TABLE carries the real id
        rt[5] = RtProtStatic;
        rt[6] = v6 ? RtScopeUniverse : RtScopeLink;
        rt[7] = RtnUnicast;
        at += 12;
        if (prefix.PrefixLength > 0)
        {
            at = AttributeAddress(buffer, at, RtaDst, prefix.BaseAddress);
        }
        at = AttributeU32(buffer, at, RtaOif, (uint)index);
        at = AttributeU32(buffer, at, RtaTable, table);
        if (metric is { } m)
        {
            at = AttributeU32(buffer, at, RtaPriority, m);
        }
        return End(buffer, at);
    }

    /// <summary>
    /// RTM_NEWRULE/RTM_DELRULE for family <paramref name="v6"/>: either "not fwmark MARK lookup TABLE"
    /// (<paramref name="fwmark"/> set) or "lookup main suppress_prefixlength 0" (the full-tunnel pair of wg-quick).
    /// </summary>
    internal static int Rule(Span<byte> buffer, uint seq, bool add, bool v6, uint priority, uint table, uint? fwmark, bool suppressDefault)
    {
        int at = Begin(buffer, add ? RtmNewRule : RtmDelRule, (ushort)(FlagRequest | FlagAck | (add ? FlagCreate | FlagExclusive : 0)), seq);
        Span<byte> fr = buffer.Slice(at, 12);
        fr.Clear();
        fr[0] = (byte)(v6 ? 10 : 2);
        fr[4] = table < 256 ? (byte)table : (byte)0;
        fr[7] = FrActToTable;
        if (fwmark is not null)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(fr[8..], FibRuleInvert);
        }
        at += 12;
        at = AttributeU32(buffer, at, FraPriority, priority);
        at = AttributeU32(buffer, at, FraTable, table);
        if (fwmark is { } mark)
        {
            at = AttributeU32(buffer, at, FraFwmark, mark);
            at = AttributeU32(buffer, at, FraFwmask, 0xFFFFFFFF);
        }
        if (suppressDefault)
        {
            at = AttributeU32(buffer, at, FraSuppressPrefixLength, 0);
        }
        return End(buffer, at);
    }

    /// <summary>RTM_GETLINK for one interface (the answer carries IFLA_MTU).</summary>
    internal static int GetLink(Span<byte> buffer, uint seq, int index)
    {
        int at = Begin(buffer, RtmGetLink, FlagRequest, seq);
        buffer.Slice(at, 16).Clear();
        BinaryPrimitives.WriteInt32LittleEndian(buffer[(at + 4)..], index);
        return End(buffer, at + 16);
    }

    /// <summary>
    /// Looks through the answer datagram <paramref name="datagram"/> for the NLMSG_ERROR that answers
    /// <paramref name="seq"/>: returns true with <paramref name="errno"/> (0 = success). Messages for
    /// other sequence numbers are skipped; a malformed datagram throws <see cref="FormatException"/>.
    /// </summary>
    internal static bool TryReadAck(ReadOnlySpan<byte> datagram, uint seq, out int errno)
    {
        errno = 0;
        while (datagram.Length >= HeaderLength)
        {
            uint length = BinaryPrimitives.ReadUInt32LittleEndian(datagram);
            if (length < HeaderLength || length > datagram.Length)
            {
                throw new FormatException($"netlink message length {length} with {datagram.Length} bytes left");
            }
            ushort type = BinaryPrimitives.ReadUInt16LittleEndian(datagram[4..]);
            uint messageSeq = BinaryPrimitives.ReadUInt32LittleEndian(datagram[8..]);
            if (type == NlmsgError && messageSeq == seq)
            {
                if (length < HeaderLength + 4)
                {
                    throw new FormatException("NLMSG_ERROR without an error code");
                }
                errno = -BinaryPrimitives.ReadInt32LittleEndian(datagram[HeaderLength..]);
                return true;
            }
            int aligned = Align((int)length);
            if (aligned >= datagram.Length)
            {
                break;
            }
            datagram = datagram[aligned..];
        }
        return false;
    }

    /// <summary>Reads IFLA_MTU from an RTM_NEWLINK answer to <paramref name="seq"/>, or null.</summary>
    internal static int? ReadLinkMtu(ReadOnlySpan<byte> datagram, uint seq)
    {
        while (datagram.Length >= HeaderLength)
        {
            uint length = BinaryPrimitives.ReadUInt32LittleEndian(datagram);
            if (length < HeaderLength || length > datagram.Length)
            {
                throw new FormatException($"netlink message length {length} with {datagram.Length} bytes left");
            }
            ushort type = BinaryPrimitives.ReadUInt16LittleEndian(datagram[4..]);
            if (type == RtmNewLink && BinaryPrimitives.ReadUInt32LittleEndian(datagram[8..]) == seq && length >= HeaderLength + 16)
            {
                ReadOnlySpan<byte> attributes = datagram[(HeaderLength + 16)..(int)length];
                while (attributes.Length >= 4)
                {
                    ushort attributeLength = BinaryPrimitives.ReadUInt16LittleEndian(attributes);
                    ushort attributeType = BinaryPrimitives.ReadUInt16LittleEndian(attributes[2..]);
                    if (attributeLength < 4 || attributeLength > attributes.Length)
                    {
                        throw new FormatException($"rtattr length {attributeLength} with {attributes.Length} bytes left");
                    }
                    if (attributeType == IflaMtu && attributeLength >= 8)
                    {
                        return (int)BinaryPrimitives.ReadUInt32LittleEndian(attributes[4..]);
                    }
                    int next = Align(attributeLength);
                    if (next >= attributes.Length)
                    {
                        break;
                    }
                    attributes = attributes[next..];
                }
                return null;
            }
            int aligned = Align((int)length);
            if (aligned >= datagram.Length)
            {
                break;
            }
            datagram = datagram[aligned..];
        }
        return null;
    }

    private static int Align(int length) => (length + 3) & ~3;

    private static int Begin(Span<byte> buffer, ushort type, ushort flags, uint seq)
    {
        buffer[..HeaderLength].Clear();
        BinaryPrimitives.WriteUInt16LittleEndian(buffer[4..], type);
        BinaryPrimitives.WriteUInt16LittleEndian(buffer[6..], flags);
        BinaryPrimitives.WriteUInt32LittleEndian(buffer[8..], seq);
        return HeaderLength;
    }

    private static int End(Span<byte> buffer, int length)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(buffer, (uint)length);
        return length;
    }

    private static int AttributeU32(Span<byte> buffer, int at, ushort type, uint value)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(buffer[at..], 8);
        BinaryPrimitives.WriteUInt16LittleEndian(buffer[(at + 2)..], type);
        BinaryPrimitives.WriteUInt32LittleEndian(buffer[(at + 4)..], value);
        return at + 8;
    }

    private static int AttributeAddress(Span<byte> buffer, int at, ushort type, IPAddress address)
    {
        int length = address.AddressFamily == AddressFamily.InterNetworkV6 ? 16 : 4;
        BinaryPrimitives.WriteUInt16LittleEndian(buffer[at..], (ushort)(4 + length));
        BinaryPrimitives.WriteUInt16LittleEndian(buffer[(at + 2)..], type);
        if (!address.TryWriteBytes(buffer[(at + 4)..], out _))
        {
            throw new ArgumentException($"Cannot encode {address}.", nameof(address));
        }
        return at + Align(4 + length);
    }
}
