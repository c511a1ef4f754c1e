using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Pinhole.Nat.Internal;

namespace Pinhole.Nat;

/// <summary>What one side of a UDP hole punch tells the other before it starts: its credential, its NAT's behaviour and its candidates.</summary>
/// <param name="Credentials">The short-term credential the peer signs its checks to this side with.</param>
/// <param name="Mapping">This side's NAT mapping from netcheck (<see cref="NatMappingBehavior.Unknown"/> when not measured).</param>
/// <param name="Filtering">This side's NAT filtering from netcheck.</param>
/// <param name="Candidates">Where this side may be reached: host, server-reflexive, port-mapped (at most <see cref="UdpPunchSignal.MaxCandidates"/>).</param>
public sealed record UdpPunchOffer(UdpPunchCredentials Credentials, NatMappingBehavior Mapping, NatFilteringBehavior Filtering, IReadOnlyList<UdpCandidate> Candidates);

/// <summary>The kinds of <see cref="UdpPunchSignal"/> message.</summary>
public enum UdpPunchMessageType : byte
{
    /// <summary>The dialler's offer: it will be the controlling side.</summary>
    Offer = 1,

    /// <summary>The answer: the peer starts punching as it sends this.</summary>
    Answer = 2,

    /// <summary>The peer will not punch (no UDP socket, no STUN, too many punches); the text says why.</summary>
    Refused = 3,

    /// <summary>After a punch failed: the dialler's TURN relayed address; the peer binds a channel to it.</summary>
    TurnOffer = 4,

    /// <summary>The peer's TURN relayed address, bound to the dialler's.</summary>
    TurnAnswer = 5,
}

/// <summary>One decoded <see cref="UdpPunchSignal"/> message: an offer or answer, a refusal's text, or a TURN relayed address.</summary>
public sealed record UdpPunchMessage(UdpPunchMessageType Type, UdpPunchOffer? Offer, string? Refusal, IPEndPoint? Relayed = null);

/// <summary>
/// The signalling messages of UDP hole punching, sent over an authenticated stream (the node's
/// <c>/pinhole/udp-punch/1.0.0</c>, which runs on relayed connections too). Each message is framed:
/// <code>
///  0        1        2        3
/// +--------+--------+--------+---------------- ... ----+
/// |  type  |  body length    |  body (≤ 1024 bytes)     |
/// +--------+--------+--------+---------------- ... ----+
///
/// offer / answer body:
/// +------+---------------+------+------------------+---------+-----------+-------+-------------------+
/// | ulen | ufrag (4-64)  | plen | password (16-256)| mapping | filtering | count | count × candidate |
/// +------+---------------+------+------------------+---------+-----------+-------+-------------------+
/// candidate: kind (1) | family (1: 4 or 6) | address (4 or 16) | port (2, big-endian, not 0)
///
/// refused body: the reason, UTF-8 text (at most 256 bytes).
///
/// TURN offer / answer body (after a failed punch): family (1: 4 or 6) | address (4 or 16) | port (2, not 0)
/// </code>
/// The text fields are ASCII/UTF-8; every length is checked against the bytes present before anything is allocated.
/// Bad input fails with <see cref="PeerException"/> (<see cref="PeerError.ProtocolViolation"/>).
/// </summary>
public static class UdpPunchSignal
{
    /// <summary>The frame header: type and a 16-bit body length.</summary>
    public const int HeaderLength = 3;

    /// <summary>The largest body accepted.</summary>
    public const int MaxBodyLength = 1024;

    /// <summary>The most candidates an offer may carry.</summary>
    public const int MaxCandidates = 16;

    private const int MaxRefusalBytes = 256;
    private const string Name = "UDP punch signal";

    /// <summary>Encodes an offer (or, with <paramref name="answer"/>, an answer) as one framed message.</summary>
    /// <exception cref="ArgumentException">The offer has too many candidates or an invalid credential.</exception>
    public static byte[] Encode(UdpPunchOffer offer, bool answer = false)
    {
        ArgumentNullException.ThrowIfNull(offer);
        offer.Credentials.Validate(nameof(offer));
        if (offer.Candidates.Count > MaxCandidates)
        {
            throw new ArgumentException($"At most {MaxCandidates} candidates.", nameof(offer));
        }
        byte[] ufrag = Encoding.UTF8.GetBytes(offer.Credentials.Ufrag), password = Encoding.UTF8.GetBytes(offer.Credentials.Password);
        var body = new List<byte>(64) { (byte)ufrag.Length };
        body.AddRange(ufrag);
        body.Add((byte)password.Length);
        body.AddRange(password);
        body.Add((byte)offer.Mapping);
        body.Add((byte)offer.Filtering);
        body.Add((byte)offer.Candidates.Count);
        foreach (UdpCandidate candidate in offer.Candidates)
        {
            IPEndPoint endPoint = UdpHolePunch.Normalize(candidate.EndPoint);
            body.Add((byte)candidate.Kind);
            body.Add(endPoint.AddressFamily == AddressFamily.InterNetwork ? (byte)4 : (byte)6);
            body.AddRange(endPoint.Address.GetAddressBytes());
            body.Add((byte)(endPoint.Port >> 8));
            body.Add((byte)endPoint.Port);
        }
        return Frame(answer ? UdpPunchMessageType.Answer : UdpPunchMessageType.Offer, [.. body]);
    }

    /// <summary>Encodes a refusal with its reason (cut to 256 bytes of UTF-8).</summary>
    public static byte[] EncodeRefusal(string reason)
    {
        ArgumentNullException.ThrowIfNull(reason);
        byte[] text = Encoding.UTF8.GetBytes(reason);
        return Frame(UdpPunchMessageType.Refused, text.AsSpan(0, Math.Min(text.Length, MaxRefusalBytes)));
    }

    /// <summary>Encodes a TURN offer (or, with <paramref name="answer"/>, answer): this side's relayed address.</summary>
    public static byte[] EncodeTurn(IPEndPoint relayed, bool answer = false)
    {
        ArgumentNullException.ThrowIfNull(relayed);
        IPEndPoint endPoint = UdpHolePunch.Normalize(relayed);
        byte[] address = endPoint.Address.GetAddressBytes();
        return Frame(answer ? UdpPunchMessageType.TurnAnswer : UdpPunchMessageType.TurnOffer,
            [endPoint.AddressFamily == AddressFamily.InterNetwork ? (byte)4 : (byte)6, .. address, (byte)(endPoint.Port >> 8), (byte)endPoint.Port]);
    }

    /// <summary>Reads a frame header: the message type and its body length (checked against <see cref="MaxBodyLength"/>).</summary>
    /// <exception cref="PeerException">An unknown type or a body too long.</exception>
    public static (UdpPunchMessageType Type, int BodyLength) ReadHeader(ReadOnlySpan<byte> header)
    {
        if (header.Length < HeaderLength)
        {
            throw NatErrors.Malformed(Name, $"a header is {HeaderLength} bytes, got {header.Length}");
        }
        var type = (UdpPunchMessageType)header[0];
        if (type is not (UdpPunchMessageType.Offer or UdpPunchMessageType.Answer or UdpPunchMessageType.Refused or UdpPunchMessageType.TurnOffer or UdpPunchMessageType.TurnAnswer))
        {
            throw NatErrors.Malformed(Name, $"unknown message type {header[0]}");
        }
        int length = BinaryPrimitives.ReadUInt16BigEndian(header[1..]);
        if (length > MaxBodyLength || (type == UdpPunchMessageType.Refused && length > MaxRefusalBytes))
        {
            throw NatErrors.Malformed(Name, $"a {type} body of {length} bytes is over the limit");
        }
        return (type, length);
    }

    /// <summary>Parses one whole framed message at the start of <paramref name="data"/>; <paramref name="consumed"/> is its size.</summary>
    /// <exception cref="PeerException">The message is truncated or malformed; the message says where.</exception>
    public static UdpPunchMessage Parse(ReadOnlySpan<byte> data, out int consumed)
    {
        (UdpPunchMessageType type, int length) = ReadHeader(data);
        if (data.Length - HeaderLength < length)
        {
            throw NatErrors.Malformed(Name, $"the body is {length} bytes, only {data.Length - HeaderLength} present");
        }
        consumed = HeaderLength + length;
        return ParseBody(type, data.Slice(HeaderLength, length));
    }

    /// <summary>Parses a body whose header <see cref="ReadHeader"/> read.</summary>
    /// <exception cref="PeerException">The body is malformed.</exception>
    public static UdpPunchMessage ParseBody(UdpPunchMessageType type, ReadOnlySpan<byte> body)
    {
        if (type == UdpPunchMessageType.Refused)
        {
            if (body.Length > MaxRefusalBytes)
            {
                throw NatErrors.Malformed(Name, "the refusal's text is over 256 bytes");
            }
            return new UdpPunchMessage(type, null, Encoding.UTF8.GetString(body));
        }
        var reader = new Reader(body);
        if (type is UdpPunchMessageType.TurnOffer or UdpPunchMessageType.TurnAnswer)
        {
            IPEndPoint relayed = reader.EndPoint("relayed address");
            if (!reader.AtEnd)
            {
                throw NatErrors.Malformed(Name, $"{reader.Remaining} bytes after the relayed address");
            }
            return new UdpPunchMessage(type, null, null, relayed);
        }
        string ufrag = reader.Text("ufrag", 4, 64);
        string password = reader.Text("password", 16, 256);
        var credentials = new UdpPunchCredentials(ufrag, password);
        try
        {
            credentials.Validate("credentials");
        }
        catch (ArgumentException e)
        {
            throw NatErrors.Malformed(Name, e.Message);
        }
        var mapping = (NatMappingBehavior)reader.Byte("mapping");
        var filtering = (NatFilteringBehavior)reader.Byte("filtering");
        if (!Enum.IsDefined(mapping) || !Enum.IsDefined(filtering))
        {
            throw NatErrors.Malformed(Name, $"unknown NAT behaviour (mapping {(int)mapping}, filtering {(int)filtering})");
        }
        int count = reader.Byte("candidate count");
        if (count > MaxCandidates)
        {
            throw NatErrors.Malformed(Name, $"{count} candidates, at most {MaxCandidates}");
        }
        var candidates = new UdpCandidate[count];
        for (int i = 0; i < count; i++)
        {
            var kind = (UdpCandidateKind)reader.Byte("candidate kind");
            if (!Enum.IsDefined(kind) || kind == UdpCandidateKind.PeerReflexive)
            {
                throw NatErrors.Malformed(Name, $"candidate {i} has kind {(int)kind}, which is not sent");
            }
            candidates[i] = new UdpCandidate(kind, reader.EndPoint($"candidate {i}"));
        }
        if (!reader.AtEnd)
        {
            throw NatErrors.Malformed(Name, $"{reader.Remaining} bytes after the last candidate");
        }
        return new UdpPunchMessage(type, new UdpPunchOffer(credentials, mapping, filtering, candidates), null);
    }

    private static byte[] Frame(UdpPunchMessageType type, ReadOnlySpan<byte> body)
    {
        var frame = new byte[HeaderLength + body.Length];
        frame[0] = (byte)type;
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(1), (ushort)body.Length);
        body.CopyTo(frame.AsSpan(HeaderLength));
        return frame;
    }

    private ref struct Reader(ReadOnlySpan<byte> data)
    {
        private ReadOnlySpan<byte> _rest = data;

        public readonly bool AtEnd => _rest.IsEmpty;

        public readonly int Remaining => _rest.Length;

        public byte Byte(string field) => Bytes(field, 1)[0];

        public int UInt16(string field) => BinaryPrimitives.ReadUInt16BigEndian(Bytes(field, 2));

        public ReadOnlySpan<byte> Bytes(string field, int length)
        {
            if (_rest.Length < length)
            {
                throw NatErrors.Malformed(Name, $"truncated in the {field} ({length} bytes needed, {_rest.Length} left)");
            }
            ReadOnlySpan<byte> taken = _rest[..length];
            _rest = _rest[length..];
            return taken;
        }

        public IPEndPoint EndPoint(string what)
        {
            int family = Byte("address family");
            if (family is not (4 or 6))
            {
                throw NatErrors.Malformed(Name, $"{what} has address family {family} (4 or 6)");
            }
            var address = new IPAddress(Bytes("address", family == 4 ? 4 : 16));
            int port = UInt16("port");
            if (port == 0)
            {
                throw NatErrors.Malformed(Name, $"{what} has port 0");
            }
            return new IPEndPoint(address, port);
        }

        public string Text(string field, int min, int max)
        {
            int length = Byte(field + " length");
            if (length < min || length > max)
            {
                throw NatErrors.Malformed(Name, $"the {field} is {length} bytes ({min}-{max})");
            }
            return Encoding.UTF8.GetString(Bytes(field, length));
        }
    }
}
