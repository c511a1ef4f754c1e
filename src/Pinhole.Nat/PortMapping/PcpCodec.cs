using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Pinhole.Nat.Internal;

namespace Pinhole.Nat.Mapping;

/// <summary>A parsed PCP response (RFC 6887 §7.2, §11.1).</summary>
internal readonly record struct PcpResponse(byte Version, byte Opcode, byte Result, uint Lifetime, uint Epoch,
    ReadOnlyMemory<byte> Nonce, byte Protocol, ushort InternalPort, ushort ExternalPort, IPAddress? ExternalAddress)
{
    /// <summary>A NAT-PMP-only server's answer to a PCP request: version 0, result 1 (fall back to NAT-PMP).</summary>
    internal bool IsNatPmpVersionMismatch => Version == 0;
}

/// <summary>PCP (RFC 6887) messages for the gateway's UDP port 5351: MAP and ANNOUNCE requests, and a pure response parser.</summary>
internal static class PcpCodec
{
    internal const byte Version = 2;
    internal const byte OpAnnounce = 0;
    internal const byte OpMap = 1;
    internal const int NonceLength = 12;
    internal const int HeaderLength = 24;
    internal const int MapBodyLength = 36;
    internal const int MaxLength = 1100;

    internal const byte ResultSuccess = 0;
    internal const byte ResultUnsupportedVersion = 1;
    internal const byte ResultNotAuthorized = 2;
    internal const byte ResultAddressMismatch = 12;

    //  Request header (24 bytes):
    //  +---------------+---------------+-------------------------------+
    //  |  Version = 2  |R|   Opcode    |         Reserved              |
    //  +---------------+---------------+-------------------------------+
    //  |                 Requested Lifetime (32 bits)                  |
    //  +---------------------------------------------------------------+
    //  |            PCP Client's IP Address (128 bits, v4-mapped)      |
    //  +---------------------------------------------------------------+
    //  MAP body (36 bytes):
    //  |                 Mapping Nonce (96 bits)                       |
    //  |   Protocol    |          Reserved (24 bits)                   |
    //  |        Internal Port          |    Suggested External Port    |
    //  |           Suggested External IP Address (128 bits)            |
    internal static byte[] MapRequest(IPAddress client, ReadOnlySpan<byte> nonce, byte protocol, ushort internalPort, ushort suggestedExternalPort, uint lifetimeSeconds)
    {
        var request = new byte[HeaderLength + MapBodyLength];
        WriteHeader(request, OpMap, lifetimeSeconds, client);
        Span<byte> body = request.AsSpan(HeaderLength);
        nonce[..NonceLength].CopyTo(body);
        body[12] = protocol;
        BinaryPrimitives.WriteUInt16BigEndian(body[16..], internalPort);
        BinaryPrimitives.WriteUInt16BigEndian(body[18..], suggestedExternalPort);
        WriteAddress(body[20..], IPAddress.Any);
        return request;
    }

    internal static byte[] AnnounceRequest(IPAddress client)
    {
        var request = new byte[HeaderLength];
        WriteHeader(request, OpAnnounce, 0, client);
        return request;
    }

    //  Response header (24 bytes):
    //  |  Version = 2  |R|   Opcode    |   Reserved    |  Result Code  |
    //  |                      Lifetime (32 bits)                       |
    //  |                     Epoch Time (32 bits)                      |
    //  |                      Reserved (96 bits)                       |
    //  then the opcode's body (MAP: as in the request, with the assigned port and address).
    internal static PcpResponse Parse(ReadOnlySpan<byte> datagram)
    {
        if (datagram.Length >= 4 && datagram[0] == 0)
        {
            // NAT-PMP's reply to a version it does not know: [0][128+op][result u16]...
            ushort pmpResult = BinaryPrimitives.ReadUInt16BigEndian(datagram[2..]);
            return new PcpResponse(0, (byte)(datagram[1] & 0x7F), (byte)Math.Min(pmpResult, (ushort)255), 0, 0, default, 0, 0, 0, null);
        }
        if (datagram.Length < HeaderLength)
        {
            throw NatErrors.Malformed("PCP", $"{datagram.Length} bytes is shorter than the 24-byte header");
        }
        if (datagram.Length > MaxLength || (datagram.Length & 3) != 0)
        {
            throw NatErrors.Malformed("PCP", $"{datagram.Length} bytes is not a multiple of 4 up to {MaxLength}");
        }
        if (datagram[0] != Version)
        {
            throw NatErrors.Malformed("PCP", $"version {datagram[0]}, expected 2");
        }
        if ((datagram[1] & 0x80) == 0)
        {
            throw NatErrors.Malformed("PCP", "the R bit is clear: a request, not a response");
        }
        byte op = (byte)(datagram[1] & 0x7F);
        byte result = datagram[3];
        uint lifetime = BinaryPrimitives.ReadUInt32BigEndian(datagram[4..]);
        uint epoch = BinaryPrimitives.ReadUInt32BigEndian(datagram[8..]);
        if (op == OpMap)
        {
            if (datagram.Length < HeaderLength + MapBodyLength)
            {
                if (result != ResultSuccess)
                {
                    return new PcpResponse(Version, op, result, lifetime, epoch, default, 0, 0, 0, null);
                }
                throw NatErrors.Malformed("PCP", $"a MAP response needs {HeaderLength + MapBodyLength} bytes, got {datagram.Length}");
            }
            ReadOnlySpan<byte> body = datagram[HeaderLength..];
            return new PcpResponse(Version, op, result, lifetime, epoch, body[..NonceLength].ToArray(), body[12],
                BinaryPrimitives.ReadUInt16BigEndian(body[16..]), BinaryPrimitives.ReadUInt16BigEndian(body[18..]), ReadAddress(body.Slice(20, 16)));
        }
        if (op == OpAnnounce)
        {
            return new PcpResponse(Version, op, result, lifetime, epoch, default, 0, 0, 0, null);
        }
        throw NatErrors.Malformed("PCP", $"unexpected opcode {op}");
    }

    internal static string Describe(byte result) => result switch
    {
        0 => "success",
        1 => "unsupported version",
        2 => "not authorized",
        3 => "malformed request",
        4 => "unsupported opcode",
        5 => "unsupported option",
        6 => "malformed option",
        7 => "network failure",
        8 => "no resources",
        9 => "unsupported protocol",
        10 => "user exceeded quota",
        11 => "cannot provide external address",
        12 => "address mismatch (another NAT sits between us and the PCP server)",
        13 => "excessive remote peers",
        _ => $"result {result}",
    };

    private static void WriteHeader(Span<byte> request, byte opcode, uint lifetime, IPAddress client)
    {
        request[0] = Version;
        request[1] = opcode;
        BinaryPrimitives.WriteUInt32BigEndian(request[4..], lifetime);
        WriteAddress(request.Slice(8, 16), client);
    }

    private static void WriteAddress(Span<byte> destination, IPAddress address)
    {
        IPAddress v6 = address.AddressFamily == AddressFamily.InterNetwork ? address.MapToIPv6() : address;
        v6.TryWriteBytes(destination, out _);
    }

    private static IPAddress ReadAddress(ReadOnlySpan<byte> bytes)
    {
        var address = new IPAddress(bytes);
        return address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
    }
}
