using System.Collections.Frozen;

namespace Pinhole.Codecs;

/// <summary>
/// The multiaddr protocols Pinhole understands, with their multicodec codes
/// (multiformats/multicodec table.csv). Unknown names and codes are rejected: a multiaddr with a
/// component we cannot size cannot be decoded past that component.
/// </summary>
internal static class MultiaddrProtocols
{
    public static readonly MultiaddrProtocol Ip4 = new("ip4", 0x04, MultiaddrValueKind.Ip4);
    public static readonly MultiaddrProtocol Tcp = new("tcp", 0x06, MultiaddrValueKind.Port);
    public static readonly MultiaddrProtocol Ip6 = new("ip6", 0x29, MultiaddrValueKind.Ip6);
    public static readonly MultiaddrProtocol Ip6Zone = new("ip6zone", 0x2a, MultiaddrValueKind.Name);
    public static readonly MultiaddrProtocol Dns = new("dns", 0x35, MultiaddrValueKind.Name);
    public static readonly MultiaddrProtocol Dns4 = new("dns4", 0x36, MultiaddrValueKind.Name);
    public static readonly MultiaddrProtocol Dns6 = new("dns6", 0x37, MultiaddrValueKind.Name);
    public static readonly MultiaddrProtocol DnsAddr = new("dnsaddr", 0x38, MultiaddrValueKind.Name);
    public static readonly MultiaddrProtocol Udp = new("udp", 0x0111, MultiaddrValueKind.Port);
    public static readonly MultiaddrProtocol P2pCircuit = new("p2p-circuit", 0x0122, MultiaddrValueKind.None);
    public static readonly MultiaddrProtocol Unix = new("unix", 0x0190, MultiaddrValueKind.UnixPath);
    public static readonly MultiaddrProtocol P2p = new("p2p", 0x01a5, MultiaddrValueKind.PeerId);
    public static readonly MultiaddrProtocol Tls = new("tls", 0x01c0, MultiaddrValueKind.None);
    public static readonly MultiaddrProtocol Sni = new("sni", 0x01c1, MultiaddrValueKind.Name);
    public static readonly MultiaddrProtocol Noise = new("noise", 0x01c6, MultiaddrValueKind.None);
    public static readonly MultiaddrProtocol Quic = new("quic", 0x01cc, MultiaddrValueKind.None);
    public static readonly MultiaddrProtocol QuicV1 = new("quic-v1", 0x01cd, MultiaddrValueKind.None);
    public static readonly MultiaddrProtocol WebTransport = new("webtransport", 0x01d1, MultiaddrValueKind.None);
    public static readonly MultiaddrProtocol Certhash = new("certhash", 0x01d2, MultiaddrValueKind.Certhash);
    public static readonly MultiaddrProtocol Ws = new("ws", 0x01dd, MultiaddrValueKind.None);
    public static readonly MultiaddrProtocol Wss = new("wss", 0x01de, MultiaddrValueKind.None);

    /// <summary>Every supported protocol.</summary>
    public static readonly IReadOnlyList<MultiaddrProtocol> All =
    [
        Ip4, Tcp, Ip6, Ip6Zone, Dns, Dns4, Dns6, DnsAddr, Udp, P2pCircuit, Unix, P2p,
        Tls, Sni, Noise, Quic, QuicV1, WebTransport, Certhash, Ws, Wss,
    ];

    private static readonly FrozenDictionary<string, MultiaddrProtocol> ByName = BuildByName();
    private static readonly FrozenDictionary<int, MultiaddrProtocol> ByCode = All.ToFrozenDictionary(p => p.Code);

    private static FrozenDictionary<string, MultiaddrProtocol> BuildByName()
    {
        var names = All.ToDictionary(p => p.Name, StringComparer.Ordinal);
        names["ipfs"] = P2p; // the old name of /p2p: accepted on input, never printed
        return names.ToFrozenDictionary(StringComparer.Ordinal);
    }

    /// <summary>Finds a protocol by text name (case-sensitive, as in every multiaddr implementation).</summary>
    public static bool TryGetByName(ReadOnlySpan<char> name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out MultiaddrProtocol? protocol)
        => ByName.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(name, out protocol);

    /// <summary>Finds a protocol by multicodec code.</summary>
    public static bool TryGetByCode(ulong code, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out MultiaddrProtocol? protocol)
    {
        protocol = null;
        return code <= int.MaxValue && ByCode.TryGetValue((int)code, out protocol);
    }
}
