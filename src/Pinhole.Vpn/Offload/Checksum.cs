using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

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
        if (!BitConverter.IsLittleEndian)
        {
            return AddScalar(data, sum);
        }
        // The sum is byte-order independent (RFC 1071 §2(B)): add the even part as little-endian words,
        // fold, and swap the 16-bit result; an odd last byte is the high byte of a big-endian word.
        int even = data.Length & ~1;
        ulong native = AddNative(data[..even]);
        sum += BinaryPrimitives.ReverseEndianness(Fold(native));
        if (even < data.Length)
        {
            sum += (ulong)data[even] << 8;
        }
        return sum;
    }

    // Little-endian 16-bit words of an even-length span, unfolded. Vector lanes add the two halves of each
    // 32-bit word (≤ 0x1FFFE per step), so a lane cannot overflow within 32 768 steps (1 MiB): flushed
    // every 16 384 steps.
    private static ulong AddNative(ReadOnlySpan<byte> data)
    {
        ulong total = 0;
        int i = 0;
        ref byte start = ref MemoryMarshal.GetReference(data);
        if (Vector256.IsHardwareAccelerated && data.Length >= 2 * Vector256<byte>.Count)
        {
            var low = Vector256.Create(0xFFFFu);
            while (i + Vector256<byte>.Count <= data.Length)
            {
                Vector256<uint> acc = Vector256<uint>.Zero;
                int stop = Math.Min(data.Length - Vector256<byte>.Count, i + (16384 * Vector256<byte>.Count));
                for (; i <= stop; i += Vector256<byte>.Count)
                {
                    Vector256<uint> v = Vector256.LoadUnsafe(ref start, (nuint)i).AsUInt32();
                    acc += (v & low) + (v >> 16);
                }
                (Vector256<ulong> a, Vector256<ulong> b) = Vector256.Widen(acc);
                total += Vector256.Sum(a + b);
            }
        }
        for (; i + 8 <= data.Length; i += 8)
        {
            ulong w = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref start, i));
            total += (w & 0xFFFFFFFF) + (w >> 32);
        }
        for (; i + 2 <= data.Length; i += 2)
        {
            total += Unsafe.ReadUnaligned<ushort>(ref Unsafe.Add(ref start, i));
        }
        return total;
    }

    /// <summary>The plain big-endian loop: the reference the fast path is tested against.</summary>
    internal static ulong AddScalar(ReadOnlySpan<byte> data, ulong sum = 0)
    {
        int i = 0;
        for (; i + 2 <= data.Length; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
        }
        if (i < data.Length)
        {
            sum += (ulong)data[i] << 8;
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
