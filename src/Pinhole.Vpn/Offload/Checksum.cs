using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Pinhole.Vpn.Offload;

/// <summary>
/// The Internet checksum (RFC 1071): a ones-complement sum of 16-bit big-endian words. Partial sums are
/// kept unfolded in a <see cref="ulong"/> so chunks can be added up; every chunk but the last must have an
/// even length (a ones-complement sum of concatenated chunks equals the sum of their sums only then).
/// </summary>
internal static class Checksum
{
    /// <summary>Adds <paramref name="data"/> to the partial sum <paramref name="sum"/>.</summary>
    internal static ulong Add(ReadOnlySpan<byte> data, ulong sum = 0)
    {
        // 32-bit big-endian words into a 64-bit accumulator: no carry can be lost below 2^32 words.
        ReadOnlySpan<uint> words = MemoryMarshal.Cast<byte, uint>(data);
        int i = 0;
        for (; i + 4 <= words.Length; i += 4)
        {
            sum += (ulong)BinaryPrimitives.ReverseEndianness(words[i])
                + BinaryPrimitives.ReverseEndianness(words[i + 1])
                + BinaryPrimitives.ReverseEndianness(words[i + 2])
                + BinaryPrimitives.ReverseEndianness(words[i + 3]);
        }
        for (; i < words.Length; i++)
        {
            sum += BinaryPrimitives.ReverseEndianness(words[i]);
        }
        int rest = words.Length * 4;
        if (data.Length - rest >= 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(data[rest..]);
            rest += 2;
        }
        if (rest < data.Length)
        {
            sum += (ulong)data[rest] << 8;
        }
        return sum;
    }

    /// <summary>Adds one 16-bit value.</summary>
    internal static ulong Add(ushort value, ulong sum) => sum + value;

    /// <summary>Folds a partial sum to 16 bits (not complemented).</summary>
    internal static ushort Fold(ulong sum)
    {
        sum = (sum & 0xFFFFFFFF) + (sum >> 32);
        sum = (sum & 0xFFFFFFFF) + (sum >> 32);
        sum = (sum & 0xFFFF) + (sum >> 16);
        sum = (sum & 0xFFFF) + (sum >> 16);
        return (ushort)sum;
    }

    /// <summary>The value to store in a checksum field: the complement of the folded sum.</summary>
    internal static ushort Finish(ulong sum) => (ushort)~Fold(sum);

    /// <summary>
    /// The TCP/UDP pseudo-header sum: source and destination address (4 or 16 bytes each), protocol and
    /// transport length (RFC 793 §3.1, RFC 8200 §8.1).
    /// </summary>
    internal static ulong PseudoHeader(ReadOnlySpan<byte> source, ReadOnlySpan<byte> destination, byte protocol, int transportLength)
        => Add(destination, Add(source)) + protocol + (ulong)(uint)transportLength;

    /// <summary>The IPv4 header checksum of <paramref name="header"/> (whose checksum field is taken as zero).</summary>
    internal static ushort Ipv4Header(ReadOnlySpan<byte> header)
    {
        ulong sum = Add(header[..10]);
        sum = Add(header[12..], sum);
        return Finish(sum);
    }
}
