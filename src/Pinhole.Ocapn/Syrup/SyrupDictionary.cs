namespace Pinhole.Ocapn.Syrup;

/// <summary>
/// A Syrup dictionary: <c>{3'age30+4'name5"Alice}</c>. Entries are kept in canonical order (keys sorted by
/// their encoded bytes), which is also the order they are written in; keys are unique.
/// </summary>
public sealed class SyrupDictionary : SyrupValue
{
    private readonly KeyValuePair<SyrupValue, SyrupValue>[] _entries;
    private readonly int _depth;
    private Dictionary<SyrupValue, SyrupValue>? _index;
    private int _hash;

    /// <summary>Creates a dictionary; entries are sorted into canonical order.</summary>
    /// <exception cref="ArgumentException">Two keys are equal, a key or value is null, or it nests too deep.</exception>
    public SyrupDictionary(IEnumerable<KeyValuePair<SyrupValue, SyrupValue>> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var list = entries.Select(e => (Key: SyrupWriter.Encode(e.Key ?? throw new ArgumentException("A key is null.", nameof(entries))), Entry: e)).ToArray();
        Array.Sort(list, (a, b) => a.Key.AsSpan().SequenceCompareTo(b.Key));
        for (var i = 1; i < list.Length; i++)
        {
            if (list[i - 1].Key.AsSpan().SequenceEqual(list[i].Key))
            {
                throw new ArgumentException($"Duplicate dictionary key {list[i].Entry.Key}.", nameof(entries));
            }
        }
        _entries = list.Select(e => e.Entry).ToArray();
        _depth = DepthOf(_entries);
    }

    private SyrupDictionary(KeyValuePair<SyrupValue, SyrupValue>[] sorted, bool _)
    {
        _entries = sorted;
        _depth = DepthOf(sorted);
    }

    /// <summary>The empty dictionary.</summary>
    public static SyrupDictionary Empty { get; } = new([], true);

    /// <summary>Wraps entries already in canonical order with unique keys (decoder use).</summary>
    internal static SyrupDictionary OwnSorted(KeyValuePair<SyrupValue, SyrupValue>[] sorted) => new(sorted, true);

    /// <summary>The entries in canonical order.</summary>
    public IReadOnlyList<KeyValuePair<SyrupValue, SyrupValue>> Entries => _entries;

    /// <summary>Number of entries.</summary>
    public int Count => _entries.Length;

    /// <summary>Looks up <paramref name="key"/>.</summary>
    public bool TryGetValue(SyrupValue key, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out SyrupValue value)
    {
        ArgumentNullException.ThrowIfNull(key);
        _index ??= _entries.ToDictionary(e => e.Key, e => e.Value);
        return _index.TryGetValue(key, out value);
    }

    /// <summary>The value for <paramref name="key"/>.</summary>
    /// <exception cref="KeyNotFoundException">No such key.</exception>
    public SyrupValue this[SyrupValue key] =>
        TryGetValue(key, out var value) ? value : throw new KeyNotFoundException($"No key {key} in the dictionary.");

    /// <inheritdoc/>
    public override SyrupKind Kind => SyrupKind.Dictionary;

    internal override int Depth => _depth;

    /// <inheritdoc/>
    public override bool Equals(SyrupValue? other)
    {
        if (ReferenceEquals(this, other))
        {
            return true;
        }
        if (other is not SyrupDictionary d || d._entries.Length != _entries.Length)
        {
            return false;
        }
        // Canonical order is a function of the keys, so equal dictionaries list entries in the same order.
        for (var i = 0; i < _entries.Length; i++)
        {
            if (!_entries[i].Key.Equals(d._entries[i].Key) || !_entries[i].Value.Equals(d._entries[i].Value))
            {
                return false;
            }
        }
        return true;
    }

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        if (_hash == 0)
        {
            var hash = new HashCode();
            foreach (var (key, value) in _entries)
            {
                hash.Add(key);
                hash.Add(value);
            }
            _hash = hash.ToHashCode() | 1;
        }
        return _hash;
    }
}
