namespace Pinhole.Nat;

/// <summary>
/// STUN attribute types this stack knows (RFC 8489 §18.3, RFC 8656 §18, RFC 5780 §7, RFC 8445 §16.1).
/// Types below 0x8000 are comprehension-required: a receiver that does not know one must reject the message.
/// </summary>
public static class StunAttributeType
{
    /// <summary>MAPPED-ADDRESS (RFC 8489 §14.1): the reflexive address, not obfuscated (old servers).</summary>
    public const ushort MappedAddress = 0x0001;
    /// <summary>CHANGE-REQUEST (RFC 5780 §7.2): ask the server to answer from its other IP and/or port.</summary>
    public const ushort ChangeRequest = 0x0003;
    /// <summary>USERNAME (RFC 8489 §14.3).</summary>
    public const ushort Username = 0x0006;
    /// <summary>MESSAGE-INTEGRITY (RFC 8489 §14.5): HMAC-SHA1.</summary>
    public const ushort MessageIntegrity = 0x0008;
    /// <summary>ERROR-CODE (RFC 8489 §14.8).</summary>
    public const ushort ErrorCode = 0x0009;
    /// <summary>UNKNOWN-ATTRIBUTES (RFC 8489 §14.9): in a 420 error, the types the server did not understand.</summary>
    public const ushort UnknownAttributes = 0x000A;
    /// <summary>CHANNEL-NUMBER (RFC 8656 §18.1).</summary>
    public const ushort ChannelNumber = 0x000C;
    /// <summary>LIFETIME (RFC 8656 §18.2): seconds.</summary>
    public const ushort Lifetime = 0x000D;
    /// <summary>XOR-PEER-ADDRESS (RFC 8656 §18.3).</summary>
    public const ushort XorPeerAddress = 0x0012;
    /// <summary>DATA (RFC 8656 §18.4).</summary>
    public const ushort Data = 0x0013;
    /// <summary>REALM (RFC 8489 §14.9).</summary>
    public const ushort Realm = 0x0014;
    /// <summary>NONCE (RFC 8489 §14.10).</summary>
    public const ushort Nonce = 0x0015;
    /// <summary>XOR-RELAYED-ADDRESS (RFC 8656 §18.5).</summary>
    public const ushort XorRelayedAddress = 0x0016;
    /// <summary>REQUESTED-ADDRESS-FAMILY (RFC 8656 §18.6).</summary>
    public const ushort RequestedAddressFamily = 0x0017;
    /// <summary>EVEN-PORT (RFC 8656 §18.7).</summary>
    public const ushort EvenPort = 0x0018;
    /// <summary>REQUESTED-TRANSPORT (RFC 8656 §18.8): protocol number, 17 = UDP.</summary>
    public const ushort RequestedTransport = 0x0019;
    /// <summary>DONT-FRAGMENT (RFC 8656 §18.9).</summary>
    public const ushort DontFragment = 0x001A;
    /// <summary>MESSAGE-INTEGRITY-SHA256 (RFC 8489 §14.6).</summary>
    public const ushort MessageIntegritySha256 = 0x001C;
    /// <summary>PASSWORD-ALGORITHM (RFC 8489 §14.12).</summary>
    public const ushort PasswordAlgorithm = 0x001D;
    /// <summary>USERHASH (RFC 8489 §14.4).</summary>
    public const ushort UserHash = 0x001E;
    /// <summary>XOR-MAPPED-ADDRESS (RFC 8489 §14.2): the reflexive address, XORed with the magic cookie.</summary>
    public const ushort XorMappedAddress = 0x0020;
    /// <summary>RESERVATION-TOKEN (RFC 8656 §18.10).</summary>
    public const ushort ReservationToken = 0x0022;
    /// <summary>PRIORITY (RFC 8445 §16.1).</summary>
    public const ushort Priority = 0x0024;
    /// <summary>USE-CANDIDATE (RFC 8445 §16.1).</summary>
    public const ushort UseCandidate = 0x0025;
    /// <summary>PADDING (RFC 5780 §7.6).</summary>
    public const ushort Padding = 0x0026;
    /// <summary>RESPONSE-PORT (RFC 5780 §7.5).</summary>
    public const ushort ResponsePort = 0x0027;
    /// <summary>PASSWORD-ALGORITHMS (RFC 8489 §14.11), comprehension-optional.</summary>
    public const ushort PasswordAlgorithms = 0x8002;
    /// <summary>ALTERNATE-DOMAIN (RFC 8489 §14.16).</summary>
    public const ushort AlternateDomain = 0x8003;
    /// <summary>SOFTWARE (RFC 8489 §14.14).</summary>
    public const ushort Software = 0x8022;
    /// <summary>ALTERNATE-SERVER (RFC 8489 §14.15).</summary>
    public const ushort AlternateServer = 0x8023;
    /// <summary>FINGERPRINT (RFC 8489 §14.7): CRC-32 of the message XOR 0x5354554E; always last.</summary>
    public const ushort Fingerprint = 0x8028;
    /// <summary>ICE-CONTROLLED (RFC 8445 §16.1).</summary>
    public const ushort IceControlled = 0x8029;
    /// <summary>ICE-CONTROLLING (RFC 8445 §16.1).</summary>
    public const ushort IceControlling = 0x802A;
    /// <summary>RESPONSE-ORIGIN (RFC 5780 §7.3): the address the response was sent from.</summary>
    public const ushort ResponseOrigin = 0x802B;
    /// <summary>OTHER-ADDRESS (RFC 5780 §7.4): the server's other IP and port, for behaviour discovery.</summary>
    public const ushort OtherAddress = 0x802C;

    /// <summary>True when a receiver must understand the attribute to process the message (type &lt; 0x8000).</summary>
    public static bool IsComprehensionRequired(ushort type) => type < 0x8000;

    /// <summary>True when this stack knows <paramref name="type"/> (every constant of this class).</summary>
    public static bool IsKnown(ushort type) => type switch
    {
        MappedAddress or ChangeRequest or Username or MessageIntegrity or ErrorCode or UnknownAttributes
            or ChannelNumber or Lifetime or XorPeerAddress or Data or Realm or Nonce or XorRelayedAddress
            or RequestedAddressFamily or EvenPort or RequestedTransport or DontFragment or MessageIntegritySha256
            or PasswordAlgorithm or UserHash or XorMappedAddress or ReservationToken or Priority or UseCandidate
            or Padding or ResponsePort or PasswordAlgorithms or AlternateDomain or Software or AlternateServer
            or Fingerprint or IceControlled or IceControlling or ResponseOrigin or OtherAddress => true,
        _ => false,
    };

    /// <summary>The RFC name of <paramref name="type"/>, or its hex value.</summary>
    public static string Name(ushort type) => type switch
    {
        MappedAddress => "MAPPED-ADDRESS",
        ChangeRequest => "CHANGE-REQUEST",
        Username => "USERNAME",
        MessageIntegrity => "MESSAGE-INTEGRITY",
        ErrorCode => "ERROR-CODE",
        UnknownAttributes => "UNKNOWN-ATTRIBUTES",
        ChannelNumber => "CHANNEL-NUMBER",
        Lifetime => "LIFETIME",
        XorPeerAddress => "XOR-PEER-ADDRESS",
        Data => "DATA",
        Realm => "REALM",
        Nonce => "NONCE",
        XorRelayedAddress => "XOR-RELAYED-ADDRESS",
        RequestedAddressFamily => "REQUESTED-ADDRESS-FAMILY",
        EvenPort => "EVEN-PORT",
        RequestedTransport => "REQUESTED-TRANSPORT",
        DontFragment => "DONT-FRAGMENT",
        MessageIntegritySha256 => "MESSAGE-INTEGRITY-SHA256",
        PasswordAlgorithm => "PASSWORD-ALGORITHM",
        UserHash => "USERHASH",
        XorMappedAddress => "XOR-MAPPED-ADDRESS",
        ReservationToken => "RESERVATION-TOKEN",
        Priority => "PRIORITY",
        UseCandidate => "USE-CANDIDATE",
        Padding => "PADDING",
        ResponsePort => "RESPONSE-PORT",
        PasswordAlgorithms => "PASSWORD-ALGORITHMS",
        AlternateDomain => "ALTERNATE-DOMAIN",
        Software => "SOFTWARE",
        AlternateServer => "ALTERNATE-SERVER",
        Fingerprint => "FINGERPRINT",
        IceControlled => "ICE-CONTROLLED",
        IceControlling => "ICE-CONTROLLING",
        ResponseOrigin => "RESPONSE-ORIGIN",
        OtherAddress => "OTHER-ADDRESS",
        _ => $"0x{type:X4}",
    };
}
