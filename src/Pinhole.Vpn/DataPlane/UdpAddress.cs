using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Pinhole.Vpn.DataPlane;

/// <summary>
/// A peer's UDP address with its sockaddr_in6 ready for sendmmsg (IPv4 as ::ffff:a.b.c.d on our dual-stack
/// socket). Immutable; equal when address and port are.
/// </summary>
internal sealed class UdpAddress : IEquatable<UdpAddress>
{
    internal const int SockAddrLength = 28;

    private UdpAddress(IPEndPoint endPoint, UInt128 address, ushort port, byte[] sockAddr)
    {
        EndPoint = endPoint;
        Address = address;
        Port = port;
        SockAddr = sockAddr;
    }

    /// <summary>The address, IPv4 as IPv4 (never mapped).</summary>
    internal IPEndPoint EndPoint { get; }

    /// <summary>The address as 128 bits (IPv4 mapped: ::ffff:a.b.c.d).</summary>
    internal UInt128 Address { get; }

    internal ushort Port { get; }

    /// <summary>struct sockaddr_in6, 28 bytes.</summary>
    internal byte[] SockAddr { get; }

    /// <summary>True when the peer is reached over IPv4 (40 bytes less overhead than IPv6... 20).</summary>
    internal bool IsIPv4 => (Address >> 32) == 0xFFFF;

    internal static UdpAddress Create(IPEndPoint endPoint)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        IPAddress address = endPoint.Address.IsIPv4MappedToIPv6 ? endPoint.Address.MapToIPv4() : endPoint.Address;
        IPAddress v6 = address.AddressFamily == AddressFamily.InterNetwork ? address.MapToIPv6() : address;
        Span<byte> bytes = stackalloc byte[16];
        v6.TryWriteBytes(bytes, out _);
        UInt128 bits = BinaryPrimitives.ReadUInt128BigEndian(bytes);
        byte[] sockAddr = new byte[SockAddrLength];
        BinaryPrimitives.WriteUInt16LittleEndian(sockAddr, 10); // AF_INET6
        BinaryPrimitives.WriteUInt16BigEndian(sockAddr.AsSpan(2), (ushort)endPoint.Port);
        bytes.CopyTo(sockAddr.AsSpan(8));
        BinaryPrimitives.WriteUInt32LittleEndian(sockAddr.AsSpan(24), (uint)(address.AddressFamily == AddressFamily.InterNetworkV6 ? address.ScopeId : 0));
        return new UdpAddress(new IPEndPoint(address, endPoint.Port), bits, (ushort)endPoint.Port, sockAddr);
    }

    /// <summary>Reads a sockaddr_in6 the kernel filled in; null if it is not one.</summary>
    internal static (UInt128 Address, ushort Port)? ReadSockAddr(ReadOnlySpan<byte> sockAddr)
    {
        if (sockAddr.Length < SockAddrLength || BinaryPrimitives.ReadUInt16LittleEndian(sockAddr) != 10)
        {
            return null;
        }
        return (BinaryPrimitives.ReadUInt128BigEndian(sockAddr[8..]), BinaryPrimitives.ReadUInt16BigEndian(sockAddr[2..]));
    }

    /// <summary>Builds an address from the 128-bit form.</summary>
    internal static UdpAddress Create(UInt128 address, ushort port)
    {
        Span<byte> bytes = stackalloc byte[16];
        BinaryPrimitives.WriteUInt128BigEndian(bytes, address);
        return Create(new IPEndPoint(new IPAddress(bytes), port));
    }

    /// <inheritdoc />
    public bool Equals(UdpAddress? other) => other is not null && Address == other.Address && Port == other.Port;

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as UdpAddress);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Address, Port);

    /// <inheritdoc />
    public override string ToString() => EndPoint.ToString();
}
