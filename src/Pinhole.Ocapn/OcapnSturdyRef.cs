using Pinhole.Ocapn.Internal;
using Pinhole.Ocapn.Syrup;

namespace Pinhole.Ocapn;

/// <summary>
/// An OCapN sturdyref: a node locator plus a swiss number naming one object on that node.
/// URI form <c>ocapn://&lt;designator&gt;.&lt;transport&gt;/s/&lt;swiss-num&gt;?hints</c>, the swiss number in URL-safe
/// base64 without padding. It is a capability: whoever holds it may reach the object, so
/// <see cref="ToString"/> prints the secret — log <see cref="Node"/> instead.
/// </summary>
public sealed class OcapnSturdyRef : IEquatable<OcapnSturdyRef>
{
    private readonly byte[] _swissNum;

    /// <summary>Creates a sturdyref; the swiss number is copied.</summary>
    public OcapnSturdyRef(OcapnLocator node, ReadOnlySpan<byte> swissNum)
    {
        ArgumentNullException.ThrowIfNull(node);
        if (swissNum.IsEmpty)
        {
            throw new ArgumentException("The swiss number is empty.", nameof(swissNum));
        }
        Node = node;
        _swissNum = swissNum.ToArray();
    }

    /// <summary>The node holding the object.</summary>
    public OcapnLocator Node { get; }

    /// <summary>The swiss number (secret).</summary>
    public ReadOnlyMemory<byte> SwissNum => _swissNum;

    /// <summary>Parses an <c>ocapn://.../s/...</c> URI.</summary>
    /// <exception cref="FormatException">Malformed, a plain node locator, bad base64, unknown transport, bad hints.</exception>
    public static OcapnSturdyRef Parse(string text)
    {
        if (!TryParse(text, out var result, out var error))
        {
            throw new FormatException($"Invalid OCapN sturdyref: {error}.");
        }
        return result;
    }

    /// <summary>Parses without throwing; <paramref name="error"/> says what is wrong (never echoing the swiss number).</summary>
    public static bool TryParse(string? text, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out OcapnSturdyRef? sturdyRef, out string? error)
    {
        var (node, swiss, err) = OcapnUri.Parse(text);
        if (err is null && swiss is null)
        {
            err = "it has no /s/<swiss-num> path (it is a node locator)";
        }
        error = err;
        sturdyRef = err is null ? new OcapnSturdyRef(node!, swiss) : null;
        return sturdyRef is not null;
    }

    /// <summary>The URI form (contains the secret swiss number).</summary>
    public override string ToString() => Node.Format("/s/" + OcapnUri.EncodeSwiss(_swissNum));

    /// <summary>
    /// The in-band form <c>&lt;ocapn-sturdyref node swiss-num&gt;</c>; the swiss number is written as a byte string,
    /// as Goblins does (the draft says "string"; <see cref="FromSyrup"/> accepts both).
    /// </summary>
    public SyrupRecord ToSyrup() => new(new SyrupSymbol("ocapn-sturdyref"), Node.ToSyrup(), new SyrupBytes(_swissNum));

    /// <summary>Reads <c>&lt;ocapn-sturdyref node swiss-num&gt;</c>.</summary>
    /// <exception cref="FormatException">Not a valid sturdyref record.</exception>
    public static OcapnSturdyRef FromSyrup(SyrupValue value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value is not SyrupRecord r || !r.HasSymbolLabel("ocapn-sturdyref") || r.Fields.Count != 2)
        {
            throw new FormatException($"Expected <ocapn-sturdyref node swiss-num>, got {OcapnLocator.Shorten(value)}.");
        }
        var swiss = r.Fields[1] switch
        {
            SyrupBytes b when b.Span.Length > 0 => b.Span.ToArray(),
            SyrupString s when s.Value.Length > 0 => System.Text.Encoding.UTF8.GetBytes(s.Value),
            _ => throw new FormatException("ocapn-sturdyref swiss-num must be a non-empty byte string or string."),
        };
        return new OcapnSturdyRef(OcapnLocator.FromSyrup(r.Fields[0]), swiss);
    }

    /// <summary>Same node (designator and transport) and the same swiss number.</summary>
    public bool Equals(OcapnSturdyRef? other) =>
        other is not null && Node.Equals(other.Node) && _swissNum.AsSpan().SequenceEqual(other._swissNum);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as OcapnSturdyRef);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Node);
        hash.AddBytes(_swissNum);
        return hash.ToHashCode();
    }
}
