using System.Buffers.Binary;
using System.Collections.Frozen;

namespace Pinhole.Vpn.Routing;

/// <summary>
/// An immutable longest-prefix-match table from IPv4 and IPv6 prefixes to values (WireGuard's AllowedIPs):
/// per address family one hash table per prefix length in use, probed from the longest length down, so a
/// lookup costs one hash probe per distinct length (typically two or three: /32 hosts, a /24, a default).
/// Built with <see cref="Builder"/>; swapped atomically by its owner when peers change, so lookups need no lock.
/// </summary>
internal sealed class PrefixTable<T>
    where T : class
{
    private readonly Level[] _v4;
    private readonly Level[] _v6;

    private PrefixTable(Level[] v4, Level[] v6, IReadOnlyList<KeyValuePair<IpPrefix, T>> entries)
    {
        _v4 = v4;
        _v6 = v6;
        Entries = entries;
    }

    /// <summary>An empty table.</summary>
    internal static PrefixTable<T> Empty { get; } = new Builder().Build();

    /// <summary>Every prefix and its value, IPv4 first, longest first.</summary>
    internal IReadOnlyList<KeyValuePair<IpPrefix, T>> Entries { get; }

    /// <summary>Finds the value of the longest prefix holding <paramref name="address"/> (4 or 16 bytes, network order).</summary>
    internal T? Lookup(ReadOnlySpan<byte> address)
    {
        if (address.Length == 4)
        {
            UInt128 a = BinaryPrimitives.ReadUInt32BigEndian(address);
            return Find(_v4, a);
        }
        if (address.Length == 16)
        {
            return Find(_v6, BinaryPrimitives.ReadUInt128BigEndian(address));
        }
        return null;
    }

    /// <summary>Finds the value of the longest prefix holding <paramref name="address"/>.</summary>
    internal T? Lookup(System.Net.IPAddress address)
    {
        IpPrefix host = IpPrefix.Host(address);
        Span<byte> bytes = stackalloc byte[16];
        if (host.IsIPv6)
        {
            BinaryPrimitives.WriteUInt128BigEndian(bytes, host.Bits);
            return Lookup(bytes);
        }
        BinaryPrimitives.WriteUInt32BigEndian(bytes, (uint)host.Bits);
        return Lookup(bytes[..4]);
    }

    private static T? Find(Level[] levels, UInt128 address)
    {
        foreach (Level level in levels)
        {
            if (level.Values.TryGetValue(address & level.Mask, out T? value))
            {
                return value;
            }
        }
        return null;
    }

    private sealed record Level(UInt128 Mask, FrozenDictionary<UInt128, T> Values);

    /// <summary>Collects prefixes; one value per prefix.</summary>
    internal sealed class Builder
    {
        private readonly Dictionary<IpPrefix, T> _entries = [];

        /// <summary>Adds <paramref name="prefix"/> → <paramref name="value"/>; false if the prefix already has a value.</summary>
        internal bool TryAdd(IpPrefix prefix, T value) => _entries.TryAdd(prefix, value);

        /// <summary>The value already holding <paramref name="prefix"/>, if any.</summary>
        internal T? Owner(IpPrefix prefix) => _entries.GetValueOrDefault(prefix);

        /// <summary>Builds the immutable table.</summary>
        internal PrefixTable<T> Build()
        {
            static Level[] Levels(IEnumerable<KeyValuePair<IpPrefix, T>> entries, bool v6) => entries
                .Where(e => e.Key.IsIPv6 == v6)
                .GroupBy(e => e.Key.Length)
                .OrderByDescending(g => g.Key)
                .Select(g => new Level(IpPrefix.Mask(g.Key, v6), g.ToFrozenDictionary(e => e.Key.Bits, e => e.Value)))
                .ToArray();
            var ordered = _entries.OrderBy(e => e.Key.IsIPv6).ThenByDescending(e => e.Key.Length).ToArray();
            return new PrefixTable<T>(Levels(_entries, false), Levels(_entries, true), ordered);
        }
    }
}
