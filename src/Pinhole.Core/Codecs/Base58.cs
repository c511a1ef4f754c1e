namespace Pinhole.Codecs;

/// <summary>Base58 with the Bitcoin alphabet (multibase <c>z</c>), as used by libp2p peer IDs.</summary>
public static class Base58
{
    private const string Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    private static readonly sbyte[] Digits = BuildDigits();

    /// <summary>Longest input accepted by <see cref="Decode"/>; the algorithm is quadratic, so bound it.</summary>
    public const int MaxEncodedLength = 1024;

    private static sbyte[] BuildDigits()
    {
        var map = new sbyte[128];
        Array.Fill(map, (sbyte)-1);
        for (var i = 0; i < Alphabet.Length; i++)
        {
            map[Alphabet[i]] = (sbyte)i;
        }
        return map;
    }

    /// <summary>Encodes bytes; leading zero bytes become leading '1's.</summary>
    public static string Encode(ReadOnlySpan<byte> data)
    {
        var zeros = 0;
        while (zeros < data.Length && data[zeros] == 0)
        {
            zeros++;
        }
        // log(256)/log(58) ~ 1.37
        var buffer = new byte[((data.Length - zeros) * 138 / 100) + 1];
        var length = 0;
        for (var i = zeros; i < data.Length; i++)
        {
            int carry = data[i];
            var j = 0;
            for (var k = buffer.Length - 1; (carry != 0 || j < length) && k >= 0; k--, j++)
            {
                carry += 256 * buffer[k];
                buffer[k] = (byte)(carry % 58);
                carry /= 58;
            }
            length = j;
        }
        var start = buffer.Length - length;
        return string.Create(zeros + length, (buffer, start, zeros), static (chars, state) =>
        {
            chars[..state.zeros].Fill('1');
            for (var i = 0; i < chars.Length - state.zeros; i++)
            {
                chars[state.zeros + i] = Alphabet[state.buffer[state.start + i]];
            }
        });
    }

    /// <summary>Decodes base58; throws <see cref="FormatException"/> naming the first bad character.</summary>
    public static byte[] Decode(ReadOnlySpan<char> text)
    {
        if (text.Length > MaxEncodedLength)
        {
            throw new FormatException($"Base58 text is {text.Length} characters long; at most {MaxEncodedLength} are accepted.");
        }
        var zeros = 0;
        while (zeros < text.Length && text[zeros] == '1')
        {
            zeros++;
        }
        // log(58)/log(256) ~ 0.733
        var buffer = new byte[((text.Length - zeros) * 733 / 1000) + 1];
        var length = 0;
        for (var i = zeros; i < text.Length; i++)
        {
            var c = text[i];
            var digit = c < 128 ? Digits[c] : -1;
            if (digit < 0)
            {
                throw new FormatException($"Invalid base58 character '{c}' at position {i}.");
            }
            int carry = digit;
            var j = 0;
            for (var k = buffer.Length - 1; (carry != 0 || j < length) && k >= 0; k--, j++)
            {
                carry += 58 * buffer[k];
                buffer[k] = (byte)(carry & 0xFF);
                carry >>= 8;
            }
            length = j;
        }
        var result = new byte[zeros + length];
        buffer.AsSpan(buffer.Length - length).CopyTo(result.AsSpan(zeros));
        return result;
    }
}
