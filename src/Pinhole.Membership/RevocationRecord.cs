using Pinhole.Codecs;
using Pinhole.Membership.Internal;

namespace Pinhole.Membership;

/// <summary>
/// An admin or issuer voids every credential of a PeerId issued at or before <see cref="Threshold"/>: memberships, and
/// the provisional membership of an invite. Naming the PeerId and a time, never a certificate or record hash, means
/// no re-encoding or re-signing of an old credential escapes it. Revoking an invite key's PeerId voids the invite.
/// </summary>
/// <remarks>
/// Domain <c>pinhole-revocation-v1</c>, payload type <c>/pinhole/revocation/1</c>:
/// <code>
/// Revocation = 0x0a 0x20 network[32]      field 1: NetworkId
///              0x12 varint(len) peer      field 2: PeerId multihash (a member or an invite key)
///              0x18 varint threshold      field 3: Unix seconds; credentials issued at or before it are void
///              0x20 varint issued_at      field 4: Unix seconds
///              0x2a varint(len) reason    field 5: UTF-8, 0..256 bytes, optional
/// </code>
/// </remarks>
public sealed class RevocationRecord : NetworkRecord
{
    private const string What = "Revocation";

    private RevocationRecord(SignedEnvelope envelope, RecordId id, NetworkId network, PeerId peer, DateTimeOffset threshold, DateTimeOffset issuedAt, string reason)
        : base(RecordKind.Revocation, [envelope], id)
    {
        Network = network;
        Peer = peer;
        Threshold = threshold;
        IssuedAt = issuedAt;
        Reason = reason;
        Issuer = envelope.Signer;
    }

    /// <inheritdoc/>
    public override NetworkId Network { get; }

    /// <summary>The revoked PeerId.</summary>
    public PeerId Peer { get; }

    /// <summary>Credentials of <see cref="Peer"/> issued at or before this time are void (re-admit with one issued later).</summary>
    public DateTimeOffset Threshold { get; }

    /// <summary>When it was signed.</summary>
    public DateTimeOffset IssuedAt { get; }

    /// <summary>Why (free text, may be empty).</summary>
    public string Reason { get; }

    /// <summary>The admin or issuer that signed it.</summary>
    public PeerId Issuer { get; }

    /// <summary>No credential issued before the threshold lives longer than the longest membership, so nothing it voids is left after that.</summary>
    public override DateTimeOffset? Obsolete => Threshold + RecordFormat.MaxMembershipLifetime;

    /// <inheritdoc/>
    public override ReadOnlyMemory<byte> Subject => Peer.Multihash;

    /// <summary>Signs a revocation.</summary>
    public static RevocationRecord Issue(NodeIdentity issuer, NetworkId network, PeerId peer, DateTimeOffset threshold, DateTimeOffset issuedAt, string reason = "")
    {
        ArgumentNullException.ThrowIfNull(issuer);
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(peer);
        ArgumentNullException.ThrowIfNull(reason);
        var writer = new ProtobufWriter();
        writer.WriteBytes(1, network.Bytes.Span);
        writer.WriteBytes(2, peer.Multihash.Span);
        writer.WriteVarint(3, UnixTime.From(threshold));
        writer.WriteVarint(4, UnixTime.From(issuedAt));
        if (reason.Length > 0)
        {
            writer.WriteString(5, RecordFormat.CheckText(reason, RecordFormat.MaxReasonBytes, allowEmpty: true, What, "reason"));
        }
        return Build(SignedEnvelope.Seal(issuer, RecordFormat.RevocationDomain, RecordFormat.RevocationType, writer.WrittenSpan));
    }

    internal static RevocationRecord FromEnvelopes(IReadOnlyList<ReadOnlyMemory<byte>> encoded) =>
        Build(RecordFormat.OpenSingle(encoded, RecordFormat.RevocationDomain, RecordFormat.RevocationType, What));

    private static RevocationRecord Build(SignedEnvelope envelope)
    {
        var reader = new ProtobufReader(envelope.Payload.Span);
        var fields = new FieldTracker(What);
        NetworkId? network = null;
        PeerId? peer = null;
        ulong threshold = 0, issued = 0;
        var reason = "";
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
                    peer = RecordFormat.ReadPeer(reader.ReadBytes(), What, "peer");
                    break;
                case 3:
                    fields.Once(3);
                    threshold = UnixTime.Check(reader.ReadVarint(), What, "threshold");
                    break;
                case 4:
                    fields.Once(4);
                    issued = UnixTime.Check(reader.ReadVarint(), What, "issued_at");
                    break;
                case 5:
                    fields.Once(5);
                    reason = RecordFormat.CheckText(reader.ReadString(), RecordFormat.MaxReasonBytes, allowEmpty: true, What, "reason");
                    break;
                default:
                    throw fields.Unknown(reader.FieldNumber);
            }
        }
        fields.Require(1, "network");
        fields.Require(2, "peer");
        fields.Require(3, "threshold");
        fields.Require(4, "issued_at");
        var id = RecordId.Compute((int)RecordKind.Revocation, envelope.Payload);
        return new RevocationRecord(envelope, id, network!, peer!, UnixTime.To(threshold), UnixTime.To(issued), reason);
    }
}
