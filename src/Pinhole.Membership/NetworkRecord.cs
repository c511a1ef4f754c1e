using Pinhole.Codecs;

namespace Pinhole.Membership;

/// <summary>
/// A signed network record: one or more libp2p signed envelopes (RFC 0002) and what they say. Every record is checked
/// when it is decoded (structure, sizes, every signature for its kind's domain); whether its signer may say it is
/// decided by <see cref="NetworkState"/>, against the network's current admin set.
/// </summary>
/// <remarks>
/// Wire form (the unit a coordinator stores and streams, a node caches and gossips):
/// <code>
/// RecordBlob = 0x08 varint(kind)                   field 1: RecordKind
///              0x12 varint(len) Envelope            field 2, repeated 1..16: RFC 0002 envelopes
/// </code>
/// Genesis and admin changes carry the same payload under one envelope per admin signature; a redemption carries
/// the invite envelope then the redemption envelope; an endpoint the libp2p peer record envelope then the Pinhole
/// endpoint envelope; the others one envelope.
/// </remarks>
public abstract class NetworkRecord
{
    /// <summary>Largest encoded record accepted, checked before decoding.</summary>
    public const int MaxEncodedLength = 256 * 1024;

    /// <summary>Most envelopes in one record.</summary>
    public const int MaxEnvelopes = 16;

    private readonly byte[] _encoded;

    private protected NetworkRecord(RecordKind kind, IReadOnlyList<SignedEnvelope> envelopes, RecordId id)
    {
        Kind = kind;
        Envelopes = envelopes;
        Id = id;
        _encoded = EncodeBlob(kind, envelopes);
    }

    /// <summary>The record's kind.</summary>
    public RecordKind Kind { get; }

    /// <summary>The record's id (over kind and payloads, not signatures).</summary>
    public RecordId Id { get; }

    /// <summary>The network the record belongs to.</summary>
    public abstract NetworkId Network { get; }

    /// <summary>The envelopes, in wire order.</summary>
    public IReadOnlyList<SignedEnvelope> Envelopes { get; }

    /// <summary>The <c>RecordBlob</c> encoding.</summary>
    public ReadOnlyMemory<byte> Encoded => _encoded;

    /// <summary>
    /// After this time the record can no longer affect anything (plus clock skew), so stores and caches may drop it;
    /// null when it matters for as long as the network lives (genesis, admin changes, revocations).
    /// </summary>
    public abstract DateTimeOffset? Obsolete { get; }

    /// <summary>
    /// Who the record is about, as bytes, for stores to index: the PeerId multihash (membership, revocation, endpoint),
    /// the invite key's PeerId multihash (redemption), the epoch as 8 big-endian bytes (admin change), empty (genesis).
    /// </summary>
    public abstract ReadOnlyMemory<byte> Subject { get; }

    /// <summary>For records that replace older ones of the same subject: the endpoint sequence, the admin epoch; else 0.</summary>
    public virtual ulong Version => 0;

    /// <summary>
    /// Decodes and checks a record: its structure and limits, the payload type and the signature of every envelope
    /// for the kind's domain, and the record's internal consistency. Pure: it does not decide whether the signer is
    /// allowed to sign it (see <see cref="NetworkState"/>).
    /// </summary>
    /// <exception cref="FormatException">The bytes are malformed; the message names the field.</exception>
    /// <exception cref="MembershipException">A signature does not verify, or the parts do not fit together.</exception>
    public static NetworkRecord Decode(ReadOnlySpan<byte> blob)
    {
        if (blob.Length > MaxEncodedLength)
        {
            throw new FormatException($"Record is {blob.Length} bytes; at most {MaxEncodedLength} are accepted.");
        }
        var key = Internal.Digest.Hash(blob);
        if (Internal.RecordMemo.TryGet(key, out var known))
        {
            return known;
        }
        var decoded = DecodeNew(blob);
        Internal.RecordMemo.Add(key, decoded);
        return decoded;
    }

    private static NetworkRecord DecodeNew(ReadOnlySpan<byte> blob)
    {
        var reader = new ProtobufReader(blob);
        var fields = new Internal.FieldTracker("RecordBlob");
        ulong kind = 0;
        var envelopes = new List<ReadOnlyMemory<byte>>(2);
        var bytes = blob.ToArray();
        while (reader.TryReadField())
        {
            switch (reader.FieldNumber)
            {
                case 1:
                    fields.Once(1);
                    kind = reader.ReadVarint();
                    break;
                case 2:
                    fields.Repeated(2);
                    if (envelopes.Count == MaxEnvelopes)
                    {
                        throw new FormatException($"RecordBlob: more than {MaxEnvelopes} envelopes.");
                    }
                    var envelope = reader.ReadBytes();
                    envelopes.Add(SliceOf(bytes, blob, envelope));
                    break;
                default:
                    throw fields.Unknown(reader.FieldNumber);
            }
        }
        fields.Require(1, "kind");
        fields.Require(2, "envelope");
        return (RecordKind)Math.Min(kind, int.MaxValue) switch
        {
            RecordKind.Genesis => GenesisRecord.FromEnvelopes(envelopes),
            RecordKind.AdminChange => AdminChangeRecord.FromEnvelopes(envelopes),
            RecordKind.Membership => MembershipRecord.FromEnvelopes(envelopes),
            RecordKind.Revocation => RevocationRecord.FromEnvelopes(envelopes),
            RecordKind.Redemption => RedemptionRecord.FromEnvelopes(envelopes),
            RecordKind.Endpoint => EndpointRecord.FromEnvelopes(envelopes),
            _ => throw new FormatException($"RecordBlob: unknown record kind {kind}."),
        };
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Kind} {Id.ToShortString()}";

    // The envelope span points into the input; slice the one copy at the same offset instead of copying again.
    private static ReadOnlyMemory<byte> SliceOf(byte[] copy, ReadOnlySpan<byte> original, ReadOnlySpan<byte> part)
    {
        if (part.IsEmpty)
        {
            return ReadOnlyMemory<byte>.Empty;
        }
        _ = original.Overlaps(part, out var offset);
        return copy.AsMemory(offset, part.Length);
    }

    private static byte[] EncodeBlob(RecordKind kind, IReadOnlyList<SignedEnvelope> envelopes)
    {
        var writer = new ProtobufWriter(envelopes.Sum(e => e.Encoded.Length + 4) + 4);
        writer.WriteVarint(1, (ulong)kind);
        foreach (var envelope in envelopes)
        {
            writer.WriteBytes(2, envelope.Encoded.Span);
        }
        return writer.ToArray();
    }
}
