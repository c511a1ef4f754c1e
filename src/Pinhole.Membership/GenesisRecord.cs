using System.Net;
using System.Security.Cryptography;
using Pinhole.Codecs;
using Pinhole.Membership.Internal;

namespace Pinhole.Membership;

/// <summary>
/// A network's first record: its name, first admin set and virtual address prefixes, signed by a threshold of those
/// admins. Its <see cref="NetworkRecord.Id"/> is the <see cref="NetworkId"/>, so the genesis a coordinator serves
/// can be checked against the id in an invite, and no coordinator can substitute another.
/// </summary>
/// <remarks>
/// Domain <c>pinhole-genesis-v1</c>, payload type <c>/pinhole/genesis/1</c>:
/// <code>
/// Genesis = 0x0a varint(len) name            field 1: UTF-8, 1..64 bytes
///           0x12 varint(len) PublicKey       field 2, repeated 1..16: admin keys (libp2p PublicKey protobuf)
///           0x18 varint threshold            field 3: 1..admins
///           0x22 varint(len) PublicKey       field 4, repeated 0..16: issuer keys
///           0x2a 0x05 addr[4] prefix_len     field 5: IPv4 prefix (/8../30), optional
///           0x32 0x11 addr[16] prefix_len    field 6: IPv6 prefix (/8../120), optional; at least one of 5, 6
///           0x38 varint created_at           field 7: Unix seconds
///           0x42 0x10 nonce[16]              field 8: random, so two networks with equal settings differ
/// </code>
/// </remarks>
public sealed class GenesisRecord : NetworkRecord
{
    private const string What = "Genesis";
    private const int NonceLength = 16;

    private GenesisRecord(IReadOnlyList<SignedEnvelope> envelopes, RecordId id, string name, AdminSet admins, IPNetwork? ipv4, IPNetwork? ipv6, DateTimeOffset createdAt)
        : base(RecordKind.Genesis, envelopes, id)
    {
        Network = NetworkId.FromRecordId(id);
        Name = name;
        Admins = admins;
        Ipv4Prefix = ipv4;
        Ipv6Prefix = ipv6;
        CreatedAt = createdAt;
    }

    /// <inheritdoc/>
    public override NetworkId Network { get; }

    /// <summary>The network's human name (not unique; the id is).</summary>
    public string Name { get; }

    /// <summary>The first admin set.</summary>
    public AdminSet Admins { get; }

    /// <summary>The IPv4 prefix members' addresses come from.</summary>
    public IPNetwork? Ipv4Prefix { get; }

    /// <summary>The IPv6 prefix members' addresses come from.</summary>
    public IPNetwork? Ipv6Prefix { get; }

    /// <summary>When the network was made.</summary>
    public DateTimeOffset CreatedAt { get; }

    /// <summary>The signed payload.</summary>
    public ReadOnlyMemory<byte> Payload => Envelopes[0].Payload;

    /// <inheritdoc/>
    public override DateTimeOffset? Obsolete => null;

    /// <inheritdoc/>
    public override ReadOnlyMemory<byte> Subject => ReadOnlyMemory<byte>.Empty;

    /// <summary>
    /// Makes a genesis record signed by <paramref name="signers"/>, which must be admins of <paramref name="admins"/>
    /// and at least its threshold.
    /// </summary>
    public static GenesisRecord Create(string name, AdminSet admins, IPNetwork? ipv4, IPNetwork? ipv6, DateTimeOffset createdAt, IReadOnlyList<NodeIdentity> signers)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(admins);
        ArgumentNullException.ThrowIfNull(signers);
        RecordFormat.CheckText(name, RecordFormat.MaxNameBytes, allowEmpty: false, What, "name");
        CheckPrefixes(ipv4, ipv6, What, argument: true);
        var writer = new ProtobufWriter();
        writer.WriteString(1, name);
        admins.Write(writer, 2, 3, 4);
        if (ipv4 is { } v4)
        {
            writer.WriteBytes(5, EncodePrefix(v4));
        }
        if (ipv6 is { } v6)
        {
            writer.WriteBytes(6, EncodePrefix(v6));
        }
        writer.WriteVarint(7, UnixTime.From(createdAt));
        writer.WriteBytes(8, RandomNumberGenerator.GetBytes(NonceLength));
        var envelopes = signers.Select(s => SignedEnvelope.Seal(s, RecordFormat.GenesisDomain, RecordFormat.GenesisType, writer.WrittenSpan)).ToList();
        return Build(envelopes);
    }

    internal static GenesisRecord FromEnvelopes(IReadOnlyList<ReadOnlyMemory<byte>> encoded) =>
        Build(RecordFormat.OpenMultiSigned(encoded, RecordFormat.GenesisDomain, RecordFormat.GenesisType, What));

    private static GenesisRecord Build(List<SignedEnvelope> envelopes)
    {
        if (envelopes.Count == 0)
        {
            throw new ArgumentException("A genesis record needs at least one admin signature.", nameof(envelopes));
        }
        var payload = envelopes[0].Payload;
        var reader = new ProtobufReader(payload.Span);
        var fields = new FieldTracker(What);
        string name = "";
        ulong threshold = 0, created = 0;
        List<Libp2pPublicKey> admins = [], issuers = [];
        IPNetwork? ipv4 = null, ipv6 = null;
        while (reader.TryReadField())
        {
            switch (reader.FieldNumber)
            {
                case 1:
                    fields.Once(1);
                    name = RecordFormat.CheckText(reader.ReadString(), RecordFormat.MaxNameBytes, allowEmpty: false, What, "name");
                    break;
                case 2:
                    fields.Repeated(2);
                    AdminSet.AddKey(admins, reader.ReadBytes(), What, "admin key");
                    break;
                case 3:
                    fields.Once(3);
                    threshold = reader.ReadVarint();
                    break;
                case 4:
                    fields.Repeated(4);
                    AdminSet.AddKey(issuers, reader.ReadBytes(), What, "issuer key");
                    break;
                case 5:
                    fields.Once(5);
                    ipv4 = DecodePrefix(reader.ReadBytes(), 4, What);
                    break;
                case 6:
                    fields.Once(6);
                    ipv6 = DecodePrefix(reader.ReadBytes(), 16, What);
                    break;
                case 7:
                    fields.Once(7);
                    created = UnixTime.Check(reader.ReadVarint(), What, "created_at");
                    break;
                case 8:
                    fields.Once(8);
                    if (reader.ReadBytes().Length != NonceLength)
                    {
                        throw new FormatException($"{What}: nonce must be {NonceLength} bytes.");
                    }
                    break;
                default:
                    throw fields.Unknown(reader.FieldNumber);
            }
        }
        fields.Require(1, "name");
        fields.Require(2, "admin key");
        fields.Require(3, "threshold");
        fields.Require(7, "created_at");
        fields.Require(8, "nonce");
        CheckPrefixes(ipv4, ipv6, What, argument: false);
        var set = AdminSet.Read(admins, threshold, issuers, What);
        if (envelopes.Find(e => !set.IsAdmin(e.Signer)) is { } stranger)
        {
            throw new MembershipException(MembershipError.Unauthorized, $"{What}: signed by {stranger.Signer}, which is not one of its admins.");
        }
        if (envelopes.Count < set.Threshold)
        {
            throw new MembershipException(MembershipError.ThresholdNotMet, $"{What}: {envelopes.Count} admin signature(s), the threshold is {set.Threshold}.");
        }
        var id = RecordId.Compute((int)RecordKind.Genesis, payload);
        return new GenesisRecord(envelopes, id, name, set, ipv4, ipv6, UnixTime.To(created));
    }

    internal static byte[] EncodePrefix(IPNetwork prefix)
    {
        var address = prefix.BaseAddress.GetAddressBytes();
        return [.. address, (byte)prefix.PrefixLength];
    }

    internal static IPNetwork DecodePrefix(ReadOnlySpan<byte> bytes, int addressLength, string what)
    {
        var family = addressLength == 4 ? "IPv4" : "IPv6";
        if (bytes.Length != addressLength + 1)
        {
            throw new FormatException($"{what}: {family} prefix is {bytes.Length} bytes, expected {addressLength + 1}.");
        }
        var address = new IPAddress(bytes[..addressLength]);
        int length = bytes[addressLength];
        try
        {
            return new IPNetwork(address, length);
        }
        catch (ArgumentException e)
        {
            throw new FormatException($"{what}: {address}/{length} is not a valid {family} prefix (host bits set or length out of range).", e);
        }
    }

    private static void CheckPrefixes(IPNetwork? ipv4, IPNetwork? ipv6, string what, bool argument)
    {
        string? error = null;
        if (ipv4 is null && ipv6 is null)
        {
            error = "at least one address prefix (IPv4 or IPv6) is required";
        }
        else if (ipv4 is { } v4 && (v4.BaseAddress.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork || v4.PrefixLength is < 8 or > 30))
        {
            error = $"the IPv4 prefix {v4} must be an IPv4 prefix of length 8 to 30";
        }
        else if (ipv6 is { } v6 && (v6.BaseAddress.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6 || v6.PrefixLength is < 8 or > 120))
        {
            error = $"the IPv6 prefix {v6} must be an IPv6 prefix of length 8 to 120";
        }
        if (error is not null)
        {
            throw argument ? new ArgumentException($"{what}: {error}.") : new FormatException($"{what}: {error}.");
        }
    }
}
