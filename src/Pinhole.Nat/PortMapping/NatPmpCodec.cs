using System.Buffers.Binary;
using System.Net;
using Pinhole.Nat.Internal;

namespace Pinhole.Nat.Mapping;

/// <summary>A parsed NAT-PMP response (RFC 6886 §3).</summary>
/// <param name="Opcode">128 + the request's opcode: 128 external address, 129 UDP map, 130 TCP map.</param>
/// <param name="Result">0 success; 1 unsupported version, 2 not authorized, 3 network failure, 4 out of resources, 5 unsupported opcode.</param>
/// <param name="Epoch">Seconds since the gateway's port-mapping table was (re)initialised.</param>
/// <param name="ExternalAddress">The gateway's external IPv4 address (opcode 128).</param>
/// <param name="InternalPort">The mapped internal port (map responses).</param>
/// <param name="ExternalPort">The port the gateway actually mapped (may differ from the one suggested).</param>
/// <param name="Lifetime">Seconds the mapping lasts (map responses).</param>
internal readonly record struct NatPmpResponse(byte Opcode, ushort Result, uint Epoch, IPAddress? ExternalAddress, ushort InternalPort, ushort ExternalPort, uint Lifetime);

/// <summary>NAT-PMP (RFC 6886) messages: requests to the gateway's UDP port 5351, and a pure response parser.</summary>
internal static class NatPmpCodec
{
    internal const int Port = 5351;
    internal const byte OpExternalAddress = 0;
    internal const byte OpMapUdp = 1;
    internal const byte OpMapTcp = 2;
    internal const ushort ResultNetworkFailure = 3;

    //  External address request:        Response (12 bytes):
    //  +--------+--------+              +--------+--------+-----------------+
    //  | Vers=0 | OP = 0 |              | Vers=0 | OP=128 | Result Code     |
    //  +--------+--------+              +--------+--------+-----------------+
    //                                   | Seconds Since Start of Epoch      |
    //                                   | External IPv4 Address             |
    internal static byte[] ExternalAddressRequest() => [0, OpExternalAddress];

    //  Map request (12 bytes):                         Response (16 bytes):
    //  | Vers=0 | OP=1/2 | Reserved (0)    |           | Vers=0 | OP=128+x| Result Code     |
    //  | Internal Port   | Suggested External Port |   | Seconds Since Start of Epoch      |
    //  | Requested Port Mapping Lifetime (seconds) |   | Internal Port   | Mapped External Port |
    //                                                  | Port Mapping Lifetime (seconds)   |
    internal static byte[] MapRequest(bool udp, ushort internalPort, ushort suggestedExternalPort, uint lifetimeSeconds)
    {
        var request = new byte[12];
        request[1] = udp ? OpMapUdp : OpMapTcp;
        BinaryPrimitives.WriteUInt16BigEndian(request.AsSpan(4), internalPort);
        BinaryPrimitives.WriteUInt16BigEndian(request.AsSpan(6), suggestedExternalPort);
        BinaryPrimitives.WriteUInt32BigEndian(request.AsSpan(8), lifetimeSeconds);
        return request;
    }

    /// <summary>Parses a response; throws <see cref="PeerException"/> (<see cref="PeerError.ProtocolViolation"/>) on malformed input.</summary>
    internal static NatPmpResponse Parse(ReadOnlySpan<byte> datagram)
    {
        if (datagram.Length < 8)
        {
            throw NatErrors.Malformed("NAT-PMP", $"{datagram.Length} bytes is shorter than the 8-byte response header");
        }
        if (datagram[0] != 0)
        {
            throw NatErrors.Malformed("NAT-PMP", $"version {datagram[0]}, expected 0");
        }
        byte op = datagram[1];
        if (op < 128)
        {
            throw NatErrors.Malformed("NAT-PMP", $"opcode {op} is a request, not a response");
        }
        ushort result = BinaryPrimitives.ReadUInt16BigEndian(datagram[2..]);
        uint epoch = BinaryPrimitives.ReadUInt32BigEndian(datagram[4..]);
        if (result != 0)
        {
            // Error responses may be truncated to the header (RFC 6886 §3.5).
            return new NatPmpResponse(op, result, epoch, null, 0, 0, 0);
        }
        switch (op)
        {
            case 128 + OpExternalAddress:
                if (datagram.Length != 12)
                {
                    throw NatErrors.Malformed("NAT-PMP", $"an external-address response is 12 bytes, not {datagram.Length}");
                }
                return new NatPmpResponse(op, result, epoch, new IPAddress(datagram.Slice(8, 4)), 0, 0, 0);
            case 128 + OpMapUdp or 128 + OpMapTcp:
                if (datagram.Length != 16)
                {
                    throw NatErrors.Malformed("NAT-PMP", $"a map response is 16 bytes, not {datagram.Length}");
                }
                return new NatPmpResponse(op, result, epoch, null,
                    BinaryPrimitives.ReadUInt16BigEndian(datagram[8..]), BinaryPrimitives.ReadUInt16BigEndian(datagram[10..]),
                    BinaryPrimitives.ReadUInt32BigEndian(datagram[12..]));
            default:
                throw NatErrors.Malformed("NAT-PMP", $"unknown response opcode {op}");
        }
    }

    internal static string Describe(ushort result) => result switch
    {
        0 => "success",
        1 => "unsupported version",
        2 => "not authorized or refused",
        3 => "network failure",
        4 => "out of resources",
        5 => "unsupported opcode",
        _ => $"result {result}",
    };
}
