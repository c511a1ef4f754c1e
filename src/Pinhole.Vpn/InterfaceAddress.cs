using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Pinhole.Vpn.Routing;

namespace Pinhole.Vpn;

/// <summary>An address of the VPN interface with the length of its subnet, e.g. 10.7.0.1/24 (host bits kept, unlike <see cref="IpPrefix"/>).</summary>
public readonly record struct InterfaceAddress
{
    /// <summary>Creates an interface address.</summary>
    public InterfaceAddress(IPAddress address, int prefixLength)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }
        int max = address.AddressFamily == AddressFamily.InterNetworkV6 ? 128 : 32;
        if (prefixLength < 0 || prefixLength > max)
        {
            throw new ArgumentOutOfRangeException(nameof(prefixLength), $"A prefix length for {address} must be 0..{max}.");
        }
        Address = address;
        PrefixLength = prefixLength;
    }

    /// <summary>The address.</summary>
    public IPAddress Address { get; }

    /// <summary>The subnet's prefix length.</summary>
    public int PrefixLength { get; }

    /// <summary>The subnet.</summary>
    public IpPrefix Subnet => IpPrefix.Create(Address, PrefixLength);

    /// <summary>Parses "10.7.0.1/24", "fd07::1/64", or a bare address (a host prefix).</summary>
    public static InterfaceAddress Parse(string text) =>
        TryParse(text, out InterfaceAddress address) ? address : throw new FormatException($"'{text}' is not an interface address (like 10.7.0.1/24 or fd07::1/64).");

    /// <summary>Parses "10.7.0.1/24", "fd07::1/64", or a bare address.</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, out InterfaceAddress address)
    {
        address = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }
        text = text.Trim();
        int slash = text.IndexOf('/', StringComparison.Ordinal);
        if (!IPAddress.TryParse(slash < 0 ? text : text[..slash], out IPAddress? ip) || (ip.AddressFamily == AddressFamily.InterNetworkV6 && ip.ScopeId != 0))
        {
            return false;
        }
        if (ip.IsIPv4MappedToIPv6)
        {
            ip = ip.MapToIPv4();
        }
        int max = ip.AddressFamily == AddressFamily.InterNetworkV6 ? 128 : 32;
        int length = max;
        if (slash >= 0 && (!int.TryParse(text.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out length) || length > max))
        {
            return false;
        }
        address = new InterfaceAddress(ip, length);
        return true;
    }

    /// <inheritdoc />
    public override string ToString() => $"{Address}/{PrefixLength}";
}
