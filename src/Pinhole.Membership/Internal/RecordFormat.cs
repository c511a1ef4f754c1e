using System.Text;

namespace Pinhole.Membership.Internal;

/// <summary>
/// Signing domain and payload type of every Pinhole record kind (libp2p RFC 0002). One domain per kind, so a
/// signature made for one kind can never be read as another; the domain is never sent.
/// </summary>
internal static class RecordFormat
{
    public const string GenesisDomain = "pinhole-genesis-v1";
    public const string AdminChangeDomain = "pinhole-admins-v1";
    public const string MembershipDomain = "pinhole-membership-v1";
    public const string RevocationDomain = "pinhole-revocation-v1";
    public const string InviteDomain = "pinhole-invite-v1";
    public const string RedemptionDomain = "pinhole-redemption-v1";
    public const string EndpointDomain = "pinhole-endpoint-v1";
    public const string RequestDomain = "pinhole-request-v1";

    public static readonly byte[] GenesisType = Encoding.ASCII.GetBytes("/pinhole/genesis/1");
    public static readonly byte[] AdminChangeType = Encoding.ASCII.GetBytes("/pinhole/admins/1");
    public static readonly byte[] MembershipType = Encoding.ASCII.GetBytes("/pinhole/membership/1");
    public static readonly byte[] RevocationType = Encoding.ASCII.GetBytes("/pinhole/revocation/1");
    public static readonly byte[] InviteType = Encoding.ASCII.GetBytes("/pinhole/invite/1");
    public static readonly byte[] RedemptionType = Encoding.ASCII.GetBytes("/pinhole/redemption/1");
    public static readonly byte[] EndpointType = Encoding.ASCII.GetBytes("/pinhole/endpoint/1");
    public static readonly byte[] RequestType = Encoding.ASCII.GetBytes("/pinhole/request/1");

    /// <summary>Longest name (network name) or group, in UTF-8 bytes.</summary>
    public const int MaxNameBytes = 64;

    /// <summary>Most groups on a membership or invite.</summary>
    public const int MaxGroups = 32;

    /// <summary>Longest revocation reason, in UTF-8 bytes.</summary>
    public const int MaxReasonBytes = 256;

    /// <summary>Longest membership (and provisional membership) lifetime.</summary>
    public static readonly TimeSpan MaxMembershipLifetime = TimeSpan.FromDays(400);

    /// <summary>Opens one envelope expected to be the only one of the record.</summary>
    public static SignedEnvelope OpenSingle(IReadOnlyList<ReadOnlyMemory<byte>> envelopes, string domain, byte[] type, string what)
    {
        if (envelopes.Count != 1)
        {
            throw new FormatException($"{what}: expected 1 envelope, got {envelopes.Count}.");
        }
        return EnvelopeVerifier.Open(envelopes[0].Span, domain, type, what);
    }

    /// <summary>
    /// Opens an admin-signed record: every envelope verifies for the domain, all carry the same payload, and no key
    /// signs twice (so a threshold counts distinct admins).
    /// </summary>
    public static List<SignedEnvelope> OpenMultiSigned(IReadOnlyList<ReadOnlyMemory<byte>> envelopes, string domain, byte[] type, string what)
    {
        var opened = new List<SignedEnvelope>(envelopes.Count);
        foreach (var encoded in envelopes)
        {
            var envelope = EnvelopeVerifier.Open(encoded.Span, domain, type, what);
            if (opened.Count > 0 && !envelope.Payload.Span.SequenceEqual(opened[0].Payload.Span))
            {
                throw new FormatException($"{what}: the envelopes sign different payloads.");
            }
            if (opened.Exists(e => e.Signer.Equals(envelope.Signer)))
            {
                throw new FormatException($"{what}: {envelope.Signer} signs more than once.");
            }
            opened.Add(envelope);
        }
        return opened;
    }

    /// <summary>A group name: 1-64 characters of [A-Za-z0-9._-].</summary>
    public static string CheckGroup(string group, string what)
    {
        if (group.Length is 0 or > MaxNameBytes)
        {
            throw new FormatException($"{what}: group '{group}' must be 1 to {MaxNameBytes} characters.");
        }
        foreach (var c in group)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
            {
                throw new FormatException($"{what}: group '{group}' may contain only letters, digits, '.', '_' and '-'.");
            }
        }
        return group;
    }

    /// <summary>Checks a list of groups (count, syntax, no duplicates) and returns it sorted.</summary>
    public static IReadOnlyList<string> CheckGroups(IEnumerable<string> groups, string what)
    {
        var list = new List<string>();
        foreach (var group in groups)
        {
            if (list.Count == MaxGroups)
            {
                throw new FormatException($"{what}: more than {MaxGroups} groups.");
            }
            CheckGroup(group, what);
            if (list.Contains(group, StringComparer.Ordinal))
            {
                throw new FormatException($"{what}: group '{group}' is listed twice.");
            }
            list.Add(group);
        }
        list.Sort(StringComparer.Ordinal);
        return list.AsReadOnly();
    }

    public static string CheckText(string text, int maxBytes, bool allowEmpty, string what, string field)
    {
        var length = Encoding.UTF8.GetByteCount(text);
        if ((length == 0 && !allowEmpty) || length > maxBytes)
        {
            throw new FormatException($"{what}: {field} must be {(allowEmpty ? 0 : 1)} to {maxBytes} bytes of UTF-8.");
        }
        foreach (var c in text)
        {
            if (char.IsControl(c))
            {
                throw new FormatException($"{what}: {field} contains a control character.");
            }
        }
        return text;
    }

    public static PeerId ReadPeer(ReadOnlySpan<byte> multihash, string what, string field)
    {
        try
        {
            return PeerId.FromMultihash(multihash);
        }
        catch (FormatException e)
        {
            throw new FormatException($"{what}: {field} is not a PeerId: {e.Message}", e);
        }
    }

    public static Libp2pPublicKey ReadKey(ReadOnlySpan<byte> encoded, string what, string field)
    {
        try
        {
            return Libp2pPublicKey.Decode(encoded);
        }
        catch (FormatException e)
        {
            throw new FormatException($"{what}: {field} is not a libp2p public key: {e.Message}", e);
        }
    }

    public static NetworkId ReadNetwork(ReadOnlySpan<byte> bytes, string what)
    {
        if (bytes.Length != RecordId.Length)
        {
            throw new FormatException($"{what}: network id is {bytes.Length} bytes, expected {RecordId.Length}.");
        }
        return NetworkId.FromBytes(bytes);
    }

    public static System.Net.IPAddress ReadAddress(ReadOnlySpan<byte> bytes, int length, string what, string field) => bytes.Length == length
        ? new System.Net.IPAddress(bytes)
        : throw new FormatException($"{what}: {field} is {bytes.Length} bytes, expected {length}.");
}
