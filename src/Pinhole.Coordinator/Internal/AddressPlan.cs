using System.Net;
using System.Net.Sockets;
using System.Numerics;
using Pinhole.Membership;

namespace Pinhole.Coordinator.Internal;

/// <summary>
/// Host number to virtual addresses: host <c>n</c> is the prefix's base address plus <c>n</c> in each family (IPv4
/// skips the network and broadcast addresses). A host number is allocated once per network and never again.
/// </summary>
internal static class AddressPlan
{
    public static ulong Capacity(GenesisRecord genesis)
    {
        var capacity = ulong.MaxValue;
        if (genesis.Ipv4Prefix is { } v4)
        {
            capacity = Math.Min(capacity, (1UL << (32 - v4.PrefixLength)) - 2);
        }
        if (genesis.Ipv6Prefix is { } v6)
        {
            var bits = 128 - v6.PrefixLength;
            capacity = Math.Min(capacity, bits >= 63 ? long.MaxValue : (1UL << bits) - 1);
        }
        return capacity;
    }

    public static (IPAddress? V4, IPAddress? V6) Addresses(GenesisRecord genesis, ulong host) =>
        (genesis.Ipv4Prefix is { } v4 ? Add(v4.BaseAddress, host) : null, genesis.Ipv6Prefix is { } v6 ? Add(v6.BaseAddress, host) : null);

    /// <summary>The host number of <paramref name="address"/> in the network's prefix of its family, or null if outside.</summary>
    public static ulong? HostOf(GenesisRecord genesis, IPAddress address)
    {
        var prefix = address.AddressFamily == AddressFamily.InterNetwork ? genesis.Ipv4Prefix : genesis.Ipv6Prefix;
        if (prefix is not { } p || !p.Contains(address))
        {
            return null;
        }
        var offset = ToInteger(address) - ToInteger(p.BaseAddress);
        return offset > ulong.MaxValue ? null : (ulong)offset;
    }

    private static IPAddress Add(IPAddress baseAddress, ulong host)
    {
        var value = ToInteger(baseAddress) + host;
        var length = baseAddress.AddressFamily == AddressFamily.InterNetwork ? 4 : 16;
        var bytes = new byte[length];
        var raw = value.ToByteArray(isUnsigned: true, isBigEndian: true);
        raw.CopyTo(bytes, length - raw.Length);
        return new IPAddress(bytes);
    }

    private static BigInteger ToInteger(IPAddress address) => new(address.GetAddressBytes(), isUnsigned: true, isBigEndian: true);
}
