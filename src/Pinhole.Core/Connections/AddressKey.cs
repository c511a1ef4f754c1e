using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Pinhole.Connections;

/// <summary>
/// The unit that per-address limits count: an IPv4 address (IPv4-mapped IPv6 counts as IPv4), or an IPv6 /64,
/// because one IPv6 host usually owns a whole /64 and could otherwise pose as 2^64 sources.
/// <see cref="Group"/> is the wider network the address is in (IPv4 /16, IPv6 /32, as Bitcoin Core groups peers
/// for eviction): one attacker rarely controls many of them.
/// </summary>
internal readonly record struct AddressKey(ulong High, ulong Low)
{
    /// <summary>The network group: IPv4 /16 or IPv6 /32.</summary>
    public ulong Group => High == 0 ? Low >> 16 : High >> 32 | 1UL << 63;

    /// <summary>The key for endpoints whose address is unknown (already reset): they share one bucket.</summary>
    public static readonly AddressKey Unknown = new(ulong.MaxValue, ulong.MaxValue);

    public static AddressKey From(EndPoint? endPoint) => endPoint is IPEndPoint ip ? From(ip.Address) : Unknown;

    public static AddressKey From(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }
        Span<byte> bytes = stackalloc byte[16];
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            address.TryWriteBytes(bytes, out _);
            return new AddressKey(0, 0x1_0000_0000UL | BinaryPrimitives.ReadUInt32BigEndian(bytes));
        }
        address.TryWriteBytes(bytes, out _);
        return new AddressKey(BinaryPrimitives.ReadUInt64BigEndian(bytes), 0);
    }
}
