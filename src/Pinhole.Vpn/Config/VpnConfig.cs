using System.Globalization;
using System.Net;
using System.Text;
using Pinhole.Vpn.Routing;

namespace Pinhole.Vpn.Config;

/// <summary>
/// A VPN without a coordinator, as a file (WireGuard's configuration format, with PeerIds for keys): one
/// [Interface] section, one [Peer] section per peer. Keys are case-insensitive; '#' starts a comment;
/// Address and AllowedIPs may repeat and take comma-separated lists. The node's key is not in the file: it
/// is the node identity (pinhole --home), and peers list its PeerId (pinhole id).
/// <code>
/// [Interface]
/// Name = pinhole0                 # optional (default pinhole0)
/// Address = 10.7.0.1/24, fd07::1/64
/// ListenPort = 51820              # optional (default: any free port)
/// MTU = 1420                      # optional (default 1423 = 1500 − 77)
/// DisableOffloads = tun-tso       # optional: tun-checksum, tun-tso, tun-uso, udp-gso, udp-gro, all
/// FwMark = 51820                  # optional; Table = 51820 for a full tunnel
///
/// [Peer]
/// PeerId = QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N
/// Name = laptop                   # optional
/// AllowedIPs = 10.7.0.2/32, fd07::2/128
/// Endpoint = 192.0.2.7:51820      # optional; host:port or [v6]:port
/// PersistentKeepalive = 25        # optional, seconds
/// </code>
/// </summary>
public sealed class VpnConfig
{
    /// <summary>Largest configuration file accepted.</summary>
    public const int MaxLength = 1 << 20;

    /// <summary>Interface name, or null for the default.</summary>
    public string? Name { get; private set; }

    /// <summary>Interface addresses.</summary>
    public IReadOnlyList<InterfaceAddress> Addresses => _addresses;

    /// <summary>UDP port (0 = any).</summary>
    public int ListenPort { get; private set; }

    /// <summary>TUN MTU, or null for the default.</summary>
    public int? Mtu { get; private set; }

    /// <summary>Offloads to try.</summary>
    public VpnOffloads Offloads { get; private set; } = VpnOffloads.All;

    /// <summary>Firewall mark of the UDP socket, or null.</summary>
    public uint? FirewallMark { get; private set; }

    /// <summary>Routing table of a full tunnel, or null for the default.</summary>
    public uint? Table { get; private set; }

    /// <summary>The peers.</summary>
    public IReadOnlyList<VpnConfigPeer> Peers => _peers;

    private readonly List<InterfaceAddress> _addresses = [];
    private readonly List<VpnConfigPeer> _peers = [];

    /// <summary>Parses a configuration file's UTF-8 bytes; throws <see cref="FormatException"/> naming the line.</summary>
    public static VpnConfig Parse(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length > MaxLength)
        {
            throw new FormatException($"A VPN configuration is at most {MaxLength} bytes; this one has {utf8.Length}.");
        }
        string text;
        try
        {
            text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(utf8);
        }
        catch (DecoderFallbackException e)
        {
            throw new FormatException("The VPN configuration is not valid UTF-8.", e);
        }
        return Parse(text);
    }

    /// <summary>Parses a configuration; throws <see cref="FormatException"/> naming the line.</summary>
    public static VpnConfig Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length > MaxLength)
        {
            throw new FormatException($"A VPN configuration is at most {MaxLength} characters.");
        }
        var config = new VpnConfig();
        string? section = null;
        bool sawInterface = false;
        VpnConfigPeer? peer = null;
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        int number = 0;
        foreach (string raw in text.Split('\n'))
        {
            number++;
            string line = raw;
            int hash = line.IndexOf('#', StringComparison.Ordinal);
            if (hash >= 0)
            {
                line = line[..hash];
            }
            line = line.Trim();
            if (line.Length == 0)
            {
                continue;
            }
            if (line[0] == '[')
            {
                if (line[^1] != ']')
                {
                    throw Error(number, $"'{line}' is not a section header.");
                }
                Finish(config, peer, number);
                peer = null;
                section = line[1..^1].Trim();
                seen.Clear();
                if (section.Equals("Interface", StringComparison.OrdinalIgnoreCase))
                {
                    if (sawInterface)
                    {
                        throw Error(number, "a second [Interface] section.");
                    }
                    sawInterface = true;
                    section = "Interface";
                }
                else if (section.Equals("Peer", StringComparison.OrdinalIgnoreCase))
                {
                    peer = new VpnConfigPeer { Line = number };
                    section = "Peer";
                }
                else
                {
                    throw Error(number, $"unknown section [{section}] (expected [Interface] or [Peer]).");
                }
                continue;
            }
            int equals = line.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw Error(number, $"'{line}' is not 'Key = Value'.");
            }
            string key = line[..equals].Trim();
            string value = line[(equals + 1)..].Trim();
            if (section is null)
            {
                throw Error(number, $"'{key}' before any [Interface] or [Peer] section.");
            }
            bool repeatable = key.Equals("Address", StringComparison.OrdinalIgnoreCase) || key.Equals("AllowedIPs", StringComparison.OrdinalIgnoreCase);
            if (!repeatable && !seen.Add(key))
            {
                throw Error(number, $"{key} is given twice in this section.");
            }
            if (section == "Interface")
            {
                config.SetInterface(key, value, number);
            }
            else
            {
                peer!.Set(key, value, number);
            }
        }
        Finish(config, peer, number);
        if (!sawInterface)
        {
            throw new FormatException("The VPN configuration has no [Interface] section.");
        }
        return config;
    }

    private static void Finish(VpnConfig config, VpnConfigPeer? peer, int line)
    {
        if (peer is null)
        {
            return;
        }
        if (peer.PeerId is null)
        {
            throw Error(peer.Line, "this [Peer] has no PeerId.");
        }
        if (config._peers.Any(p => p.PeerId!.Equals(peer.PeerId)))
        {
            throw Error(peer.Line, $"peer {peer.PeerId} is listed twice.");
        }
        config._peers.Add(peer);
        _ = line;
    }

    private void SetInterface(string key, string value, int line)
    {
        switch (key.ToUpperInvariant())
        {
            case "NAME":
                if (value.Length == 0 || Encoding.UTF8.GetByteCount(value) > 15 || value.Contains('/') || value.Any(char.IsWhiteSpace))
                {
                    throw Error(line, $"'{value}' is not an interface name (1..15 bytes, no '/' or spaces).");
                }
                Name = value;
                break;
            case "ADDRESS":
                foreach (string item in List(value))
                {
                    _addresses.Add(InterfaceAddress.TryParse(item, out InterfaceAddress address) ? address : throw Error(line, $"'{item}' is not an address like 10.7.0.1/24."));
                }
                break;
            case "LISTENPORT":
                ListenPort = Integer(value, 0, 65535, key, line);
                break;
            case "MTU":
                Mtu = Integer(value, VpnInterface.MinimumMtu, 65535 - VpnInterface.Overhead(ipv6: true), key, line);
                break;
            case "DISABLEOFFLOADS":
                foreach (string item in List(value))
                {
                    Offloads &= ~OffloadNamed(item, line);
                }
                break;
            case "FWMARK":
                FirewallMark = value.Equals("off", StringComparison.OrdinalIgnoreCase) ? null : (uint)Integer(value, 1, int.MaxValue, key, line);
                break;
            case "TABLE":
                Table = (uint)Integer(value, 1, int.MaxValue, key, line);
                break;
            default:
                throw Error(line, $"unknown [Interface] key '{key}'.");
        }
    }

    /// <summary>The offload a config name stands for.</summary>
    internal static VpnOffloads OffloadNamed(string name, int line) => name.ToUpperInvariant() switch
    {
        "TUN-CHECKSUM" => VpnOffloads.TunChecksum,
        "TUN-TSO" => VpnOffloads.TunTcpSegmentation,
        "TUN-USO" => VpnOffloads.TunUdpSegmentation,
        "UDP-GSO" => VpnOffloads.UdpSegmentation,
        "UDP-GRO" => VpnOffloads.UdpCoalescing,
        "ALL" => VpnOffloads.All,
        _ => throw Error(line, $"unknown offload '{name}' (tun-checksum, tun-tso, tun-uso, udp-gso, udp-gro, all)."),
    };

    internal static IEnumerable<string> List(string value) => value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    internal static int Integer(string value, int min, int max, string key, int line) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n >= min && n <= max
            ? n
            : throw Error(line, $"{key} must be a whole number {min}..{max}, not '{value}'.");

    internal static FormatException Error(int line, string message) => new($"line {line}: {message}");

    /// <summary>
    /// The interface options for <paramref name="identity"/>; peer endpoints given by name are resolved now
    /// (first address). Throws <see cref="PeerException"/> (<see cref="PeerError.Unreachable"/>) if a name does not resolve.
    /// </summary>
    public async Task<VpnInterfaceOptions> ToOptionsAsync(NodeIdentity identity, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(identity);
        var options = new VpnInterfaceOptions
        {
            Identity = identity,
            InterfaceName = Name ?? "pinhole0",
            ListenPort = ListenPort,
            Mtu = Mtu,
            Offloads = Offloads,
            FirewallMark = FirewallMark,
        };
        if (Table is { } table)
        {
            options.RouteTable = table;
        }
        foreach (InterfaceAddress address in _addresses)
        {
            options.Addresses.Add(address);
        }
        foreach (VpnConfigPeer p in _peers)
        {
            var peer = new VpnPeerOptions { PeerId = p.PeerId, Name = p.Name, PersistentKeepalive = p.PersistentKeepalive };
            foreach (IpPrefix prefix in p.AllowedPrefixes)
            {
                peer.AllowedPrefixes.Add(prefix);
            }
            if (p.Endpoint is { } endpoint)
            {
                peer.Endpoint = await ResolveAsync(endpoint, cancellationToken).ConfigureAwait(false);
            }
            options.Peers.Add(peer);
        }
        return options;
    }

    private static async Task<IPEndPoint> ResolveAsync(DnsEndPoint endpoint, CancellationToken cancellationToken)
    {
        if (IPAddress.TryParse(endpoint.Host, out IPAddress? literal))
        {
            return new IPEndPoint(literal, endpoint.Port);
        }
        IPAddress[] addresses;
        try
        {
            addresses = await Dns.GetHostAddressesAsync(endpoint.Host, cancellationToken).ConfigureAwait(false);
        }
        catch (System.Net.Sockets.SocketException e)
        {
            throw new PeerException(PeerError.Unreachable, $"Peer endpoint {endpoint.Host} does not resolve: {e.Message}", e);
        }
        if (addresses.Length == 0)
        {
            throw new PeerException(PeerError.Unreachable, $"Peer endpoint {endpoint.Host} has no addresses.");
        }
        return new IPEndPoint(addresses[0], endpoint.Port);
    }
}

/// <summary>One [Peer] of a <see cref="VpnConfig"/>.</summary>
public sealed class VpnConfigPeer
{
    internal int Line { get; init; }

    /// <summary>The peer's PeerId.</summary>
    public PeerId? PeerId { get; private set; }

    /// <summary>Name for status output.</summary>
    public string? Name { get; private set; }

    /// <summary>Prefixes routed to the peer and accepted from it.</summary>
    public IReadOnlyList<IpPrefix> AllowedPrefixes => _allowed;

    /// <summary>Where to find it (a host name or literal and a port), or null.</summary>
    public DnsEndPoint? Endpoint { get; private set; }

    /// <summary>Persistent keepalive interval (zero = off).</summary>
    public TimeSpan PersistentKeepalive { get; private set; }

    private readonly List<IpPrefix> _allowed = [];

    internal void Set(string key, string value, int line)
    {
        switch (key.ToUpperInvariant())
        {
            case "PEERID":
                PeerId = Pinhole.PeerId.TryParse(value, out PeerId? id, out string? error) ? id : throw VpnConfig.Error(line, $"'{value}' is not a PeerId: {error}");
                break;
            case "NAME":
                Name = value.Length is > 0 and <= 64 ? value : throw VpnConfig.Error(line, "a peer name is 1..64 characters.");
                break;
            case "ALLOWEDIPS":
                foreach (string item in VpnConfig.List(value))
                {
                    _allowed.Add(IpPrefix.TryParse(item, out IpPrefix prefix) ? prefix : throw VpnConfig.Error(line, $"'{item}' is not a prefix like 10.7.0.2/32."));
                }
                break;
            case "ENDPOINT":
                Endpoint = ParseEndpoint(value) ?? throw VpnConfig.Error(line, $"'{value}' is not host:port or [IPv6]:port.");
                break;
            case "PERSISTENTKEEPALIVE":
                PersistentKeepalive = value.Equals("off", StringComparison.OrdinalIgnoreCase)
                    ? TimeSpan.Zero
                    : TimeSpan.FromSeconds(VpnConfig.Integer(value, 0, 65535, key, line));
                break;
            default:
                throw VpnConfig.Error(line, $"unknown [Peer] key '{key}'.");
        }
    }

    private static DnsEndPoint? ParseEndpoint(string value)
    {
        int colon = value.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(value.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port is < 1 or > 65535)
        {
            return null;
        }
        string host = value[..colon];
        if (host.StartsWith('['))
        {
            if (!host.EndsWith(']') || !IPAddress.TryParse(host[1..^1], out _))
            {
                return null;
            }
            host = host[1..^1];
        }
        else if (host.Contains(':', StringComparison.Ordinal))
        {
            return null; // an IPv6 literal needs brackets
        }
        if (host.Length == 0 || host.Length > 253 || host.Any(char.IsWhiteSpace))
        {
            return null;
        }
        return new DnsEndPoint(host, port);
    }
}
