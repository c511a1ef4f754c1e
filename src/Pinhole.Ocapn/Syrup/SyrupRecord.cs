namespace Pinhole.Ocapn.Syrup;

/// <summary>A Syrup record: <c>&lt;6'person5"Alice30+t&gt;</c> — a label followed by fields.</summary>
public sealed class SyrupRecord : SyrupValue
{
    private readonly SyrupValue[] _fields;
    private readonly int _depth;
    private int _hash;

    /// <summary>Creates a record with a label (often a symbol) and fields (copied).</summary>
    /// <exception cref="ArgumentException">A field is null or the record nests deeper than <see cref="SyrupValue.MaxNesting"/>.</exception>
    public SyrupRecord(SyrupValue label, IEnumerable<SyrupValue> fields)
        : this(label, [.. fields ?? throw new ArgumentNullException(nameof(fields))], true)
    {
    }

    /// <summary>Creates a record with a label and fields (copied).</summary>
    public SyrupRecord(SyrupValue label, params ReadOnlySpan<SyrupValue> fields)
        : this(label, fields.ToArray(), true)
    {
    }

    private SyrupRecord(SyrupValue label, SyrupValue[] owned, bool _)
    {
        ArgumentNullException.ThrowIfNull(label);
        Label = label;
        _fields = owned;
        _depth = DepthOf(owned, label.Depth);
    }

    internal static SyrupRecord Own(SyrupValue label, SyrupValue[] owned) => new(label, owned, true);

    /// <summary>The label.</summary>
    public SyrupValue Label { get; }

    /// <summary>The fields, in order.</summary>
    public IReadOnlyList<SyrupValue> Fields => _fields;

    /// <summary>True when the label is the symbol <paramref name="name"/>.</summary>
    public bool HasSymbolLabel(string name) => Label is SyrupSymbol s && string.Equals(s.Name, name, StringComparison.Ordinal);

    /// <inheritdoc/>
    public override SyrupKind Kind => SyrupKind.Record;

    internal override int Depth => _depth;

    /// <inheritdoc/>
    public override bool Equals(SyrupValue? other) =>
        ReferenceEquals(this, other)
        || (other is SyrupRecord r && r.Label.Equals(Label) && SyrupText.SequenceEqual(r._fields, _fields));

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        if (_hash == 0)
        {
            _hash = SyrupText.CombineHashes(_fields, Label.GetHashCode()) | 1;
        }
        return _hash;
    }
}
