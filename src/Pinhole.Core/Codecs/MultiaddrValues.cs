using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Pinhole.Codecs;

/// <summary>
/// Converts one multiaddr component value between its text form and its binary form (the bytes
/// after the code and, for variable-size protocols, after the length). Both directions validate, so
/// a decoded multiaddr always prints, and the printed text always parses back to the same bytes.
/// </summary>
internal static class MultiaddrValues
{
    /// <summary>Longest DNS name / SNI / zone value, in UTF-8 bytes (RFC 1035 caps names at 255).</summary>
    public const int MaxNameLength = 255;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Parses the text value of <paramref name="protocol"/> into its binary value.</summary>
    public static byte[] Parse(MultiaddrProtocol protocol, string text) => protocol.Kind switch
    {
        MultiaddrValueKind.Ip4 => ParseIp4(text),
        MultiaddrValueKind.Ip6 => ParseIp6(text),
        MultiaddrValueKind.Port => ParsePort(text),
        MultiaddrValueKind.Name => ParseName(text),
        MultiaddrValueKind.PeerId => ParsePeerId(text),
        MultiaddrValueKind.Certhash => ParseCerthash(text),
        MultiaddrValueKind.UnixPath => ParseUnixPath(text),
        _ => throw new InvalidOperationException($"Protocol {protocol.Name} takes no value."),
    };

    /// <summary>Validates the binary value of <paramref name="protocol"/> and prints it.</summary>
    public static string Format(MultiaddrProtocol protocol, ReadOnlySpan<byte> value) => protocol.Kind switch
    {
        MultiaddrValueKind.Ip4 => new IPAddress(value).ToString(),
        MultiaddrValueKind.Ip6 => new IPAddress(value).ToString(),
        MultiaddrValueKind.Port => BinaryPrimitives.ReadUInt16BigEndian(value).ToString(CultureInfo.InvariantCulture),
        MultiaddrValueKind.Name => FormatName(value),
        MultiaddrValueKind.PeerId => FormatPeerId(value),
        MultiaddrValueKind.Certhash => Multibase.EncodeBase64Url(ValidateMultihash(value, "certhash")),
        MultiaddrValueKind.UnixPath => FormatUnixPath(value),
        _ => throw new InvalidOperationException($"Protocol {protocol.Name} takes no value."),
    };

    private static byte[] ParseIp4(string text)
    {
        // Strict dotted quad: IPAddress.Parse also accepts "1", "0x7f.1" and octal, which no other
        // multiaddr implementation does and which would print differently from what was typed.
        var bytes = new byte[4];
        var parts = text.Split('.');
        if (parts.Length != 4)
        {
            throw new FormatException($"'{text}' is not an IPv4 address (expected four dot-separated numbers).");
        }
        for (var i = 0; i < 4; i++)
        {
            var part = parts[i];
            if (part.Length is 0 or > 3 || (part.Length > 1 && part[0] == '0') || !part.All(char.IsAsciiDigit))
            {
                throw new FormatException($"'{text}' is not an IPv4 address (bad number '{part}').");
            }
            var n = int.Parse(part, NumberStyles.None, CultureInfo.InvariantCulture);
            if (n > 255)
            {
                throw new FormatException($"'{text}' is not an IPv4 address ({n} is over 255).");
            }
            bytes[i] = (byte)n;
        }
        return bytes;
    }

    private static byte[] ParseIp6(string text)
    {
        // Only hex digits, ':' and '.' (for a trailing dotted quad): no brackets, no "%zone" (that is /ip6zone).
        if (text.Length > 45 || !text.All(c => char.IsAsciiHexDigit(c) || c is ':' or '.') || !text.Contains(':'))
        {
            throw new FormatException($"'{text}' is not an IPv6 address.");
        }
        if (!IPAddress.TryParse(text, out var address) || address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            throw new FormatException($"'{text}' is not an IPv6 address.");
        }
        return address.GetAddressBytes();
    }

    private static byte[] ParsePort(string text)
    {
        if (text.Length is 0 or > 5 || !text.All(char.IsAsciiDigit))
        {
            throw new FormatException($"'{text}' is not a port number.");
        }
        var port = int.Parse(text, NumberStyles.None, CultureInfo.InvariantCulture);
        if (port > ushort.MaxValue)
        {
            throw new FormatException($"Port {port} is out of range (0-65535).");
        }
        var bytes = new byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(bytes, (ushort)port);
        return bytes;
    }

    private static byte[] ParseName(string text)
    {
        byte[] bytes;
        try
        {
            bytes = StrictUtf8.GetBytes(text);
        }
        catch (EncoderFallbackException e)
        {
            throw new FormatException("Name contains an unpaired surrogate.", e);
        }
        ValidateName(text, bytes.Length);
        return bytes;
    }

    private static string FormatName(ReadOnlySpan<byte> value)
    {
        var text = DecodeUtf8(value, "name");
        ValidateName(text, value.Length);
        return text;
    }

    private static void ValidateName(string text, int byteCount)
    {
        if (byteCount == 0)
        {
            throw new FormatException("Empty name.");
        }
        if (byteCount > MaxNameLength)
        {
            throw new FormatException($"Name is {byteCount} bytes long; at most {MaxNameLength} are allowed.");
        }
        foreach (var c in text)
        {
            // '/' would split the text form; controls and spaces have no place in a host name.
            if (c is '/' or '\u007f' || c <= ' ')
            {
                throw new FormatException($"Name contains the invalid character U+{(int)c:X4}.");
            }
        }
    }

    private static byte[] ParsePeerId(string text)
    {
        // PeerId.Parse trims and strips "/p2p/"; inside a multiaddr neither can be meant.
        if (text.Any(char.IsWhiteSpace))
        {
            throw new FormatException($"Invalid peer ID '{text}': it contains white space.");
        }
        return PeerId.Parse(text).Multihash.ToArray();
    }

    private static string FormatPeerId(ReadOnlySpan<byte> value)
    {
        try
        {
            return PeerId.FromMultihash(value).ToString();
        }
        catch (Exception e) when (e is not FormatException)
        {
            // An identity multihash carries a key; whatever the key decoder throws is still bad input.
            throw new FormatException($"Invalid peer ID: {e.Message}", e);
        }
    }

    private static byte[] ParseCerthash(string text) => ValidateMultihash(Multibase.Decode(text), "certhash").ToArray();

    /// <summary>
    /// Checks <c>varint(hash code) varint(digest length) digest</c> with nothing after it.
    /// </summary>
    public static ReadOnlySpan<byte> ValidateMultihash(ReadOnlySpan<byte> value, string what)
    {
        if (Varint.TryRead(value, out _, out var n1) != Varint.ReadStatus.Done)
        {
            throw new FormatException($"The {what} is not a multihash (bad hash code varint).");
        }
        if (Varint.TryRead(value[n1..], out var length, out var n2) != Varint.ReadStatus.Done)
        {
            throw new FormatException($"The {what} is not a multihash (bad digest length varint).");
        }
        var remaining = value.Length - n1 - n2;
        if (length != (ulong)remaining)
        {
            throw new FormatException($"The {what} multihash declares a {length}-byte digest but carries {remaining} bytes.");
        }
        return value;
    }

    private static byte[] ParseUnixPath(string text)
    {
        // multiformats/multiaddr protocols/unix.md: the path is one RFC 3986 segment-nz, so '/' is %2F.
        var bytes = new List<byte>(text.Length);
        Span<byte> utf8 = stackalloc byte[4];
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '%')
            {
                if (i + 2 >= text.Length || !char.IsAsciiHexDigit(text[i + 1]) || !char.IsAsciiHexDigit(text[i + 2]))
                {
                    throw new FormatException($"Bad percent escape at position {i} of unix path '{text}'.");
                }
                bytes.Add(byte.Parse(text.AsSpan(i + 1, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture));
                i += 2;
            }
            else if (char.IsSurrogate(c))
            {
                if (i + 1 >= text.Length || !char.IsSurrogatePair(c, text[i + 1]))
                {
                    throw new FormatException($"Unpaired surrogate in unix path at position {i}.");
                }
                var n = Encoding.UTF8.GetBytes(text.AsSpan(i, 2), utf8);
                bytes.AddRange(utf8[..n]);
                i++;
            }
            else
            {
                var n = Encoding.UTF8.GetBytes(text.AsSpan(i, 1), utf8);
                bytes.AddRange(utf8[..n]);
            }
        }
        var result = bytes.ToArray();
        FormatUnixPath(result); // validates: non-empty UTF-8
        return result;
    }

    private static string FormatUnixPath(ReadOnlySpan<byte> value)
    {
        if (value.IsEmpty)
        {
            throw new FormatException("Empty unix path.");
        }
        _ = DecodeUtf8(value, "unix path");
        var text = new StringBuilder(value.Length);
        var i = 0;
        while (i < value.Length)
        {
            var b = value[i];
            if (b < 0x80)
            {
                var c = (char)b;
                if (char.IsAsciiLetterOrDigit(c) || "-._~!$&'()*+,;=:@".Contains(c))
                {
                    text.Append(c);
                }
                else
                {
                    text.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
                }
                i++;
            }
            else
            {
                // Non-ASCII characters stay readable; they are not multiaddr delimiters.
                var length = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2;
                text.Append(Encoding.UTF8.GetString(value.Slice(i, length)));
                i += length;
            }
        }
        return text.ToString();
    }

    private static string DecodeUtf8(ReadOnlySpan<byte> value, string what)
    {
        try
        {
            return StrictUtf8.GetString(value);
        }
        catch (DecoderFallbackException e)
        {
            throw new FormatException($"The {what} is not valid UTF-8.", e);
        }
    }
}
