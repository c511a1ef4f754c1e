using Microsoft.Extensions.Configuration;
using Pinhole.Membership;
using Pinhole.Node;
using Pinhole.Vpn.Config;

namespace Pinhole.Vpn.Hosting;

/// <summary>
/// The daemon's VPN (section <c>Node:Vpn</c> of <c>pinhole.json</c>, <c>PINHOLE_Node__Vpn__*</c>, or
/// <c>pinhole daemon --vpn FILE</c> / <c>--vpn-network NET</c>; docs/node.md). It lives here rather than in
/// <see cref="NodeSettings"/> because Pinhole.Node must not reference Pinhole.Vpn. Two modes, one of them:
/// <code>
/// "Node": { "Vpn": { "Config": "vpn.conf", "ControlSocket": "/run/pinhole/ph0.sock" } }            file mode
/// "Node": { "Vpn": { "Network": "office", "Interface": "ph0", "Port": 51820, "Keepalive": 25 } }   coordinator mode
/// </code>
/// <c>Config</c> is a WireGuard-style file (docs/vpn.md), relative to the home unless absolute. <c>Network</c> is a
/// network the node has joined (its id or name, as <c>pinhole network ls</c> shows them): the virtual address and the
/// peers come from its verified memberships; <c>Interface</c> (default <c>pinhole0</c>), <c>Port</c> (UDP, default
/// 51820, 0 = any), <c>Keepalive</c> (persistent keepalive in seconds, default 25, 0 = off) and <c>Mtu</c> (default
/// from the overhead) apply to it only. <c>ControlSocket</c> defaults to <c>&lt;home&gt;/vpn/&lt;interface&gt;.sock</c>,
/// where <c>pinhole vpn status</c> looks.
/// </summary>
public sealed partial class VpnSettings
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Node:Vpn";

    /// <summary>The default interface name in coordinator mode.</summary>
    public const string DefaultInterface = "pinhole0";

    /// <summary>The default UDP port of the data plane in coordinator mode (WireGuard's).</summary>
    public const int DefaultPort = 51820;

    /// <summary>The default persistent keepalive in coordinator mode: below the shortest common NAT UDP timeout (30 s).</summary>
    public static readonly TimeSpan DefaultKeepalive = TimeSpan.FromSeconds(25);

    private static readonly string[] Keys = ["Config", "Network", "Interface", "Port", "Keepalive", "Mtu", "ControlSocket"];
    private static readonly string[] NetworkOnlyKeys = ["Interface", "Port", "Keepalive", "Mtu"];

    /// <summary>The interface's configuration file (file mode), or null.</summary>
    public string? ConfigFile { get; init; }

    /// <summary>The network, by id or name (coordinator mode), or null.</summary>
    public string? Network { get; init; }

    /// <summary>The interface name in coordinator mode.</summary>
    public string InterfaceName { get; init; } = DefaultInterface;

    /// <summary>The data plane's UDP port in coordinator mode (0 = any).</summary>
    public int Port { get; init; } = DefaultPort;

    /// <summary>Persistent keepalive for every member in coordinator mode (zero = off).</summary>
    public TimeSpan Keepalive { get; init; } = DefaultKeepalive;

    /// <summary>The TUN MTU in coordinator mode, or null for the default.</summary>
    public int? Mtu { get; init; }

    /// <summary>The control socket, or null for the default in the home.</summary>
    public string? ControlSocket { get; init; }

    /// <summary>Whether these settings run a VPN at all.</summary>
    public bool Enabled => ConfigFile is not null || Network is not null;

    /// <summary>Reads the <c>Node:Vpn</c> section (absent: no VPN).</summary>
    /// <exception cref="FormatException">
    /// An unknown key (a typo would silently leave the VPN off), a bad number, both <c>Config</c> and <c>Network</c>, or a
    /// coordinator-mode key without <c>Network</c>; the message names the key.
    /// </exception>
    public static VpnSettings Read(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        IConfigurationSection section = configuration.GetSection(SectionName);
        if (section.Value is { Length: > 0 })
        {
            throw new FormatException($"{SectionName}: expected a section with Config or Network, not a value.");
        }
        foreach (IConfigurationSection child in section.GetChildren())
        {
            if (!Keys.Contains(child.Key, StringComparer.OrdinalIgnoreCase))
            {
                throw new FormatException($"{SectionName}:{child.Key}: unknown key (known: {string.Join(", ", Keys)}).");
            }
        }
        string? file = section["Config"] is { Length: > 0 } f ? f : null;
        string? network = section["Network"] is { Length: > 0 } n ? n.Trim() : null;
        if (file is not null && network is not null)
        {
            throw new FormatException($"{SectionName}: Config (a file of peers) and Network (peers from a coordinator) are two modes; set one (--vpn or --vpn-network).");
        }
        if (network is null && NetworkOnlyKeys.FirstOrDefault(k => section[k] is { Length: > 0 }) is { } orphan)
        {
            throw new FormatException($"{SectionName}:{orphan}: applies to coordinator mode (Network); a Config file sets it itself.");
        }
        return new VpnSettings
        {
            ConfigFile = file,
            Network = network,
            InterfaceName = section["Interface"] is { Length: > 0 } name ? name : DefaultInterface,
            Port = Number(section, "Port", 0, 65535) ?? DefaultPort,
            Keepalive = Number(section, "Keepalive", 0, 65535) is { } k ? TimeSpan.FromSeconds(k) : DefaultKeepalive,
            Mtu = Number(section, "Mtu", 1280, 65535),
            ControlSocket = section["ControlSocket"] is { Length: > 0 } socket ? socket : null,
        };
    }

    private static int? Number(IConfigurationSection section, string key, int min, int max)
    {
        if (section[key] is not { Length: > 0 } text)
        {
            return null;
        }
        if (!int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int value) || value < min || value > max)
        {
            throw new FormatException($"{SectionName}:{key}: '{text}' is not a number from {min} to {max}.");
        }
        return value;
    }

    /// <summary>
    /// Checks the settings for <paramref name="identity"/> before the node starts, so that a mistake stops the daemon
    /// with a precise message; null when the VPN is off. File mode reads and checks the file; coordinator mode finds
    /// the network among those the home has joined (<c>HOME/networks</c>) and checks this node has a virtual address in it.
    /// </summary>
    /// <exception cref="FormatException">
    /// The file does not parse or its options are invalid (path and line in the message); the network is not one the home
    /// joined (the message lists those it did), or its name is ambiguous.
    /// </exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="MembershipException">
    /// Coordinator mode: this node is no longer a member (<see cref="MembershipError.Revoked"/>: revoked or expired) or has
    /// no virtual address (<see cref="MembershipError.Forbidden"/>).
    /// </exception>
    public async Task<VpnNodeServiceOptions?> LoadAsync(NodeIdentity identity, string home, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentException.ThrowIfNullOrEmpty(home);
        if (Network is not null)
        {
            return await LoadNetworkAsync(identity, home, cancellationToken).ConfigureAwait(false);
        }
        if (ConfigFile is null)
        {
            return null;
        }
        string path = Path.GetFullPath(ConfigFile, home);
        VpnConfig config = await LoadFileAsync(path, cancellationToken).ConfigureAwait(false);
        VpnInterfaceOptions options;
        try
        {
            options = await config.ToOptionsAsync(identity, cancellationToken).ConfigureAwait(false);
            options.Validate();
        }
        catch (ArgumentException e)
        {
            throw new FormatException($"{path}: {e.Message}", e);
        }
        return new VpnNodeServiceOptions
        {
            Interface = options,
            ControlSocketPath = ControlPath(home, options.InterfaceName),
        };
    }

    private string ControlPath(string home, string interfaceName) =>
        ControlSocket is { } socket ? Path.GetFullPath(socket, home) : DefaultControlPath(home, interfaceName);

    /// <summary>Adds the VPN service to <paramref name="builder"/> when <paramref name="options"/> is not null.</summary>
    public static PinholeNodeBuilder Configure(PinholeNodeBuilder builder, VpnNodeServiceOptions? options)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (options is not null)
        {
            options.Interface.LoggerFactory ??= builder.Options.LoggerFactory;
            var service = new VpnNodeService(options);
            builder.AddService(service);
            // The relay path is the fallback when UDP fails, which is when the node connection is likeliest to be a
            // circuit: it must be allowed there (its datagrams count against the relay's data limit, if any).
            builder.Handle(VpnNodeService.RelayProtocol, service.HandleRelayAsync).AllowOnLimitedConnections(VpnNodeService.RelayProtocol);
        }
        return builder;
    }

    /// <summary>
    /// The daemon's VPN: a <see cref="VpnHost"/> that starts <paramref name="initial"/> (if any) with the node and serves
    /// <c>/v1/vpn</c>, so <c>pinhole vpn up --network NET</c> brings a network's VPN up later. Networks are resolved like
    /// <c>Node:Vpn:Network</c> (<paramref name="home"/>'s joined networks) with these settings' interface, port, keepalive
    /// and MTU.
    /// </summary>
    public PinholeNodeBuilder ConfigureHost(PinholeNodeBuilder builder, VpnNodeServiceOptions? initial, NodeIdentity identity, string home)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentException.ThrowIfNullOrEmpty(home);
        if (initial is not null)
        {
            initial.Interface.LoggerFactory ??= builder.Options.LoggerFactory;
        }
        var host = new VpnHost(initial, (network, token) => new VpnSettings
        {
            Network = network,
            InterfaceName = InterfaceName,
            Port = Port,
            Keepalive = Keepalive,
            Mtu = Mtu,
            ControlSocket = ControlSocket,
        }.LoadNetworkAsync(identity, home, token));
        builder.AddService(host);
        builder.Handle(VpnNodeService.RelayProtocol, host.HandleRelayAsync).AllowOnLimitedConnections(VpnNodeService.RelayProtocol);
        builder.MapApi(routes => VpnApiRoutes.Map(routes, host));
        return builder;
    }

    /// <summary>Where <c>pinhole vpn status</c> finds the interface <paramref name="interfaceName"/> of <paramref name="home"/>.</summary>
    public static string DefaultControlPath(string home, string interfaceName) => Path.Combine(ControlDirectory(home), interfaceName + ".sock");

    /// <summary>The directory of the home's control sockets.</summary>
    public static string ControlDirectory(string home) => Path.Combine(home, "vpn");

    /// <summary>Reads a configuration file (at most <see cref="VpnConfig.MaxLength"/> bytes).</summary>
    /// <exception cref="FormatException">It does not parse; the message starts with the path and names the line.</exception>
    /// <exception cref="FileNotFoundException">It does not exist.</exception>
    public static async Task<VpnConfig> LoadFileAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var file = new FileInfo(path);
        if (!file.Exists)
        {
            throw new FileNotFoundException($"The VPN configuration {file.FullName} does not exist.", file.FullName);
        }
        if (file.Length > VpnConfig.MaxLength)
        {
            throw new FormatException($"{file.FullName}: larger than {VpnConfig.MaxLength} bytes.");
        }
        byte[] bytes = await File.ReadAllBytesAsync(file.FullName, cancellationToken).ConfigureAwait(false);
        try
        {
            return VpnConfig.Parse(bytes);
        }
        catch (FormatException e)
        {
            throw new FormatException($"{file.FullName}: {e.Message}", e);
        }
    }
}
