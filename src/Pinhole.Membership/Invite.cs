using System.Net;
using Pinhole.Codecs;
using Pinhole.Membership.Internal;

namespace Pinhole.Membership;

/// <summary>
/// An admin-signed invitation: a fresh one-time key (whose private half travels only in the invite string, so the
/// coordinator cannot mint invites), where the coordinator is, and the provisional membership the redeemer gets
/// (addresses, groups, validity). Redeeming it binds a freshly generated node key (<see cref="RedemptionRecord"/>).
/// </summary>
/// <remarks>
/// Domain <c>pinhole-invite-v1</c>, payload type <c>/pinhole/invite/1</c>:
/// <code>
/// Invite = 0x0a 0x20 network[32]            field 1: NetworkId
///          0x12 varint(len) PublicKey       field 2: the one-time invite key (Ed25519, libp2p PublicKey protobuf)
///          0x1a varint(len) multiaddr       field 3, repeated 1..8: coordinator addresses, each ending /p2p/&lt;PeerId&gt;
///          0x22 0x04 ipv4[4]                field 4: the redeemer's virtual IPv4 address, optional
///          0x2a 0x10 ipv6[16]               field 5: the redeemer's virtual IPv6 address, optional (at least one)
///          0x32 varint(len) group           field 6, repeated 0..32
///          0x38 varint issued_at            field 7: Unix seconds
///          0x40 varint redeem_by            field 8: Unix seconds, after issued_at, at most 30 days later
///          0x48 varint membership_not_after field 9: end of the provisional membership, at least redeem_by, at most 400 days after issued_at
/// invite id = RecordId over kind 256 and the payload (what a redemption names)
/// </code>
/// </remarks>
public sealed class Invite
{
    /// <summary>Most coordinator addresses an invite carries.</summary>
    public const int MaxCoordinators = 8;

    /// <summary>Longest time to redeem an invite.</summary>
    public static readonly TimeSpan MaxRedeemWindow = TimeSpan.FromDays(30);

    internal const int IdKind = 256;
    private const string What = "Invite";

    private Invite(SignedEnvelope envelope, NetworkId network, Libp2pPublicKey key, IReadOnlyList<Multiaddr> coordinators, IPAddress? ipv4, IPAddress? ipv6,
        IReadOnlyList<string> groups, DateTimeOffset issuedAt, DateTimeOffset redeemBy, DateTimeOffset membershipNotAfter)
    {
        Envelope = envelope;
        Network = network;
        Key = key;
        Coordinators = coordinators;
        Ipv4 = ipv4;
        Ipv6 = ipv6;
        Groups = groups;
        IssuedAt = issuedAt;
        RedeemBy = redeemBy;
        MembershipNotAfter = membershipNotAfter;
        Id = RecordId.Compute(IdKind, envelope.Payload);
        KeyId = key.PeerId;
        Issuer = envelope.Signer;
    }

    /// <summary>The signed envelope.</summary>
    public SignedEnvelope Envelope { get; }

    /// <summary>The invite's id (what a redemption names).</summary>
    public RecordId Id { get; }

    /// <summary>The network.</summary>
    public NetworkId Network { get; }

    /// <summary>The one-time invite public key.</summary>
    public Libp2pPublicKey Key { get; }

    /// <summary>The invite key's PeerId (revoking it voids the invite).</summary>
    public PeerId KeyId { get; }

    /// <summary>Where the coordinator listens; each address ends in <c>/p2p/&lt;coordinator PeerId&gt;</c>.</summary>
    public IReadOnlyList<Multiaddr> Coordinators { get; }

    /// <summary>The redeemer's virtual IPv4 address.</summary>
    public IPAddress? Ipv4 { get; }

    /// <summary>The redeemer's virtual IPv6 address.</summary>
    public IPAddress? Ipv6 { get; }

    /// <summary>The redeemer's groups.</summary>
    public IReadOnlyList<string> Groups { get; }

    /// <summary>When it was signed (the provisional membership's issue and start time).</summary>
    public DateTimeOffset IssuedAt { get; }

    /// <summary>The last moment it may be redeemed.</summary>
    public DateTimeOffset RedeemBy { get; }

    /// <summary>End of the provisional membership it grants (an admin renews with a <see cref="MembershipRecord"/>).</summary>
    public DateTimeOffset MembershipNotAfter { get; }

    /// <summary>The admin or issuer that signed it.</summary>
    public PeerId Issuer { get; }

    /// <summary>Signs an invite for the one-time key <paramref name="inviteKey"/>.</summary>
    public static Invite Create(NodeIdentity issuer, NetworkId network, Libp2pPublicKey inviteKey, IEnumerable<Multiaddr> coordinators,
        IPAddress? ipv4, IPAddress? ipv6, IEnumerable<string> groups, DateTimeOffset issuedAt, DateTimeOffset redeemBy, DateTimeOffset membershipNotAfter)
    {
        ArgumentNullException.ThrowIfNull(issuer);
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(inviteKey);
        ArgumentNullException.ThrowIfNull(coordinators);
        ArgumentNullException.ThrowIfNull(groups);
        var writer = new ProtobufWriter();
        writer.WriteBytes(1, network.Bytes.Span);
        writer.WriteBytes(2, inviteKey.Encoded.Span);
        foreach (var address in coordinators)
        {
            writer.WriteBytes(3, address.Bytes.Span);
        }
        MembershipRecord.WriteAddresses(writer, ipv4, ipv6, 4, 5);
        foreach (var group in groups)
        {
            writer.WriteString(6, group);
        }
        writer.WriteVarint(7, UnixTime.From(issuedAt));
        writer.WriteVarint(8, UnixTime.From(redeemBy));
        writer.WriteVarint(9, UnixTime.From(membershipNotAfter));
        var envelope = SignedEnvelope.Seal(issuer, RecordFormat.InviteDomain, RecordFormat.InviteType, writer.WrittenSpan);
        try
        {
            return Build(envelope);
        }
        catch (FormatException e)
        {
            throw new ArgumentException(e.Message, e);
        }
    }

    /// <summary>Decodes and verifies an invite envelope (signature and structure; whether the signer may invite is the network's to say).</summary>
    public static Invite Open(ReadOnlySpan<byte> envelope) => Build(EnvelopeVerifier.Open(envelope, RecordFormat.InviteDomain, RecordFormat.InviteType, What));

    private static Invite Build(SignedEnvelope envelope)
    {
        var reader = new ProtobufReader(envelope.Payload.Span);
        var fields = new FieldTracker(What);
        NetworkId? network = null;
        Libp2pPublicKey? key = null;
        var coordinators = new List<Multiaddr>();
        IPAddress? ipv4 = null, ipv6 = null;
        var groups = new List<string>();
        ulong issued = 0, redeemBy = 0, notAfter = 0;
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
                    key = RecordFormat.ReadKey(reader.ReadBytes(), What, "invite key");
                    if (key.Type != Libp2pKeyType.Ed25519)
                    {
                        throw new FormatException($"{What}: the invite key must be Ed25519, not {key.Type}.");
                    }
                    break;
                case 3:
                    fields.Repeated(3);
                    if (coordinators.Count == MaxCoordinators)
                    {
                        throw new FormatException($"{What}: more than {MaxCoordinators} coordinator addresses.");
                    }
                    coordinators.Add(ReadCoordinator(reader.ReadBytes()));
                    break;
                case 4:
                    fields.Once(4);
                    ipv4 = RecordFormat.ReadAddress(reader.ReadBytes(), 4, What, "ipv4");
                    break;
                case 5:
                    fields.Once(5);
                    ipv6 = RecordFormat.ReadAddress(reader.ReadBytes(), 16, What, "ipv6");
                    break;
                case 6:
                    fields.Repeated(6);
                    if (groups.Count == RecordFormat.MaxGroups)
                    {
                        throw new FormatException($"{What}: more than {RecordFormat.MaxGroups} groups.");
                    }
                    groups.Add(reader.ReadString());
                    break;
                case 7:
                    fields.Once(7);
                    issued = UnixTime.Check(reader.ReadVarint(), What, "issued_at");
                    break;
                case 8:
                    fields.Once(8);
                    redeemBy = UnixTime.Check(reader.ReadVarint(), What, "redeem_by");
                    break;
                case 9:
                    fields.Once(9);
                    notAfter = UnixTime.Check(reader.ReadVarint(), What, "membership_not_after");
                    break;
                default:
                    throw fields.Unknown(reader.FieldNumber);
            }
        }
        fields.Require(1, "network");
        fields.Require(2, "invite key");
        fields.Require(3, "coordinator");
        fields.Require(7, "issued_at");
        fields.Require(8, "redeem_by");
        fields.Require(9, "membership_not_after");
        if (ipv4 is null && ipv6 is null)
        {
            throw new FormatException($"{What}: at least one virtual address (ipv4, ipv6) is required.");
        }
        if (redeemBy <= issued || redeemBy - issued > (ulong)MaxRedeemWindow.TotalSeconds)
        {
            throw new FormatException($"{What}: redeem_by must be after issued_at and at most {MaxRedeemWindow.TotalDays:0} days later.");
        }
        if (notAfter < redeemBy)
        {
            throw new FormatException($"{What}: membership_not_after must not be before redeem_by.");
        }
        MembershipRecord.CheckWindow(issued, notAfter, What);
        if (key!.PeerId.Equals(envelope.Signer))
        {
            throw new FormatException($"{What}: the invite key cannot sign its own invite.");
        }
        return new Invite(envelope, network!, key, coordinators.AsReadOnly(), ipv4, ipv6, RecordFormat.CheckGroups(groups, What),
            UnixTime.To(issued), UnixTime.To(redeemBy), UnixTime.To(notAfter));
    }

    private static Multiaddr ReadCoordinator(ReadOnlySpan<byte> bytes)
    {
        if (!Multiaddr.TryFromBytes(bytes, out var address))
        {
            throw new FormatException($"{What}: a coordinator address is not a valid multiaddr.");
        }
        if (!address.TryGetPeerId(out _))
        {
            throw new FormatException($"{What}: coordinator address {address} does not end in /p2p/<PeerId>.");
        }
        return address;
    }
}
