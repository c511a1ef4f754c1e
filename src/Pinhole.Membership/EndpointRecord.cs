using System.Security.Cryptography;
using Pinhole.Codecs;
using Pinhole.Membership.Internal;

namespace Pinhole.Membership;

/// <summary>
/// A node's announcement of where it is: an unmodified libp2p peer record (RFC 0003; direct, port-mapped,
/// STUN-observed and <c>/p2p/R/p2p-circuit</c> relay addresses) that any libp2p stack can check, plus a Pinhole
/// envelope with what libp2p has no field for (network, NAT type, sealing key), bound to that peer record by hash.
/// Both are signed by the node itself, so a coordinator can withhold them but never forge or alter one.
/// A receiver keeps only the highest <see cref="Sequence"/>.
/// </summary>
/// <remarks>
/// Envelopes: the libp2p peer record (domain <c>libp2p-peer-record</c>, type 0x0301), then the Pinhole endpoint
/// (domain <c>pinhole-endpoint-v1</c>, payload type <c>/pinhole/endpoint/1</c>):
/// <code>
/// Endpoint = 0x0a 0x20 network[32]           field 1: NetworkId
///            0x12 0x20 peer_record[32]       field 2: SHA-256 of the peer record payload
///            0x18 varint sequence            field 3: equal to the peer record's seq
///            0x20 varint nat_type            field 4: EndpointNatType (0..5)
///            0x2a 0x41 seal_key[65]          field 5: P-256 point for sealed requests (HPKE), optional
///            0x30 varint issued_at           field 6: Unix seconds
///            (0x3a len tunnel[len])*         field 7: repeated, optional: the UDP endpoints of the node's VPN data plane,
///                                                     each one binary multiaddr /ip4|ip6/A/udp/P (at most 8, P ≠ 0,
///                                                     A not unspecified); absent = no VPN data plane announced
/// </code>
/// The libp2p peer record stays unmodified: its UDP addresses are the node's DTLS socket, never the VPN's, so the
/// data plane is marked here, where only Pinhole readers look.
/// </remarks>
public sealed class EndpointRecord : NetworkRecord
{
    private const string What = "Endpoint";

    /// <summary>Most VPN data-plane endpoints in one record (field 7).</summary>
    public const int MaxTunnelAddresses = 8;

    // /ip6/A/udp/P: code 0x29 (1 varint byte) + 16, code 0x0111 (2 varint bytes) + port 2 = 21 bytes, the longest.
    private const int MaxTunnelAddressBytes = 21;

    private EndpointRecord(SignedEnvelope peerRecordEnvelope, SignedEnvelope endpoint, RecordId id, NetworkId network, PeerRecord peerRecord,
        EndpointNatType natType, ReadOnlyMemory<byte> sealKey, DateTimeOffset issuedAt, IReadOnlyList<Multiaddr> tunnel)
        : base(RecordKind.Endpoint, [peerRecordEnvelope, endpoint], id)
    {
        Tunnel = tunnel;
        Network = network;
        PeerRecord = peerRecord;
        NatType = natType;
        SealKey = sealKey;
        IssuedAt = issuedAt;
    }

    /// <inheritdoc/>
    public override NetworkId Network { get; }

    /// <summary>The node.</summary>
    public PeerId Peer => PeerRecord.PeerId;

    /// <summary>The standard libp2p peer record.</summary>
    public PeerRecord PeerRecord { get; }

    /// <summary>The node's addresses.</summary>
    public IReadOnlyList<Multiaddr> Addresses => PeerRecord.Addresses;

    /// <summary>Higher replaces lower.</summary>
    public ulong Sequence => PeerRecord.Sequence;

    /// <summary>The node's NAT type.</summary>
    public EndpointNatType NatType { get; }

    /// <summary>The node's sealing key (65 bytes) or empty when it takes no sealed requests.</summary>
    public ReadOnlyMemory<byte> SealKey { get; }

    /// <summary>When it was signed.</summary>
    public DateTimeOffset IssuedAt { get; }

    /// <summary>
    /// The UDP endpoints of the node's VPN data plane (field 7, each <c>/ip4|ip6/A/udp/P</c>), empty when it announces
    /// none. Distinct from <see cref="Addresses"/>, whose UDP entries are the node's DTLS socket.
    /// </summary>
    public IReadOnlyList<Multiaddr> Tunnel { get; }

    /// <summary>The signed libp2p peer record envelope, for handing to libp2p stacks.</summary>
    public SignedEnvelope PeerRecordEnvelope => Envelopes[0];

    /// <summary>An endpoint stays until it is replaced or its node stops being a member.</summary>
    public override DateTimeOffset? Obsolete => null;

    /// <inheritdoc/>
    public override ReadOnlyMemory<byte> Subject => Peer.Multihash;

    /// <inheritdoc/>
    public override ulong Version => Sequence;

    /// <summary>
    /// Signs an endpoint announcement for <paramref name="node"/>; <paramref name="tunnel"/> (field 7) lists the VPN data
    /// plane's UDP endpoints, null or empty for none.
    /// </summary>
    /// <exception cref="ArgumentException">More than <see cref="MaxTunnelAddresses"/> tunnel endpoints, or one that is not <c>/ip4|ip6/A/udp/P</c>.</exception>
    public static EndpointRecord Create(NodeIdentity node, NetworkId network, IReadOnlyList<Multiaddr> addresses, ulong sequence,
        EndpointNatType natType, ReadOnlyMemory<byte> sealKey, DateTimeOffset issuedAt, IReadOnlyList<Multiaddr>? tunnel = null)
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(addresses);
        tunnel ??= [];
        var peerRecord = new PeerRecord(node.PeerId, sequence, addresses).Seal(node);
        var writer = new ProtobufWriter();
        writer.WriteBytes(1, network.Bytes.Span);
        writer.WriteBytes(2, SHA256.HashData(peerRecord.Payload.Span));
        writer.WriteVarint(3, sequence);
        if (natType != EndpointNatType.Unknown)
        {
            writer.WriteVarint(4, (ulong)natType);
        }
        if (!sealKey.IsEmpty)
        {
            writer.WriteBytes(5, sealKey.Span);
        }
        writer.WriteVarint(6, UnixTime.From(issuedAt));
        foreach (var address in tunnel)
        {
            ArgumentNullException.ThrowIfNull(address, nameof(tunnel));
            writer.WriteBytes(7, address.Bytes.Span);
        }
        var endpoint = SignedEnvelope.Seal(node, RecordFormat.EndpointDomain, RecordFormat.EndpointType, writer.WrittenSpan);
        try
        {
            return Build(peerRecord, endpoint);
        }
        catch (FormatException e)
        {
            throw new ArgumentException(e.Message, e);
        }
    }

    internal static EndpointRecord FromEnvelopes(IReadOnlyList<ReadOnlyMemory<byte>> encoded)
    {
        if (encoded.Count != 2)
        {
            throw new FormatException($"{What}: expected 2 envelopes (peer record, endpoint), got {encoded.Count}.");
        }
        var peerRecord = EnvelopeVerifier.Open(encoded[0].Span, PeerRecord.Domain, PeerRecord.PayloadType, What + " peer record");
        var endpoint = EnvelopeVerifier.Open(encoded[1].Span, RecordFormat.EndpointDomain, RecordFormat.EndpointType, What);
        return Build(peerRecord, endpoint);
    }

    private static EndpointRecord Build(SignedEnvelope peerRecordEnvelope, SignedEnvelope endpoint)
    {
        PeerRecord peerRecord;
        try
        {
            peerRecord = PeerRecord.FromEnvelope(peerRecordEnvelope);
        }
        catch (FormatException e)
        {
            throw new FormatException($"{What}: {e.Message}", e);
        }
        var reader = new ProtobufReader(endpoint.Payload.Span);
        var fields = new FieldTracker(What);
        NetworkId? network = null;
        ReadOnlySpan<byte> hash = default;
        ulong sequence = 0, nat = 0, issued = 0;
        ReadOnlyMemory<byte> sealKey = ReadOnlyMemory<byte>.Empty;
        List<Multiaddr>? tunnel = null;
        while (reader.TryReadField())
        {
            switch (reader.FieldNumber)
            {
                case 1:
                    fields.Once(1);
                    network = RecordFormat.ReadNetwork(reader.ReadBytes(), What);
                    break;
                case 2:
                    fields.Once(2);
                    hash = reader.ReadBytes();
                    break;
                case 3:
                    fields.Once(3);
                    sequence = reader.ReadVarint();
                    break;
                case 4:
                    fields.Once(4);
                    nat = reader.ReadVarint();
                    if (nat > (ulong)EndpointNatType.UdpBlocked)
                    {
                        throw new FormatException($"{What}: unknown NAT type {nat}.");
                    }
                    break;
                case 5:
                    fields.Once(5);
                    var key = reader.ReadBytes();
                    using (Hpke.ImportPublicKey(key))
                    {
                        sealKey = key.ToArray();
                    }
                    break;
                case 6:
                    fields.Once(6);
                    issued = UnixTime.Check(reader.ReadVarint(), What, "issued_at");
                    break;
                case 7:
                    fields.Repeated(7);
                    tunnel ??= new List<Multiaddr>(2);
                    AddTunnel(tunnel, reader.ReadBytes());
                    break;
                default:
                    throw fields.Unknown(reader.FieldNumber);
            }
        }
        fields.Require(1, "network");
        fields.Require(2, "peer_record");
        fields.Require(3, "sequence");
        fields.Require(6, "issued_at");
        if (!endpoint.PublicKey.Equals(peerRecordEnvelope.PublicKey))
        {
            throw new MembershipException(MembershipError.BadSignature, $"{What}: the peer record is signed by {peerRecordEnvelope.Signer}, the endpoint by {endpoint.Signer}.");
        }
        if (hash.Length != SHA256.HashSizeInBytes || !hash.SequenceEqual(SHA256.HashData(peerRecordEnvelope.Payload.Span)))
        {
            throw new FormatException($"{What}: the peer record hash does not match the peer record it carries.");
        }
        if (sequence != peerRecord.Sequence)
        {
            throw new FormatException($"{What}: sequence {sequence} differs from the peer record's {peerRecord.Sequence}.");
        }
        var id = RecordId.Compute((int)RecordKind.Endpoint, peerRecordEnvelope.Payload, endpoint.Payload);
        return new EndpointRecord(peerRecordEnvelope, endpoint, id, network!, peerRecord, (EndpointNatType)nat, sealKey, UnixTime.To(issued),
            tunnel is null ? [] : tunnel.AsReadOnly());
    }

    // Field 7: count and length are checked before the multiaddr is decoded; then exactly /ip4|ip6/A/udp/P.
    private static void AddTunnel(List<Multiaddr> tunnel, ReadOnlySpan<byte> bytes)
    {
        if (tunnel.Count == MaxTunnelAddresses)
        {
            throw new FormatException($"{What}: more than {MaxTunnelAddresses} tunnel endpoints (field 7).");
        }
        if (bytes.Length > MaxTunnelAddressBytes)
        {
            throw new FormatException($"{What}: tunnel endpoint {tunnel.Count} is {bytes.Length} bytes; an /ip4|ip6/A/udp/P multiaddr is at most {MaxTunnelAddressBytes}.");
        }
        if (!Multiaddr.TryFromBytes(bytes, out var address))
        {
            throw new FormatException($"{What}: tunnel endpoint {tunnel.Count} is not a valid multiaddr.");
        }
        var c = address.Components;
        if (c.Count != 2 || c[0].Protocol is not ("ip4" or "ip6") || c[1].Protocol != "udp"
            || !address.TryGetIPEndPoint(out var endPoint, out _))
        {
            throw new FormatException($"{What}: tunnel endpoint {address} is not /ip4|ip6/A/udp/P.");
        }
        if (endPoint.Port == 0 || endPoint.Address.Equals(System.Net.IPAddress.Any) || endPoint.Address.Equals(System.Net.IPAddress.IPv6Any))
        {
            throw new FormatException($"{What}: tunnel endpoint {address} has no port or an unspecified address.");
        }
        if (IsNeverAPeer(endPoint.Address))
        {
            throw new FormatException($"{What}: tunnel endpoint {address} is a multicast, broadcast or link-local address, never a peer's.");
        }
        if (tunnel.Contains(address))
        {
            throw new FormatException($"{What}: tunnel endpoint {address} appears twice.");
        }
        tunnel.Add(address);
    }

    // Addresses a member could only announce to make the others send somewhere odd: one datagram to many, or to the link.
    private static bool IsNeverAPeer(System.Net.IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }
        if (address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
        {
            Span<byte> b = stackalloc byte[4];
            address.TryWriteBytes(b, out _);
            return b[0] >= 224 || (b[0] == 169 && b[1] == 254); // multicast, reserved and broadcast; link-local
        }
        return address.IsIPv6Multicast || address.IsIPv6LinkLocal;
    }
}
