using System.Buffers.Binary;

namespace Pinhole.Vpn.Offload;

/// <summary>
/// struct virtio_net_hdr (include/uapi/linux/virtio_net.h), which a TUN opened with IFF_VNET_HDR puts in
/// front of every packet in both directions. Little-endian on every Linux host (virtio 1.0):
/// <code>
///  0        1          2            4            6             8              10
///  +--------+----------+------------+------------+-------------+--------------+
///  | flags  | gso_type | hdr_len    | gso_size   | csum_start  | csum_offset  |
///  +--------+----------+------------+------------+-------------+--------------+
/// </code>
/// hdr_len is not trusted (the kernel's forwarding path can set it to the whole first packet); it is
/// recomputed from csum_start and the transport header.
/// </summary>
internal struct VirtioNetHeader : IEquatable<VirtioNetHeader>
{
    internal const int Size = 10;
    internal const byte FlagNeedsChecksum = 1;
    internal const byte FlagDataValid = 2;
    internal const byte GsoNone = 0;
    internal const byte GsoTcpV4 = 1;
    internal const byte GsoUdp = 3;
    internal const byte GsoTcpV6 = 4;
    internal const byte GsoUdpL4 = 5;
    internal const byte GsoEcn = 0x80;

    internal byte Flags;
    internal byte GsoType;
    internal ushort HeaderLength;
    internal ushort GsoSize;
    internal ushort ChecksumStart;
    internal ushort ChecksumOffset;

    /// <summary>Reads the first 10 bytes of <paramref name="source"/>.</summary>
    internal static VirtioNetHeader Read(ReadOnlySpan<byte> source)
    {
        if (source.Length < Size)
        {
            throw new ArgumentException($"A virtio-net header needs {Size} bytes; {source.Length} given.", nameof(source));
        }
        return new VirtioNetHeader
        {
            Flags = source[0],
            GsoType = source[1],
            HeaderLength = BinaryPrimitives.ReadUInt16LittleEndian(source[2..]),
            GsoSize = BinaryPrimitives.ReadUInt16LittleEndian(source[4..]),
            ChecksumStart = BinaryPrimitives.ReadUInt16LittleEndian(source[6..]),
            ChecksumOffset = BinaryPrimitives.ReadUInt16LittleEndian(source[8..]),
        };
    }

    /// <summary>Writes the header into the first 10 bytes of <paramref name="destination"/>.</summary>
    internal readonly void Write(Span<byte> destination)
    {
        destination[0] = Flags;
        destination[1] = GsoType;
        BinaryPrimitives.WriteUInt16LittleEndian(destination[2..], HeaderLength);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[4..], GsoSize);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[6..], ChecksumStart);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[8..], ChecksumOffset);
    }

    /// <inheritdoc />
    public readonly bool Equals(VirtioNetHeader other) => Flags == other.Flags && GsoType == other.GsoType && HeaderLength == other.HeaderLength
        && GsoSize == other.GsoSize && ChecksumStart == other.ChecksumStart && ChecksumOffset == other.ChecksumOffset;

    /// <inheritdoc />
    public override readonly bool Equals(object? obj) => obj is VirtioNetHeader other && Equals(other);

    /// <inheritdoc />
    public override readonly int GetHashCode() => HashCode.Combine(Flags, GsoType, HeaderLength, GsoSize, ChecksumStart, ChecksumOffset);

    /// <inheritdoc />
    public override readonly string ToString() => $"flags={Flags} gso={GsoType} hdr={HeaderLength} size={GsoSize} csum={ChecksumStart}+{ChecksumOffset}";

    public static bool operator ==(VirtioNetHeader left, VirtioNetHeader right) => left.Equals(right);

    public static bool operator !=(VirtioNetHeader left, VirtioNetHeader right) => !left.Equals(right);
}
