using Pinhole.Codecs;
using Pinhole.Membership.Internal;

namespace Pinhole.Membership;

/// <summary>
/// A redeemed invite: the admin-signed <see cref="Invite"/> and the redemption, signed by the invite's one-time key,
/// that binds a freshly generated node key. Together they are a provisional membership that every node can check
/// without trusting the coordinator. Two redemptions of one invite under different PeerIds are an equivocation, and
/// nodes that see both reject both, whatever the coordinator says.
/// </summary>
/// <remarks>
/// The record's envelopes are the invite envelope, then the redemption envelope. Domain <c>pinhole-redemption-v1</c>,
/// payload type <c>/pinhole/redemption/1</c>:
/// <code>
/// Redemption = 0x0a 0x20 network[32]      field 1: NetworkId
///              0x12 0x20 invite[32]       field 2: the invite's id
///              0x1a varint(len) peer      field 3: PeerId multihash of the new node key
///              0x20 varint redeemed_at    field 4: Unix seconds, at most the invite's redeem_by
/// </code>
/// </remarks>
public sealed class RedemptionRecord : NetworkRecord
{
    private const string What = "Redemption";

    private RedemptionRecord(Invite invite, SignedEnvelope redemption, RecordId id, PeerId peer, DateTimeOffset redeemedAt)
        : base(RecordKind.Redemption, [invite.Envelope, redemption], id)
    {
        Invite = invite;
        Peer = peer;
        RedeemedAt = redeemedAt;
    }

    /// <inheritdoc/>
    public override NetworkId Network => Invite.Network;

    /// <summary>The invite.</summary>
    public Invite Invite { get; }

    /// <summary>The node key the invite was redeemed for.</summary>
    public PeerId Peer { get; }

    /// <summary>When it was redeemed (as the redeemer says; the coordinator also checks its own clock).</summary>
    public DateTimeOffset RedeemedAt { get; }

    /// <inheritdoc/>
    public override DateTimeOffset? Obsolete => Invite.MembershipNotAfter;

    /// <inheritdoc/>
    public override ReadOnlyMemory<byte> Subject => Invite.KeyId.Multihash;

    /// <summary>Redeems <paramref name="invite"/> for <paramref name="peer"/>, signing with the invite key.</summary>
    public static RedemptionRecord Create(Invite invite, NodeIdentity inviteKey, PeerId peer, DateTimeOffset redeemedAt)
    {
        ArgumentNullException.ThrowIfNull(invite);
        ArgumentNullException.ThrowIfNull(inviteKey);
        ArgumentNullException.ThrowIfNull(peer);
        if (!inviteKey.PublicKey.Equals(invite.Key))
        {
            throw new ArgumentException("The key does not belong to this invite.", nameof(inviteKey));
        }
        var writer = new ProtobufWriter();
        writer.WriteBytes(1, invite.Network.Bytes.Span);
        writer.WriteBytes(2, invite.Id.Span);
        writer.WriteBytes(3, peer.Multihash.Span);
        writer.WriteVarint(4, UnixTime.From(redeemedAt));
        return Build(invite, SignedEnvelope.Seal(inviteKey, RecordFormat.RedemptionDomain, RecordFormat.RedemptionType, writer.WrittenSpan));
    }

    internal static RedemptionRecord FromEnvelopes(IReadOnlyList<ReadOnlyMemory<byte>> encoded)
    {
        if (encoded.Count != 2)
        {
            throw new FormatException($"{What}: expected 2 envelopes (invite, redemption), got {encoded.Count}.");
        }
        var invite = Invite.Open(encoded[0].Span);
        var redemption = EnvelopeVerifier.Open(encoded[1].Span, RecordFormat.RedemptionDomain, RecordFormat.RedemptionType, What);
        return Build(invite, redemption);
    }

    private static RedemptionRecord Build(Invite invite, SignedEnvelope envelope)
    {
        var reader = new ProtobufReader(envelope.Payload.Span);
        var fields = new FieldTracker(What);
        NetworkId? network = null;
        RecordId inviteId = default;
        PeerId? peer = null;
        ulong redeemed = 0;
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
                    var bytes = reader.ReadBytes();
                    if (bytes.Length != RecordId.Length)
                    {
                        throw new FormatException($"{What}: invite id is {bytes.Length} bytes, expected {RecordId.Length}.");
                    }
                    inviteId = RecordId.FromBytes(bytes);
                    break;
                case 3:
                    fields.Once(3);
                    peer = RecordFormat.ReadPeer(reader.ReadBytes(), What, "peer");
                    break;
                case 4:
                    fields.Once(4);
                    redeemed = UnixTime.Check(reader.ReadVarint(), What, "redeemed_at");
                    break;
                default:
                    throw fields.Unknown(reader.FieldNumber);
            }
        }
        fields.Require(1, "network");
        fields.Require(2, "invite");
        fields.Require(3, "peer");
        fields.Require(4, "redeemed_at");
        if (!envelope.PublicKey.Equals(invite.Key))
        {
            throw new MembershipException(MembershipError.BadSignature, $"{What}: signed by {envelope.Signer}, not by the invite key {invite.KeyId}.");
        }
        if (!network!.Equals(invite.Network))
        {
            throw new MembershipException(MembershipError.WrongNetwork, $"{What}: names network {network}, the invite is for {invite.Network}.");
        }
        if (inviteId != invite.Id)
        {
            throw new FormatException($"{What}: names invite {inviteId.ToShortString()}, but carries invite {invite.Id.ToShortString()}.");
        }
        if (peer!.Equals(invite.KeyId) || peer.Equals(invite.Issuer))
        {
            throw new FormatException($"{What}: the node key must be a fresh key, not the invite key or the issuer.");
        }
        var id = RecordId.Compute((int)RecordKind.Redemption, invite.Envelope.Payload, envelope.Payload);
        return new RedemptionRecord(invite, envelope, id, peer, UnixTime.To(redeemed));
    }
}
