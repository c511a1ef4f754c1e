using Pinhole.Codecs;

namespace Pinhole;

/// <summary>
/// A libp2p peer record (libp2p/specs RFC 0003): a peer's addresses with a sequence number, signed by the peer
/// inside a <see cref="SignedEnvelope"/>. Any libp2p stack can check one, so endpoint announcements use it.
/// </summary>
/// <remarks>
/// Domain and payload type follow the implementations (go-libp2p, js-libp2p), not the RFC's draft text:
/// <code>
/// domain       = "libp2p-peer-record"
/// payload_type = 03 01                          (multicodec 0x0301, as raw bytes)
/// PeerRecord   = 0x0a varint(len) peer_id       (field 1: PeerId multihash)
///                0x10 varint seq                (field 2: uint64, higher wins; absent when 0)
///                0x1a varint(len) AddressInfo   (field 3, repeated)
/// AddressInfo  = 0x0a varint(len) multiaddr     (field 1: binary multiaddr)
/// </code>
/// </remarks>
public sealed class PeerRecord
{
    /// <summary>The signing domain of peer records.</summary>
    public const string Domain = "libp2p-peer-record";

    /// <summary>Most addresses a record may carry; checked while decoding.</summary>
    public const int MaxAddresses = 64;

    /// <summary>The payload type (multicodec <c>libp2p-peer-record</c>, 0x0301).</summary>
    public static ReadOnlySpan<byte> PayloadType => [0x03, 0x01];

    /// <summary>Creates a record.</summary>
    public PeerRecord(PeerId peerId, ulong sequence, IReadOnlyList<Multiaddr> addresses)
    {
        ArgumentNullException.ThrowIfNull(peerId);
        ArgumentNullException.ThrowIfNull(addresses);
        if (addresses.Count > MaxAddresses)
        {
            throw new ArgumentException($"A peer record holds at most {MaxAddresses} addresses.", nameof(addresses));
        }
        PeerId = peerId;
        Sequence = sequence;
        Addresses = addresses;
    }

    /// <summary>Whose addresses these are.</summary>
    public PeerId PeerId { get; }

    /// <summary>Sequence number: a receiver keeps only the record with the highest one (unix time is allowed).</summary>
    public ulong Sequence { get; }

    /// <summary>The peer's addresses.</summary>
    public IReadOnlyList<Multiaddr> Addresses { get; }

    /// <summary>The record's protobuf payload.</summary>
    public byte[] Encode()
    {
        var writer = new ProtobufWriter();
        writer.WriteBytes(1, PeerId.Multihash.Span);
        // proto3: sequence 0 is the default value and is not written.
        if (Sequence != 0)
        {
            writer.WriteVarint(2, Sequence);
        }
        foreach (var address in Addresses)
        {
            var info = new ProtobufWriter(address.Bytes.Length + 4);
            info.WriteBytes(1, address.Bytes.Span);
            writer.WriteBytes(3, info.WrittenSpan);
        }
        return writer.ToArray();
    }

    /// <summary>Signs the record with <paramref name="identity"/>, which must be the record's peer.</summary>
    public SignedEnvelope Seal(NodeIdentity identity)
    {
        ArgumentNullException.ThrowIfNull(identity);
        if (!identity.PeerId.Equals(PeerId))
        {
            throw new ArgumentException($"A peer record for {PeerId} cannot be signed by {identity.PeerId}.", nameof(identity));
        }
        return SignedEnvelope.Seal(identity, Domain, PayloadType, Encode());
    }

    /// <summary>Decodes a record payload; throws <see cref="FormatException"/> saying what is wrong.</summary>
    public static PeerRecord Decode(ReadOnlySpan<byte> payload)
    {
        var reader = new ProtobufReader(payload);
        PeerId? peerId = null;
        ulong sequence = 0;
        var addresses = new List<Multiaddr>();
        while (reader.TryReadField())
        {
            switch (reader.FieldNumber)
            {
                case 1:
                    peerId = PeerId.FromMultihash(reader.ReadBytes());
                    break;
                case 2:
                    sequence = reader.ReadVarint();
                    break;
                case 3:
                    if (addresses.Count == MaxAddresses)
                    {
                        throw new FormatException($"Peer record carries more than {MaxAddresses} addresses.");
                    }
                    addresses.Add(DecodeAddressInfo(reader.ReadBytes()));
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }
        if (peerId is null)
        {
            throw new FormatException("Peer record has no peer id (field 1).");
        }
        return new PeerRecord(peerId, sequence, addresses);
    }

    /// <summary>
    /// Opens a signed peer record: verifies the envelope for <see cref="Domain"/> and checks that the signer is the
    /// record's peer. Throws <see cref="FormatException"/> or <see cref="System.Security.Cryptography.CryptographicException"/>.
    /// </summary>
    public static PeerRecord Open(ReadOnlySpan<byte> envelope) => FromEnvelope(SignedEnvelope.Open(envelope, Domain, PayloadType));

    /// <summary>The record inside a verified envelope; the signer must be the record's peer.</summary>
    public static PeerRecord FromEnvelope(SignedEnvelope envelope)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        if (!envelope.PayloadType.Span.SequenceEqual(PayloadType))
        {
            throw new FormatException("Envelope does not hold a peer record.");
        }
        var record = Decode(envelope.Payload.Span);
        if (!record.PeerId.Matches(envelope.PublicKey))
        {
            throw new FormatException($"Peer record for {record.PeerId} is signed by another key ({envelope.Signer}).");
        }
        return record;
    }

    private static Multiaddr DecodeAddressInfo(ReadOnlySpan<byte> info)
    {
        var reader = new ProtobufReader(info);
        Multiaddr? address = null;
        while (reader.TryReadField())
        {
            if (reader.FieldNumber == 1)
            {
                var bytes = reader.ReadBytes();
                if (!Multiaddr.TryFromBytes(bytes, out address))
                {
                    throw new FormatException("Peer record holds an invalid multiaddr.");
                }
            }
            else
            {
                reader.Skip();
            }
        }
        return address ?? throw new FormatException("Peer record address info has no multiaddr (field 1).");
    }

    /// <inheritdoc/>
    public override string ToString() => $"{PeerId} seq {Sequence}: {string.Join(", ", Addresses)}";
}
