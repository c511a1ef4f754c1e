using System.Globalization;
using System.Net;
using Microsoft.Extensions.Configuration;

namespace Pinhole.Node;

/// <summary>
/// The daemon's configuration (section <c>Node</c>): from <c>pinhole.json</c> in the home, then
/// <c>PINHOLE_Node__*</c> environment variables, then command-line flags (later wins). docs/node.md lists
/// every key. <see cref="Read"/> reports a bad value with its key.
/// </summary>
public sealed class NodeSettings
{
    /// <summary>The configuration file's name inside the home.</summary>
    public const string FileName = "pinhole.json";

    /// <summary>The file remembering the port picked when none was configured, so that peers find the node again after a restart.</summary>
    public const string PortFileName = "listen-port";

    /// <summary>TCP multiaddrs (UDP on the same ports). Empty: all IPv4 addresses on <see cref="Port"/>.</summary>
    public IReadOnlyList<Multiaddr> Listen { get; init; } = [];

    /// <summary>The port when <see cref="Listen"/> is empty; null: the remembered one, or a free one (then remembered).</summary>
    public int? Port { get; init; }

    /// <summary>DTLS on UDP.</summary>
    public bool Udp { get; init; } = true;

    /// <summary>The Goblins tcp-tls netlayer.</summary>
    public bool Ocapn { get; init; }

    /// <summary>Where the tcp-tls netlayer listens.</summary>
    public IPEndPoint? OcapnListen { get; init; }

    /// <summary>The API socket; null: <c>api.sock</c> in the home.</summary>
    public string? ApiSocket { get; init; }

    /// <summary>The status page's loopback address, or null for none.</summary>
    public IPEndPoint? Web { get; init; }

    /// <summary>The status page's API key; null: the key file in the home.</summary>
    public string? WebApiKey { get; init; }

    /// <summary><see cref="PinholeNodeOptions.StunServers"/> (<c>HOST:PORT</c> or <c>IP:PORT</c>).</summary>
    public IReadOnlyList<EndPoint> StunServers { get; init; } = [];

    /// <summary><see cref="NodeConnectionOptions.MaxConnections"/>.</summary>
    public int? MaxConnections { get; init; }

    /// <summary><see cref="NodeConnectionOptions.IdleTimeout"/>.</summary>
    public TimeSpan? IdleTimeout { get; init; }

    /// <summary>Circuit relays to reserve on (<see cref="NodeRelayOptions.Relays"/>), each ending in <c>/p2p/&lt;relay&gt;</c>.</summary>
    public IReadOnlyList<Multiaddr> Relays { get; init; } = [];

    /// <summary>Serve as a circuit relay for other peers (<see cref="NodeRelayOptions.ServeRelay"/>).</summary>
    public bool ServeRelay { get; init; }

    /// <summary>Upgrade relayed connections to direct ones with DCUtR (<see cref="NodeRelayOptions.HolePunching"/>).</summary>
    public bool HolePunching { get; init; } = true;

    /// <summary>Whether to reserve on the relays (<see cref="NodeRelayOptions.Reachability"/>).</summary>
    public NodeReachability Reachability { get; init; } = NodeReachability.Auto;

    /// <summary>
    /// Punch UDP paths to peers for <see cref="PinholeNode.ConnectDatagramsAsync"/> (<see cref="NodeUdpPunchExtensions.UseUdpHolePunching"/>).
    /// Default true; acts only with STUN servers and UDP on.
    /// </summary>
    public bool UdpHolePunching { get; init; } = true;

    /// <summary>The TURN server UDP punching falls back to (<c>USER:PASSWORD@IP:PORT</c>), or null.</summary>
    public Pinhole.Nat.TurnClientOptions? Turn { get; init; }

    /// <summary>Map the listen port on the gateway with PCP, NAT-PMP or UPnP IGD (<see cref="NodePortMappingExtensions.UsePortMapping"/>).</summary>
    public bool PortMapping { get; init; }

    /// <summary>The gateway to ask for the mapping; null: the default gateway.</summary>
    public IPAddress? PortMappingGateway { get; init; }

    /// <summary>Reads the <c>Node</c> section.</summary>
    /// <exception cref="FormatException">A value does not parse; the message names its key.</exception>
    public static NodeSettings Read(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var node = configuration.GetSection("Node");
        var listen = ListOf(node, "Listen").Select(text => Parse("Node:Listen", text, Multiaddr.Parse)).ToList();
        var stun = ListOf(node, "Stun").Select(text => Parse("Node:Stun", text, ParseServer)).ToList();
        var relays = ListOf(node, "Relays").Select(text => Parse("Node:Relays", text, ParseRelay)).ToList();
        var serveRelay = Bool(node, "ServeRelay") ?? false;
        var web = node["Web"];
        var settings = new NodeSettings
        {
            Listen = listen,
            StunServers = stun,
            Port = Int(node, "Port", 0, 65535),
            Udp = Bool(node, "Udp") ?? true,
            Ocapn = Bool(node, "Ocapn") ?? false,
            OcapnListen = node["OcapnListen"] is { } ocapn ? Parse("Node:OcapnListen", ocapn, ParseEndPoint) : null,
            ApiSocket = node["ApiSocket"] is { Length: > 0 } socket ? socket : null,
            Web = web is null or "" or "off" or "false" ? null
                : web is "on" or "true" ? new IPEndPoint(IPAddress.Loopback, 0)
                : Parse("Node:Web", web, ParseEndPoint),
            WebApiKey = node["WebApiKey"] is { Length: > 0 } key ? key : null,
            MaxConnections = Int(node, "MaxConnections", 1, 1_000_000),
            IdleTimeout = Int(node, "IdleTimeoutSeconds", 0, int.MaxValue) is { } seconds ? TimeSpan.FromSeconds(seconds) : null,
            Relays = relays,
            ServeRelay = serveRelay,
            HolePunching = Bool(node, "HolePunching") ?? true,
            Reachability = node["Reachability"] is { Length: > 0 } reachability
                ? Enum.TryParse<NodeReachability>(reachability, ignoreCase: true, out var r) && Enum.IsDefined(r) && !char.IsAsciiDigit(reachability[0])
                    ? r
                    : throw new FormatException($"Node:Reachability: '{reachability}' is not auto, public or private.")
                : NodeReachability.Auto,
            UdpHolePunching = Bool(node, "UdpHolePunching") ?? true,
            Turn = node["Turn"] is { Length: > 0 } turn ? Parse("Node:Turn", turn, ParseTurn) : null,
            PortMapping = Bool(node, "PortMapping") ?? false,
            PortMappingGateway = node["PortMappingGateway"] is { Length: > 0 } gateway
                ? IPAddress.TryParse(gateway, out var g) && g.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork
                    ? g
                    : throw new FormatException($"Node:PortMappingGateway: '{gateway}' is not an IPv4 address.")
                : null,
        };
        // Settings that act only through the relay service: set without it, they would be ignored without a word.
        if (relays.Count == 0 && !serveRelay && node["HolePunching"] is { Length: > 0 })
        {
            throw new FormatException("Node:HolePunching: has no effect without Node:Relays or Node:ServeRelay (it upgrades relayed connections; the daemon's --relay, --serve-relay).");
        }
        if (stun.Count == 0 && (node["Turn"] is { Length: > 0 } || node["UdpHolePunching"] is { Length: > 0 }))
        {
            throw new FormatException($"Node:{(node["Turn"] is { Length: > 0 } ? "Turn" : "UdpHolePunching")}: has no effect without Node:Stun (UDP punching needs the node socket's public address; the daemon's --stun).");
        }
        if (node["Turn"] is { Length: > 0 } && !settings.UdpHolePunching)
        {
            throw new FormatException("Node:Turn: has no effect with Node:UdpHolePunching false (TURN is where a failed punch falls back to).");
        }
        if (relays.Count == 0 && node["Reachability"] is { Length: > 0 })
        {
            throw new FormatException("Node:Reachability: has no effect without Node:Relays (it decides whether to reserve on them; the daemon's --relay).");
        }
        return settings;
    }

    /// <summary>The node's options for <paramref name="identity"/> in <paramref name="home"/>.</summary>
    public PinholeNodeOptions ToOptions(NodeIdentity identity, string home)
    {
        var options = new PinholeNodeOptions
        {
            Identity = identity,
            Home = home,
            ListenAddresses = Listen.Count > 0 ? [.. Listen] : [Multiaddr.Parse($"/ip4/0.0.0.0/tcp/{Port ?? RememberedPort(home) ?? 0}")],
            EnableUdp = Udp,
            StunServers = [.. StunServers],
            EnableOcapn = Ocapn,
            OcapnListenEndPoint = OcapnListen,
            Api = new LocalApiOptions
            {
                SocketPath = ApiSocket,
                Web = Web is null ? null : new WebUiOptions { EndPoint = Web, ApiKey = WebApiKey },
            },
        };
        if (MaxConnections is { } max)
        {
            options.Connections.MaxConnections = max;
        }
        if (IdleTimeout is { } idle)
        {
            options.Connections.IdleTimeout = idle;
        }
        return options;
    }

    /// <summary>
    /// Adds the parts these settings turn on: the relay service (<see cref="NodeRelayExtensions.UseRelays"/>) when relays
    /// are named or the node serves as one, UDP hole punching (<see cref="NodeUdpPunchExtensions.UseUdpHolePunching"/>)
    /// when STUN servers are named, and port mapping (<see cref="NodePortMappingExtensions.UsePortMapping"/>).
    /// </summary>
    public PinholeNodeBuilder Configure(PinholeNodeBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (Relays.Count > 0 || ServeRelay)
        {
            builder.UseRelays(new NodeRelayOptions
            {
                Relays = [.. Relays],
                ServeRelay = ServeRelay,
                HolePunching = HolePunching,
                Reachability = Reachability,
            });
        }
        if (Udp && StunServers.Count > 0 && UdpHolePunching)
        {
            builder.UseUdpHolePunching(new NodeUdpPunchOptions { Turn = Turn });
        }
        if (PortMapping)
        {
            builder.UsePortMapping(new NodePortMappingOptions { Gateway = PortMappingGateway });
        }
        return builder;
    }

    /// <summary>Whether the node's port should be remembered after it starts (no port was configured).</summary>
    public bool RemembersPort => Listen.Count == 0 && Port is null;

    /// <summary>The port remembered in the home, if any.</summary>
    public static int? RememberedPort(string home)
    {
        var path = Path.Combine(home, PortFileName);
        return File.Exists(path) && int.TryParse(File.ReadAllText(path).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and <= 65535
            ? port
            : null;
    }

    /// <summary>Remembers the port the node got.</summary>
    public static void RememberPort(string home, int port) =>
        File.WriteAllText(Path.Combine(home, PortFileName), port.ToString(CultureInfo.InvariantCulture) + "\n");

    private static IPEndPoint ParseEndPoint(string text) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) ? new IPEndPoint(IPAddress.Loopback, port)
        : IPEndPoint.TryParse(text, out var endPoint) ? endPoint
        : throw new FormatException($"'{text}' is not IP:PORT or PORT.");

    private static Multiaddr ParseRelay(string text)
    {
        var address = Multiaddr.Parse(text);
        return address.TryGetPeerId(out _) && !CircuitAddress.IsCircuit(address)
            ? address
            : throw new FormatException($"'{text}' is not a relay address ending in /p2p/<relay PeerId> (e.g. /ip4/198.51.100.1/tcp/4001/p2p/12D3Koo…).");
    }

    // USER:PASSWORD@IP:PORT: the long-term credential (RFC 8656 §9.2) and the server; the password may hold ':' and '@'.
    private static Pinhole.Nat.TurnClientOptions ParseTurn(string text)
    {
        var at = text.LastIndexOf('@');
        var colon = at > 0 ? text.IndexOf(':', StringComparison.Ordinal) : -1;
        if (colon <= 0 || colon > at - 2 || !IPEndPoint.TryParse(text[(at + 1)..], out var server) || server.Port == 0)
        {
            throw new FormatException("it is not USER:PASSWORD@IP:PORT (the server as an IP address with a port).");
        }
        return new Pinhole.Nat.TurnClientOptions { Username = text[..colon], Password = text[(colon + 1)..at], Server = server };
    }

    private static EndPoint ParseServer(string text)
    {
        if (IPEndPoint.TryParse(text, out var ip) && ip.Port > 0)
        {
            return ip;
        }
        var colon = text.LastIndexOf(':');
        return colon > 0 && int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and <= 65535
            ? new DnsEndPoint(text[..colon], port)
            : throw new FormatException($"'{text}' is not HOST:PORT or IP:PORT.");
    }

    private static T Parse<T>(string key, string text, Func<string, T> parse)
    {
        try
        {
            return parse(text);
        }
        catch (FormatException e)
        {
            throw new FormatException($"{key}: {e.Message}", e);
        }
    }

    private static int? Int(IConfigurationSection section, string key, int min, int max)
    {
        if (section[key] is not { Length: > 0 } text)
        {
            return null;
        }
        return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max
            ? value
            : throw new FormatException($"Node:{key}: '{text}' is not a whole number from {min} to {max}.");
    }

    // A comma list (an environment variable, the daemon's --listen/--stun/--relay flags) replaces the whole list, a
    // file's array included: configuration merges arrays by index, which would keep the file's entries behind the flag's.
    private static IEnumerable<string> ListOf(IConfigurationSection node, string key) =>
        node[key] is { } list
            ? list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            : node.GetSection(key).GetChildren().Select(c => c.Value).OfType<string>();

    private static bool? Bool(IConfigurationSection section, string key) => section[key] switch
    {
        null or "" => null,
        var text when bool.TryParse(text, out var value) => value,
        var text => throw new FormatException($"Node:{key}: '{text}' is not true or false."),
    };
}
