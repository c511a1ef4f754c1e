namespace Pinhole.Ocapn.Syrup;

/// <summary>A Syrup sequence: <c>[1+2+3+]</c>.</summary>
public sealed class SyrupList : SyrupValue
{
    private readonly SyrupValue[] _items;
    private readonly int _depth;
    private int _hash;

    /// <summary>Creates a list of <paramref name="items"/> (copied).</summary>
    /// <exception cref="ArgumentException">An item is null or the list nests deeper than <see cref="SyrupValue.MaxNesting"/>.</exception>
    public SyrupList(IEnumerable<SyrupValue> items)
        : this((items ?? throw new ArgumentNullException(nameof(items))).ToArray(), true)
    {
    }

    /// <summary>Creates a list of <paramref name="items"/> (copied).</summary>
    public SyrupList(params ReadOnlySpan<SyrupValue> items)
        : this(items.ToArray(), true)
    {
    }

    private SyrupList(SyrupValue[] owned, bool _)
    {
        _items = owned;
        _depth = DepthOf(owned);
    }

    /// <summary>The empty list.</summary>
    public static SyrupList Empty { get; } = new([], true);

    internal static SyrupList Own(SyrupValue[] owned) => new(owned, true);

    /// <summary>The items, in order.</summary>
    public IReadOnlyList<SyrupValue> Items => _items;

    /// <summary>Number of items.</summary>
    public int Count => _items.Length;

    /// <summary>The item at <paramref name="index"/>.</summary>
    public SyrupValue this[int index] => _items[index];

    /// <inheritdoc/>
    public override SyrupKind Kind => SyrupKind.List;

    internal override int Depth => _depth;

    /// <inheritdoc/>
    public override bool Equals(SyrupValue? other) =>
        ReferenceEquals(this, other) || (other is SyrupList l && SyrupText.SequenceEqual(l._items, _items));

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        if (_hash == 0)
        {
            _hash = SyrupText.CombineHashes(_items, 0x1157) | 1;
        }
        return _hash;
    }
}
