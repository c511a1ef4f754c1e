using System.Buffers.Text;

namespace Pinhole.Codecs;

/// <summary>
/// Multibase text (multiformats/multibase): one prefix character naming the base, then the data.
/// Supports the bases libp2p addresses use: <c>z</c> base58btc, <c>b</c>/<c>B</c> base32,
/// <c>u</c>/<c>U</c> base64url, <c>m</c>/<c>M</c> base64, <c>f</c>/<c>F</c> hex.
/// </summary>
public static class Multibase
{
    /// <summary>Longest multibase text accepted by <see cref="Decode"/>.</summary>
    public const int MaxEncodedLength = 4096;

    /// <summary>Decodes multibase text; throws <see cref="FormatException"/> naming the base and the problem.</summary>
    public static byte[] Decode(ReadOnlySpan<char> text)
    {
        if (text.IsEmpty)
        {
            throw new FormatException("Empty multibase text.");
        }
        if (text.Length > MaxEncodedLength)
        {
            throw new FormatException($"Multibase text is {text.Length} characters long; at most {MaxEncodedLength} are accepted.");
        }
        var data = text[1..];
        return text[0] switch
        {
            'z' => Base58.Decode(data),
            'b' or 'B' => Base32.Decode(data),
            'u' or 'U' => DecodeBase64(data, urlSafe: true),
            'm' or 'M' => DecodeBase64(data, urlSafe: false),
            'f' or 'F' => DecodeHex(data),
            _ => throw new FormatException($"Unsupported multibase prefix '{text[0]}'."),
        };
    }

    /// <summary>Encodes as base64url without padding, prefix <c>u</c> (how libp2p prints certhashes).</summary>
    public static string EncodeBase64Url(ReadOnlySpan<byte> data) => "u" + Base64Url.EncodeToString(data);

    /// <summary>Encodes as lowercase base32 without padding, prefix <c>b</c> (how CIDv1 is printed).</summary>
    public static string EncodeBase32(ReadOnlySpan<byte> data) => "b" + Base32.Encode(data);

    private static byte[] DecodeBase64(ReadOnlySpan<char> data, bool urlSafe)
    {
        var trimmed = data.TrimEnd('=');
        var buffer = new char[trimmed.Length];
        for (var i = 0; i < trimmed.Length; i++)
        {
            var c = trimmed[i];
            var ok = char.IsAsciiLetterOrDigit(c) || (urlSafe ? c is '-' or '_' : c is '+' or '/');
            if (!ok)
            {
                throw new FormatException($"Invalid base64{(urlSafe ? "url" : "")} character '{c}' at position {i + 1}.");
            }
            buffer[i] = c switch { '+' => '-', '/' => '_', _ => c };
        }
        if (trimmed.Length % 4 == 1)
        {
            throw new FormatException("Invalid base64 length.");
        }
        return Base64Url.DecodeFromChars(buffer);
    }

    private static byte[] DecodeHex(ReadOnlySpan<char> data)
    {
        if (data.Length % 2 != 0)
        {
            throw new FormatException("Hex text has an odd number of digits.");
        }
        try
        {
            return Convert.FromHexString(data);
        }
        catch (FormatException e)
        {
            throw new FormatException("Invalid hex digit in multibase text.", e);
        }
    }
}
