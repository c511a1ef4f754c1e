namespace Pinhole.Codecs;

/// <summary>RFC 4648 base32, lowercase, no padding (multibase <c>b</c>), as used by CIDv1 peer IDs.</summary>
public static class Base32
{
    private const string Alphabet = "abcdefghijklmnopqrstuvwxyz234567";

    /// <summary>Encodes bytes as lowercase unpadded base32.</summary>
    public static string Encode(ReadOnlySpan<byte> data)
    {
        var chars = new char[((data.Length * 8) + 4) / 5];
        int buffer = 0, bits = 0, n = 0;
        foreach (var b in data)
        {
            buffer = (buffer << 8) | b;
            bits += 8;
            while (bits >= 5)
            {
                chars[n++] = Alphabet[(buffer >> (bits - 5)) & 31];
                bits -= 5;
            }
        }
        if (bits > 0)
        {
            chars[n++] = Alphabet[(buffer << (5 - bits)) & 31];
        }
        return new string(chars, 0, n);
    }

    /// <summary>Decodes base32 (either case, no padding); throws <see cref="FormatException"/> on a bad character or length.</summary>
    public static byte[] Decode(ReadOnlySpan<char> text)
    {
        var bytes = new byte[text.Length * 5 / 8];
        int buffer = 0, bits = 0, n = 0;
        for (var i = 0; i < text.Length; i++)
        {
            var c = char.ToLowerInvariant(text[i]);
            var value = c is >= 'a' and <= 'z' ? c - 'a' : c is >= '2' and <= '7' ? c - '2' + 26 : -1;
            if (value < 0)
            {
                throw new FormatException($"Invalid base32 character '{text[i]}' at position {i}.");
            }
            buffer = (buffer << 5) | value;
            bits += 5;
            if (bits >= 8)
            {
                bytes[n++] = (byte)(buffer >> (bits - 8));
                bits -= 8;
            }
        }
        if (bits >= 5 || (buffer & ((1 << bits) - 1)) != 0)
        {
            throw new FormatException("Invalid base32 length or non-zero trailing bits.");
        }
        return bytes;
    }
}
