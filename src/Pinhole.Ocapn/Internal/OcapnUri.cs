namespace Pinhole.Ocapn.Internal;

/// <summary>
/// Parses <c>ocapn://</c> URIs (Locators.md; the form Goblins prints):
/// <code>
/// ocapn://&lt;designator&gt;.&lt;transport&gt;[/s/&lt;swiss-num&gt;][?&lt;key&gt;=&lt;value&gt;(&amp;&lt;key&gt;=&lt;value&gt;)*]
/// </code>
/// The last '.' of the authority separates designator and transport. The swiss number is URL-safe base64
/// (RFC 4648 §5), padding optional. Hint keys and values are percent-decoded.
/// </summary>
internal static class OcapnUri
{
    internal static (OcapnLocator? Locator, byte[]? SwissNum, string? Error) Parse(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return (null, null, "the text is empty");
        }
        if (!text.StartsWith(OcapnLocator.Scheme, StringComparison.OrdinalIgnoreCase))
        {
            return (null, null, "it does not start with 'ocapn://'");
        }
        if (text.Contains('#', StringComparison.Ordinal))
        {
            return (null, null, "a fragment ('#') is not allowed");
        }
        var rest = text.AsSpan(OcapnLocator.Scheme.Length);
        var query = ReadOnlySpan<char>.Empty;
        var q = rest.IndexOf('?');
        var hasQuery = q >= 0;
        if (hasQuery)
        {
            query = rest[(q + 1)..];
            rest = rest[..q];
        }
        var slash = rest.IndexOf('/');
        var authority = slash >= 0 ? rest[..slash] : rest;
        var path = slash >= 0 ? rest[slash..] : [];

        var dot = authority.LastIndexOf('.');
        if (dot <= 0 || dot == authority.Length - 1)
        {
            return (null, null, "the host part must be <designator>.<transport>");
        }
        if (authority.IndexOfAny('@', ':') >= 0)
        {
            return (null, null, "user info or a port in the authority is not allowed (the port is a hint: ?port=..)");
        }
        var designator = authority[..dot].ToString();
        var transport = authority[(dot + 1)..].ToString();
        var error = OcapnLocator.Validate(ref designator, transport);
        if (error is not null)
        {
            return (null, null, error);
        }

        byte[]? swiss = null;
        if (path.Length > 1)
        {
            if (!path.StartsWith("/s/", StringComparison.Ordinal))
            {
                return (null, null, $"unknown path '{OcapnDesignator.Truncate(path.ToString())}' (only /s/<swiss-num> is known)");
            }
            var swissText = path[3..];
            if (swissText.Length > 0 && swissText[^1] == '/')
            {
                swissText = swissText[..^1];
            }
            swiss = DecodeSwiss(swissText, out error);
            if (swiss is null)
            {
                return (null, null, error);
            }
        }

        var hints = new List<KeyValuePair<string, string>>();
        if (hasQuery && query.Length > 0)
        {
            foreach (var range in query.Split('&'))
            {
                var pair = query[range];
                var eq = pair.IndexOf('=');
                if (eq <= 0)
                {
                    return (null, null, $"hint '{OcapnDesignator.Truncate(pair.ToString())}' is not key=value");
                }
                string key, value;
                try
                {
                    key = Uri.UnescapeDataString(pair[..eq].ToString());
                    value = Uri.UnescapeDataString(pair[(eq + 1)..].ToString());
                }
                catch (UriFormatException ex)
                {
                    return (null, null, $"hint '{OcapnDesignator.Truncate(pair.ToString())}' is badly percent-encoded: {ex.Message}");
                }
                hints.Add(new(key, value));
            }
        }
        error = OcapnLocator.ValidateHints(transport, [.. hints]);
        if (error is not null)
        {
            return (null, null, error);
        }
        return (new OcapnLocator(designator, transport, hints), swiss, null);
    }

    /// <summary>URL-safe base64 without padding, as Goblins' url-base64-encode writes it.</summary>
    internal static string EncodeSwiss(ReadOnlySpan<byte> swiss) => System.Buffers.Text.Base64Url.EncodeToString(swiss);

    internal static byte[]? DecodeSwiss(ReadOnlySpan<char> text, out string? error)
    {
        var body = text.TrimEnd('=');
        if (body.Length == 0)
        {
            error = "the swiss number is empty";
            return null;
        }
        if (text.Length - body.Length > 2)
        {
            error = "bad base64 in the swiss number: too much '=' padding";
            return null;
        }
        foreach (var c in body)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c == '-' || c == '_'))
            {
                error = c is '+' or '/'
                    ? $"bad base64 in the swiss number: '{c}' is standard base64; OCapN uses URL-safe base64 ('-' and '_')"
                    : $"bad base64 in the swiss number: unexpected character '{c}'";
                return null;
            }
        }
        if (body.Length % 4 == 1)
        {
            error = $"bad base64 in the swiss number: {body.Length} characters cannot be base64 (length mod 4 is 1)";
            return null;
        }
        var bytes = new byte[System.Buffers.Text.Base64Url.GetMaxDecodedLength(body.Length)];
        if (!System.Buffers.Text.Base64Url.TryDecodeFromChars(body, bytes, out var written))
        {
            error = "bad base64 in the swiss number";
            return null;
        }
        error = null;
        return bytes.AsSpan(0, written).ToArray();
    }
}
