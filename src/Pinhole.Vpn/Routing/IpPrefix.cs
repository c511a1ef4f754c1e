using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Pinhole.Vpn.Routing;

/// <summary>
/// An IPv4 or IPv6 prefix with its host bits cleared, as a 128-bit value (IPv4 in the low 32 bits) and a
/// length. Parses "10.1.0.0/16", "fd00::/8" and a bare address (a host prefix); host bits in the text are
/// masked off, as WireGuard's AllowedIPs does.
/// </summary>
public readonly struct IpPrefix : IEquatable<IpPrefix>
{
    private IpPrefix(UInt128 bits, int length, bool v6)
    {
        Bits = bits;
        Length = length;
        IsIPv6 = v6;
    }

    /// <summary>The masked address bits (IPv4 in the low 32 bits).</summary>
    internal UInt128 Bits { get; }

    /// <summary>Prefix length (0..32 or 0..128).</summary>
    public int Length { get; }

    /// <summary>True for an IPv6 prefix.</summary>
    public bool IsIPv6 { get; }

    /// <summary>The first address of the prefix.</summary>
    public IPAddress Address
    {
        get
        {
            if (IsIPv6)
            {
                Span<byte> b = stackalloc byte[16];
                BinaryPrimitives.WriteUInt128BigEndian(b, Bits);
                return new IPAddress(b);
            }
            Span<byte> v4 = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(v4, (uint)Bits);
            return new IPAddress(v4);
        }
    }

    /// <summary>The prefix as a <see cref="IPNetwork"/>.</summary>
    public IPNetwork Network => new(Address, Length);

    /// <summary>Creates a prefix from an address and a length (host bits are cleared).</summary>
    public static IpPrefix Create(IPAddress address, int length)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }
        bool v6 = address.AddressFamily == AddressFamily.InterNetworkV6;
        int max = v6 ? 128 : 32;
        if (length < 0 || length > max)
        {
            throw new ArgumentOutOfRangeException(nameof(length), $"A prefix length for {address} must be 0..{max}, not {length}.");
        }
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out int written);
        UInt128 bits = v6 ? BinaryPrimitives.ReadUInt128BigEndian(bytes) : BinaryPrimitives.ReadUInt32BigEndian(bytes);
        return new IpPrefix(bits & Mask(length, v6), length, v6);
    }

    /// <summary>A host prefix (/32 or /128).</summary>
    public static IpPrefix Host(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        IPAddress a = address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
        return Create(a, a.AddressFamily == AddressFamily.InterNetworkV6 ? 128 : 32);
    }

    /// <summary>Parses "address/length" or a bare address.</summary>
    public static IpPrefix Parse(string text)
        => TryParse(text, out IpPrefix prefix) ? prefix : throw new FormatException($"'{text}' is not an IP prefix (like 10.0.0.0/24 or fd00::/64).");

    /// <summary>Parses "address/length" or a bare address.</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, out IpPrefix prefix)
    {
        prefix = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }
        text = text.Trim();
        int slash = text.IndexOf('/', StringComparison.Ordinal);
        string addressText = slash < 0 ? text : text[..slash];
        if (!IPAddress.TryParse(addressText, out IPAddress? address) || (address.AddressFamily == AddressFamily.InterNetworkV6 && address.ScopeId != 0))
        {
            return false;
        }
        bool v6 = address.AddressFamily == AddressFamily.InterNetworkV6 && !address.IsIPv4MappedToIPv6;
        int length = v6 ? 128 : 32;
        if (slash >= 0 && (!int.TryParse(text.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out length) || length > (v6 ? 128 : 32)))
        {
            return false;
        }
        prefix = Create(address, length);
        return true;
    }

    /// <summary>True if <paramref name="address"/> (4 or 16 bytes, network order) is inside the prefix.</summary>
    public bool Contains(ReadOnlySpan<byte> address)
    {
        if (address.Length != (IsIPv6 ? 16 : 4))
        {
            return false;
        }
        UInt128 a = IsIPv6 ? BinaryPrimitives.ReadUInt128BigEndian(address) : BinaryPrimitives.ReadUInt32BigEndian(address);
        return (a & Mask(Length, IsIPv6)) == Bits;
    }

    /// <summary>True if <paramref name="address"/> is inside the prefix.</summary>
    public bool Contains(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        IPAddress a = address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
        Span<byte> bytes = stackalloc byte[16];
        a.TryWriteBytes(bytes, out int written);
        return Contains(bytes[..written]);
    }

    internal static UInt128 Mask(int length, bool v6)
    {
        int width = v6 ? 128 : 32;
        if (length == 0)
        {
            return UInt128.Zero;
        }
        UInt128 all = v6 ? UInt128.MaxValue : uint.MaxValue;
        return all << (width - length) & all;
    }

    /// <inheritdoc />
    public bool Equals(IpPrefix other) => Bits == other.Bits && Length == other.Length && IsIPv6 == other.IsIPv6;

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is IpPrefix other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Bits, Length, IsIPv6);

    /// <inheritdoc />
    public override string ToString() => $"{Address}/{Length}";

    /// <summary>Equality.</summary>
    public static bool operator ==(IpPrefix left, IpPrefix right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    public static bool operator !=(IpPrefix left, IpPrefix right) => !left.Equals(right);
}
