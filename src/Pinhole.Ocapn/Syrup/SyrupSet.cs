namespace Pinhole.Ocapn.Syrup;

/// <summary>
/// A Syrup set: <c>#1+2+3+$</c>. Items are kept in canonical order (sorted by their encoded bytes), which is
/// also the order they are written in; duplicates are dropped on construction.
/// </summary>
public sealed class SyrupSet : SyrupValue
{
    private readonly SyrupValue[] _items;
    private readonly int _depth;
    private int _hash;

    /// <summary>Creates a set; items are sorted into canonical order and duplicates dropped.</summary>
    /// <exception cref="ArgumentException">An item is null or the set nests too deep.</exception>
    public SyrupSet(IEnumerable<SyrupValue> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        var list = items.Select(i => (Key: SyrupWriter.Encode(i ?? throw new ArgumentException("An item is null.", nameof(items))), Item: i)).ToArray();
        Array.Sort(list, (a, b) => a.Key.AsSpan().SequenceCompareTo(b.Key));
        var unique = new List<SyrupValue>(list.Length);
        for (var i = 0; i < list.Length; i++)
        {
            if (i == 0 || !list[i - 1].Key.AsSpan().SequenceEqual(list[i].Key))
            {
                unique.Add(list[i].Item);
            }
        }
        _items = [.. unique];
        _depth = DepthOf(_items);
    }

    private SyrupSet(SyrupValue[] sorted, bool _)
    {
        _items = sorted;
        _depth = DepthOf(sorted);
    }

    /// <summary>The empty set.</summary>
    public static SyrupSet Empty { get; } = new([], true);

    /// <summary>Wraps items already in canonical order without duplicates (decoder use).</summary>
    internal static SyrupSet OwnSorted(SyrupValue[] sorted) => new(sorted, true);

    /// <summary>The items in canonical order.</summary>
    public IReadOnlyList<SyrupValue> Items => _items;

    /// <summary>Number of items.</summary>
    public int Count => _items.Length;

    /// <summary>True when the set holds <paramref name="item"/>.</summary>
    public bool Contains(SyrupValue item) => Array.IndexOf(_items, item) >= 0;

    /// <inheritdoc/>
    public override SyrupKind Kind => SyrupKind.Set;

    internal override int Depth => _depth;

    /// <inheritdoc/>
    public override bool Equals(SyrupValue? other) =>
        ReferenceEquals(this, other) || (other is SyrupSet s && SyrupText.SequenceEqual(s._items, _items));

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        if (_hash == 0)
        {
            _hash = SyrupText.CombineHashes(_items, 0x5E7) | 1;
        }
        return _hash;
    }
}
