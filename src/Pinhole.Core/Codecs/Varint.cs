namespace Pinhole.Codecs;

/// <summary>
/// Unsigned LEB128 varints as used by multiformats (multihash, multiaddr, multistream-select) and protobuf.
/// Multiformats caps varints at 9 bytes (63 bits); protobuf allows 10 (64 bits): the caller picks the cap.
/// </summary>
public static class Varint
{
    /// <summary>Longest multiformats varint (unsigned-varint spec: at most 9 bytes).</summary>
    public const int MaxMultiformatsLength = 9;

    /// <summary>Longest protobuf varint (64 bits).</summary>
    public const int MaxLength = 10;

    /// <summary>Number of bytes <paramref name="value"/> takes.</summary>
    public static int GetLength(ulong value)
    {
        var length = 1;
        while (value >= 0x80)
        {
            value >>= 7;
            length++;
        }
        return length;
    }

    /// <summary>Writes <paramref name="value"/>; returns the bytes written. The span must hold <see cref="GetLength"/> bytes.</summary>
    public static int Write(Span<byte> destination, ulong value)
    {
        var i = 0;
        while (value >= 0x80)
        {
            destination[i++] = (byte)(value | 0x80);
            value >>= 7;
        }
        destination[i++] = (byte)value;
        return i;
    }

    /// <summary>Outcome of <see cref="TryRead"/>.</summary>
    public enum ReadStatus
    {
        /// <summary>A complete varint was read.</summary>
        Done,
        /// <summary>The buffer ends inside the varint: read more and try again.</summary>
        NeedMoreData,
        /// <summary>The varint is longer than allowed or not minimally encoded.</summary>
        Invalid,
    }

    /// <summary>
    /// Reads a varint of at most <paramref name="maxLength"/> bytes. Rejects non-minimal encodings
    /// (a trailing 0x00 byte), as the multiformats spec requires, so every value has one encoding.
    /// </summary>
    public static ReadStatus TryRead(ReadOnlySpan<byte> source, out ulong value, out int bytesRead, int maxLength = MaxMultiformatsLength)
    {
        value = 0;
        bytesRead = 0;
        var shift = 0;
        for (var i = 0; i < source.Length; i++)
        {
            if (i >= maxLength)
            {
                return ReadStatus.Invalid;
            }
            var b = source[i];
            if (i == 9 && b > 1)
            {
                return ReadStatus.Invalid; // would overflow 64 bits
            }
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                if (b == 0 && i > 0)
                {
                    return ReadStatus.Invalid;
                }
                bytesRead = i + 1;
                return ReadStatus.Done;
            }
            shift += 7;
        }
        value = 0;
        return source.Length >= maxLength ? ReadStatus.Invalid : ReadStatus.NeedMoreData;
    }

    /// <summary>Reads a complete varint or throws <see cref="FormatException"/> saying what is wrong.</summary>
    public static ulong Read(ReadOnlySpan<byte> source, out int bytesRead, int maxLength = MaxMultiformatsLength)
    {
        return TryRead(source, out var value, out bytesRead, maxLength) switch
        {
            ReadStatus.Done => value,
            ReadStatus.NeedMoreData => throw new FormatException("Truncated varint: the input ends before its last byte."),
            _ => throw new FormatException($"Invalid varint: longer than {maxLength} bytes or not minimally encoded."),
        };
    }
}
