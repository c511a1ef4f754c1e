using System.Net;
using Pinhole.Codecs;
using Pinhole.Membership.Internal;

namespace Pinhole.Membership;

/// <summary>
/// An admin or issuer grants a PeerId membership: virtual addresses, groups and a validity window. The signer is the
/// issuer. Nodes accept it only while the signer is in the network's current admin set, inside the window (with the
/// clock-skew tolerance), and unless a revocation for the peer has a threshold at or after <see cref="IssuedAt"/>.
/// </summary>
/// <remarks>
/// Domain <c>pinhole-membership-v1</c>, payload type <c>/pinhole/membership/1</c>:
/// <code>
/// Membership = 0x0a 0x20 network[32]       field 1: NetworkId
///              0x12 varint(len) peer       field 2: PeerId multihash
///              0x1a 0x04 ipv4[4]           field 3: virtual IPv4 address, optional
///              0x22 0x10 ipv6[16]          field 4: virtual IPv6 address, optional (at least one of 3, 4)
///              0x2a varint(len) group      field 5, repeated 0..32: [A-Za-z0-9._-]{1,64}
///              0x30 varint not_before      field 6: Unix seconds
///              0x38 varint not_after       field 7: Unix seconds, after not_before, at most 400 days later
///              0x40 varint issued_at       field 8: Unix seconds (compared with revocation thresholds)
/// </code>
/// </remarks>
public sealed class MembershipRecord : NetworkRecord
{
    private const string What = "Membership";

    private MembershipRecord(SignedEnvelope envelope, RecordId id, NetworkId network, PeerId peer, IPAddress? ipv4, IPAddress? ipv6,
        IReadOnlyList<string> groups, DateTimeOffset notBefore, DateTimeOffset notAfter, DateTimeOffset issuedAt)
        : base(RecordKind.Membership, [envelope], id)
    {
        Network = network;
        Peer = peer;
        Ipv4 = ipv4;
        Ipv6 = ipv6;
        Groups = groups;
        NotBefore = notBefore;
        NotAfter = notAfter;
        IssuedAt = issuedAt;
        Issuer = envelope.Signer; // Derived once: a PeerId is a hash and a base58 string.
    }

    /// <inheritdoc/>
    public override NetworkId Network { get; }

    /// <summary>The member.</summary>
    public PeerId Peer { get; }

    /// <summary>The member's virtual IPv4 address.</summary>
    public IPAddress? Ipv4 { get; }

    /// <summary>The member's virtual IPv6 address.</summary>
    public IPAddress? Ipv6 { get; }

    /// <summary>Groups (sorted), for access policies.</summary>
    public IReadOnlyList<string> Groups { get; }

    /// <summary>Start of validity.</summary>
    public DateTimeOffset NotBefore { get; }

    /// <summary>End of validity.</summary>
    public DateTimeOffset NotAfter { get; }

    /// <summary>When it was issued.</summary>
    public DateTimeOffset IssuedAt { get; }

    /// <summary>The issuer (an admin or issuer key of the network).</summary>
    public PeerId Issuer { get; }

    /// <inheritdoc/>
    public override DateTimeOffset? Obsolete => NotAfter;

    /// <inheritdoc/>
    public override ReadOnlyMemory<byte> Subject => Peer.Multihash;

    /// <summary>Signs a membership for <paramref name="peer"/>.</summary>
    public static MembershipRecord Issue(NodeIdentity issuer, NetworkId network, PeerId peer, IPAddress? ipv4, IPAddress? ipv6,
        IEnumerable<string> groups, DateTimeOffset notBefore, DateTimeOffset notAfter, DateTimeOffset issuedAt)
    {
        ArgumentNullException.ThrowIfNull(issuer);
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(peer);
        ArgumentNullException.ThrowIfNull(groups);
        var writer = new ProtobufWriter();
        writer.WriteBytes(1, network.Bytes.Span);
        writer.WriteBytes(2, peer.Multihash.Span);
        WriteAddresses(writer, ipv4, ipv6, 3, 4);
        foreach (var group in groups)
        {
            writer.WriteString(5, group);
        }
        writer.WriteVarint(6, UnixTime.From(notBefore));
        writer.WriteVarint(7, UnixTime.From(notAfter));
        writer.WriteVarint(8, UnixTime.From(issuedAt));
        var envelope = SignedEnvelope.Seal(issuer, RecordFormat.MembershipDomain, RecordFormat.MembershipType, writer.WrittenSpan);
        try
        {
            return Build(envelope);
        }
        catch (FormatException e)
        {
            throw new ArgumentException(e.Message, e);
        }
    }

    internal static MembershipRecord FromEnvelopes(IReadOnlyList<ReadOnlyMemory<byte>> encoded) =>
        Build(RecordFormat.OpenSingle(encoded, RecordFormat.MembershipDomain, RecordFormat.MembershipType, What));

    private static MembershipRecord Build(SignedEnvelope envelope)
    {
        var reader = new ProtobufReader(envelope.Payload.Span);
        var fields = new FieldTracker(What);
        NetworkId? network = null;
        PeerId? peer = null;
        IPAddress? ipv4 = null, ipv6 = null;
        var groups = new List<string>();
        ulong notBefore = 0, notAfter = 0, issued = 0;
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
                    ipv4 = RecordFormat.ReadAddress(reader.ReadBytes(), 4, What, "ipv4");
                    break;
                case 4:
                    fields.Once(4);
                    ipv6 = RecordFormat.ReadAddress(reader.ReadBytes(), 16, What, "ipv6");
                    break;
                case 5:
                    fields.Repeated(5);
                    if (groups.Count == RecordFormat.MaxGroups)
                    {
                        throw new FormatException($"{What}: more than {RecordFormat.MaxGroups} groups.");
                    }
                    groups.Add(reader.ReadString());
                    break;
                case 6:
                    fields.Once(6);
                    notBefore = UnixTime.Check(reader.ReadVarint(), What, "not_before");
                    break;
                case 7:
                    fields.Once(7);
                    notAfter = UnixTime.Check(reader.ReadVarint(), What, "not_after");
                    break;
                case 8:
                    fields.Once(8);
                    issued = UnixTime.Check(reader.ReadVarint(), What, "issued_at");
                    break;
                default:
                    throw fields.Unknown(reader.FieldNumber);
            }
        }
        fields.Require(1, "network");
        fields.Require(2, "peer");
        fields.Require(6, "not_before");
        fields.Require(7, "not_after");
        fields.Require(8, "issued_at");
        if (ipv4 is null && ipv6 is null)
        {
            throw new FormatException($"{What}: at least one virtual address (ipv4, ipv6) is required.");
        }
        CheckWindow(notBefore, notAfter, What);
        var sorted = RecordFormat.CheckGroups(groups, What);
        var id = RecordId.Compute((int)RecordKind.Membership, envelope.Payload);
        return new MembershipRecord(envelope, id, network!, peer!, ipv4, ipv6, sorted, UnixTime.To(notBefore), UnixTime.To(notAfter), UnixTime.To(issued));
    }

    internal static void WriteAddresses(ProtobufWriter writer, IPAddress? ipv4, IPAddress? ipv6, int v4Field, int v6Field)
    {
        if (ipv4 is not null)
        {
            if (ipv4.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork)
            {
                throw new ArgumentException($"{ipv4} is not an IPv4 address.", nameof(ipv4));
            }
            writer.WriteBytes(v4Field, ipv4.GetAddressBytes());
        }
        if (ipv6 is not null)
        {
            if (ipv6.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6 || ipv6.ScopeId != 0)
            {
                throw new ArgumentException($"{ipv6} is not a global-scope IPv6 address.", nameof(ipv6));
            }
            writer.WriteBytes(v6Field, ipv6.GetAddressBytes());
        }
    }

    internal static void CheckWindow(ulong notBefore, ulong notAfter, string what)
    {
        if (notAfter <= notBefore)
        {
            throw new FormatException($"{what}: not_after must be after not_before.");
        }
        if (notAfter - notBefore > (ulong)RecordFormat.MaxMembershipLifetime.TotalSeconds)
        {
            throw new FormatException($"{what}: validity is longer than {RecordFormat.MaxMembershipLifetime.TotalDays:0} days.");
        }
    }
}
