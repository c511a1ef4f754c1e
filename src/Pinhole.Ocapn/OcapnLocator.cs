using System.Globalization;
using System.Text;
using Pinhole.Ocapn.Internal;
using Pinhole.Ocapn.Syrup;

namespace Pinhole.Ocapn;

/// <summary>
/// An OCapN node locator (ocapn/ocapn draft-specifications/Locators.md): a designator, a transport and hints.
/// URI form <c>ocapn://&lt;designator&gt;.&lt;transport&gt;?host=..&amp;port=..</c>. Two locators name the same
/// node when designator and transport are equal; hints are only where to look and never part of equality.
/// </summary>
public sealed class OcapnLocator : IEquatable<OcapnLocator>
{
    /// <summary>The transport name of the Goblins-compatible TCP + TLS netlayer.</summary>
    public const string TcpTls = "tcp-tls";

    internal const string Scheme = "ocapn://";

    private readonly KeyValuePair<string, string>[] _hints;

    /// <summary>Creates a locator. A <c>tcp-tls</c> designator must be 64 hex digits (stored lowercase).</summary>
    /// <exception cref="FormatException">The designator, transport or a hint is malformed.</exception>
    public OcapnLocator(string designator, string transport, IEnumerable<KeyValuePair<string, string>>? hints = null)
    {
        ArgumentNullException.ThrowIfNull(designator);
        ArgumentNullException.ThrowIfNull(transport);
        var error = Validate(ref designator, transport);
        if (error is not null)
        {
            throw new FormatException($"Invalid OCapN locator: {error}.");
        }
        var list = (hints ?? []).ToArray();
        error = ValidateHints(transport, list);
        if (error is not null)
        {
            throw new FormatException($"Invalid OCapN locator: {error}.");
        }
        Designator = designator;
        Transport = transport;
        _hints = list;
    }

    /// <summary>A <c>tcp-tls</c> locator with <c>host</c> and <c>port</c> hints.</summary>
    public static OcapnLocator ForTcpTls(string designator, string host, int port)
    {
        ArgumentException.ThrowIfNullOrEmpty(host);
        ArgumentOutOfRangeException.ThrowIfLessThan(port, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        return new(designator, TcpTls, [new("host", host), new("port", port.ToString(CultureInfo.InvariantCulture))]);
    }

    /// <summary>Identifies the node within its transport (for <c>tcp-tls</c>: sha256d of the certificate PEM, lowercase hex).</summary>
    public string Designator { get; }

    /// <summary>The netlayer name, e.g. <c>tcp-tls</c>.</summary>
    public string Transport { get; }

    /// <summary>Connection hints in their original order (for <c>tcp-tls</c>: <c>host</c>, <c>port</c>).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Hints => _hints;

    /// <summary>The value of hint <paramref name="name"/>, or null.</summary>
    public string? GetHint(string name)
    {
        foreach (var (key, value) in _hints)
        {
            if (string.Equals(key, name, StringComparison.Ordinal))
            {
                return value;
            }
        }
        return null;
    }

    /// <summary>The <c>host</c> hint, or null.</summary>
    public string? Host => GetHint("host");

    /// <summary>The <c>port</c> hint, or null (Goblins then dials 8088).</summary>
    public int? Port => GetHint("port") is { } p ? int.Parse(p, NumberStyles.None, CultureInfo.InvariantCulture) : null;

    /// <summary>A copy with other hints.</summary>
    public OcapnLocator WithHints(IEnumerable<KeyValuePair<string, string>>? hints) => new(Designator, Transport, hints);

    /// <summary>Parses an <c>ocapn://</c> node URI.</summary>
    /// <exception cref="FormatException">Malformed, a sturdyref, unknown transport, bad designator or hint.</exception>
    public static OcapnLocator Parse(string text)
    {
        var (locator, swiss, error) = OcapnUri.Parse(text);
        if (error is not null)
        {
            throw new FormatException($"Invalid OCapN locator '{OcapnDesignator.Truncate(text ?? "")}': {error}.");
        }
        if (swiss is not null)
        {
            throw new FormatException($"'{OcapnDesignator.Truncate(text!)}' is a sturdyref (it has a /s/ path), not a node locator; use OcapnSturdyRef.Parse.");
        }
        return locator!;
    }

    /// <summary>Parses without throwing; <paramref name="error"/> says what is wrong.</summary>
    public static bool TryParse(string? text, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out OcapnLocator? locator, out string? error)
    {
        var (parsed, swiss, err) = OcapnUri.Parse(text);
        if (err is null && swiss is not null)
        {
            err = "it is a sturdyref (it has a /s/ path), not a node locator";
        }
        error = err;
        locator = err is null ? parsed : null;
        return locator is not null;
    }

    /// <summary>The URI form: <c>ocapn://designator.transport[?hints]</c>, hints percent-encoded per RFC 3986.</summary>
    public override string ToString() => Format(null);

    internal string Format(string? path)
    {
        var sb = new StringBuilder(Scheme).Append(Designator).Append('.').Append(Transport);
        sb.Append(path);
        for (var i = 0; i < _hints.Length; i++)
        {
            sb.Append(i == 0 ? '?' : '&').Append(Uri.EscapeDataString(_hints[i].Key)).Append('=').Append(Uri.EscapeDataString(_hints[i].Value));
        }
        return sb.ToString();
    }

    /// <summary>
    /// The in-band form <c>&lt;ocapn-node designator transport hints&gt;</c>: designator a string, transport a symbol,
    /// hints a dictionary of symbol to string, or <c>f</c> when there are none.
    /// </summary>
    public SyrupRecord ToSyrup() => new(
        new SyrupSymbol("ocapn-node"),
        new SyrupString(Designator),
        new SyrupSymbol(Transport),
        _hints.Length == 0
            ? SyrupBoolean.False
            : new SyrupDictionary(_hints.Select(h => new KeyValuePair<SyrupValue, SyrupValue>(new SyrupSymbol(h.Key), new SyrupString(h.Value)))));

    /// <summary>
    /// Reads <c>&lt;ocapn-node ...&gt;</c>. Accepts the specification's field order (designator string, transport
    /// symbol) and the order Goblins' marshaller uses (transport symbol first); hints as a dictionary, as Goblins'
    /// list of two-element lists, or <c>f</c>.
    /// </summary>
    /// <exception cref="FormatException">Not a valid node record.</exception>
    public static OcapnLocator FromSyrup(SyrupValue value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value is not SyrupRecord r || !r.HasSymbolLabel("ocapn-node") || r.Fields.Count != 3)
        {
            throw new FormatException($"Expected <ocapn-node designator transport hints>, got {Shorten(value)}.");
        }
        var (designatorValue, transportValue) = r.Fields[0] is SyrupSymbol ? (r.Fields[1], r.Fields[0]) : (r.Fields[0], r.Fields[1]);
        var designator = designatorValue switch
        {
            SyrupString s => s.Value,
            SyrupSymbol s => s.Name,
            _ => throw new FormatException($"ocapn-node designator must be a string, got {Shorten(designatorValue)}."),
        };
        if (transportValue is not SyrupSymbol transport)
        {
            throw new FormatException($"ocapn-node transport must be a symbol, got {Shorten(transportValue)}.");
        }
        var hints = new List<KeyValuePair<string, string>>();
        switch (r.Fields[2])
        {
            case SyrupBoolean { Value: false }:
                break;
            case SyrupDictionary d:
                foreach (var (k, v) in d.Entries)
                {
                    hints.Add(new(HintText(k), HintText(v)));
                }
                break;
            case SyrupList l:
                foreach (var item in l.Items)
                {
                    if (item is not SyrupList { Count: 2 } pair)
                    {
                        throw new FormatException($"ocapn-node hint list items must be (key value) pairs, got {Shorten(item)}.");
                    }
                    hints.Add(new(HintText(pair[0]), HintText(pair[1])));
                }
                break;
            default:
                throw new FormatException($"ocapn-node hints must be a dictionary or false, got {Shorten(r.Fields[2])}.");
        }
        return new OcapnLocator(designator, transport.Name, hints);
    }

    private static string HintText(SyrupValue v) => v switch
    {
        SyrupSymbol s => s.Name,
        SyrupString s => s.Value,
        _ => throw new FormatException($"ocapn-node hint keys and values must be symbols or strings, got {Shorten(v)}."),
    };

    internal static string Shorten(SyrupValue v) => OcapnDesignator.Truncate(v.ToString());

    /// <summary>Same node: equal designator and transport. Hints are ignored.</summary>
    public bool Equals(OcapnLocator? other) =>
        other is not null
        && string.Equals(Designator, other.Designator, StringComparison.Ordinal)
        && string.Equals(Transport, other.Transport, StringComparison.Ordinal);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as OcapnLocator);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(StringComparer.Ordinal.GetHashCode(Designator), StringComparer.Ordinal.GetHashCode(Transport));

    /// <summary>Same node.</summary>
    public static bool operator ==(OcapnLocator? left, OcapnLocator? right) => left is null ? right is null : left.Equals(right);

    /// <summary>Different nodes.</summary>
    public static bool operator !=(OcapnLocator? left, OcapnLocator? right) => !(left == right);

    /// <summary>Checks designator and transport; normalizes a tcp-tls designator to lowercase.</summary>
    internal static string? Validate(ref string designator, string transport)
    {
        if (!string.Equals(transport, TcpTls, StringComparison.Ordinal))
        {
            return transport.Length == 0
                ? "the transport is empty (expected <designator>.<transport>)"
                : $"unknown transport '{OcapnDesignator.Truncate(transport)}' (Pinhole knows: {TcpTls})";
        }
        var normalized = OcapnDesignator.NormalizeTcpTls(designator, out var error);
        if (normalized is null)
        {
            return error;
        }
        designator = normalized;
        return null;
    }

    internal static string? ValidateHints(string transport, KeyValuePair<string, string>[] hints)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (key, value) in hints)
        {
            if (string.IsNullOrEmpty(key) || value is null)
            {
                return "a hint has an empty name or a null value";
            }
            if (!seen.Add(key))
            {
                return $"hint '{key}' appears twice";
            }
            if (string.Equals(transport, TcpTls, StringComparison.Ordinal) && string.Equals(key, "port", StringComparison.Ordinal) && !IsPort(value))
            {
                return $"bad port '{OcapnDesignator.Truncate(value)}' (expected a decimal number from 1 to 65535)";
            }
            if (string.Equals(transport, TcpTls, StringComparison.Ordinal) && string.Equals(key, "host", StringComparison.Ordinal) && value.Length == 0)
            {
                return "the host hint is empty";
            }
        }
        return null;
    }

    private static bool IsPort(string value) =>
        value.Length is > 0 and <= 5
        && value[0] != '0'
        && value.All(char.IsAsciiDigit)
        && int.Parse(value, NumberStyles.None, CultureInfo.InvariantCulture) <= 65535;
}
