using System.Buffers.Binary;
using Pinhole.Codecs;
using Pinhole.Membership.Internal;

namespace Pinhole.Membership;

/// <summary>
/// A change of a network's admin set: epoch <c>n</c> names the record of epoch <c>n-1</c> (the genesis for 1) by id
/// and must be signed by a threshold of the admins of epoch <c>n-1</c>. The chain is the only way the set changes.
/// Keys that leave the set stop being able to sign, and what they signed stops counting (re-issue it).
/// </summary>
/// <remarks>
/// Domain <c>pinhole-admins-v1</c>, payload type <c>/pinhole/admins/1</c>:
/// <code>
/// AdminChange = 0x0a 0x20 network[32]          field 1: NetworkId
///               0x10 varint epoch              field 2: 1, 2, ...
///               0x1a 0x20 previous[32]         field 3: RecordId of epoch-1's record (the genesis for epoch 1)
///               0x22 varint(len) PublicKey     field 4, repeated 1..16: admin keys
///               0x28 varint threshold          field 5
///               0x32 varint(len) PublicKey     field 6, repeated 0..16: issuer keys
///               0x38 varint created_at         field 7: Unix seconds
/// </code>
/// </remarks>
public sealed class AdminChangeRecord : NetworkRecord
{
    private const string What = "AdminChange";

    private AdminChangeRecord(IReadOnlyList<SignedEnvelope> envelopes, RecordId id, NetworkId network, ulong epoch, RecordId previous, AdminSet admins, DateTimeOffset createdAt)
        : base(RecordKind.AdminChange, envelopes, id)
    {
        Network = network;
        Epoch = epoch;
        Previous = previous;
        Admins = admins;
        CreatedAt = createdAt;
        Signers = [.. envelopes.Select(e => e.Signer)];
    }

    /// <inheritdoc/>
    public override NetworkId Network { get; }

    /// <summary>The epoch this record starts (1 for the first change after genesis).</summary>
    public ulong Epoch { get; }

    /// <summary>The id of the record of the previous epoch.</summary>
    public RecordId Previous { get; }

    /// <summary>The new admin set.</summary>
    public AdminSet Admins { get; }

    /// <summary>When it was signed.</summary>
    public DateTimeOffset CreatedAt { get; }

    /// <summary>The keys that signed it.</summary>
    public IReadOnlyList<PeerId> Signers { get; }

    /// <inheritdoc/>
    public override DateTimeOffset? Obsolete => null;

    /// <inheritdoc/>
    public override ReadOnlyMemory<byte> Subject
    {
        get
        {
            var bytes = new byte[8];
            BinaryPrimitives.WriteUInt64BigEndian(bytes, Epoch);
            return bytes;
        }
    }

    /// <inheritdoc/>
    public override ulong Version => Epoch;

    /// <summary>Signs a change to <paramref name="next"/> with <paramref name="signers"/> (a threshold of the current admins).</summary>
    public static AdminChangeRecord Create(NetworkId network, ulong epoch, RecordId previous, AdminSet next, DateTimeOffset createdAt, IReadOnlyList<NodeIdentity> signers)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(next);
        ArgumentNullException.ThrowIfNull(signers);
        ArgumentOutOfRangeException.ThrowIfZero(epoch);
        if (signers.Count == 0)
        {
            throw new ArgumentException("An admin change needs at least one signer.", nameof(signers));
        }
        var writer = new ProtobufWriter();
        writer.WriteBytes(1, network.Bytes.Span);
        writer.WriteVarint(2, epoch);
        writer.WriteBytes(3, previous.Span);
        next.Write(writer, 4, 5, 6);
        writer.WriteVarint(7, UnixTime.From(createdAt));
        var envelopes = signers.Select(s => SignedEnvelope.Seal(s, RecordFormat.AdminChangeDomain, RecordFormat.AdminChangeType, writer.WrittenSpan)).ToList();
        return Build(envelopes);
    }

    internal static AdminChangeRecord FromEnvelopes(IReadOnlyList<ReadOnlyMemory<byte>> encoded) =>
        Build(RecordFormat.OpenMultiSigned(encoded, RecordFormat.AdminChangeDomain, RecordFormat.AdminChangeType, What));

    private static AdminChangeRecord Build(List<SignedEnvelope> envelopes)
    {
        var payload = envelopes[0].Payload;
        var reader = new ProtobufReader(payload.Span);
        var fields = new FieldTracker(What);
        NetworkId? network = null;
        ulong epoch = 0, threshold = 0, created = 0;
        RecordId previous = default;
        List<Libp2pPublicKey> admins = [], issuers = [];
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
                    epoch = reader.ReadVarint();
                    break;
                case 3:
                    fields.Once(3);
                    var bytes = reader.ReadBytes();
                    if (bytes.Length != RecordId.Length)
                    {
                        throw new FormatException($"{What}: previous is {bytes.Length} bytes, expected {RecordId.Length}.");
                    }
                    previous = RecordId.FromBytes(bytes);
                    break;
                case 4:
                    fields.Repeated(4);
                    AdminSet.AddKey(admins, reader.ReadBytes(), What, "admin key");
                    break;
                case 5:
                    fields.Once(5);
                    threshold = reader.ReadVarint();
                    break;
                case 6:
                    fields.Repeated(6);
                    AdminSet.AddKey(issuers, reader.ReadBytes(), What, "issuer key");
                    break;
                case 7:
                    fields.Once(7);
                    created = UnixTime.Check(reader.ReadVarint(), What, "created_at");
                    break;
                default:
                    throw fields.Unknown(reader.FieldNumber);
            }
        }
        fields.Require(1, "network");
        fields.Require(2, "epoch");
        fields.Require(3, "previous");
        fields.Require(4, "admin key");
        fields.Require(5, "threshold");
        fields.Require(7, "created_at");
        if (epoch == 0)
        {
            throw new FormatException($"{What}: epoch 0 is the genesis; changes start at 1.");
        }
        var set = AdminSet.Read(admins, threshold, issuers, What);
        var id = RecordId.Compute((int)RecordKind.AdminChange, payload);
        return new AdminChangeRecord(envelopes, id, network!, epoch, previous, set, UnixTime.To(created));
    }
}
