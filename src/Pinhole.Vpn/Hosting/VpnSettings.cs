using Microsoft.Extensions.Configuration;
using Pinhole.Node;
using Pinhole.Vpn.Config;

namespace Pinhole.Vpn.Hosting;

/// <summary>
/// The daemon's VPN (section <c>Node:Vpn</c> of <c>pinhole.json</c>, <c>PINHOLE_Node__Vpn__*</c>, or
/// <c>pinhole daemon --vpn FILE</c>; docs/node.md). It lives here rather than in <see cref="NodeSettings"/>
/// because Pinhole.Node must not reference Pinhole.Vpn:
/// <code>
/// "Node": { "Vpn": { "Config": "vpn.conf", "ControlSocket": "/run/pinhole/ph0.sock" } }
/// </code>
/// <c>Config</c> is a WireGuard-style file (docs/vpn.md), relative to the home unless absolute;
/// <c>ControlSocket</c> defaults to <c>&lt;home&gt;/vpn/&lt;interface&gt;.sock</c>, where <c>pinhole vpn status</c> looks.
/// </summary>
public sealed class VpnSettings
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Node:Vpn";

    /// <summary>The interface's configuration file, or null for no VPN.</summary>
    public string? ConfigFile { get; init; }

    /// <summary>The control socket, or null for the default in the home.</summary>
    public string? ControlSocket { get; init; }

    /// <summary>Whether these settings run a VPN at all.</summary>
    public bool Enabled => ConfigFile is not null;

    /// <summary>Reads the <c>Node:Vpn</c> section (absent: no VPN).</summary>
    /// <exception cref="FormatException">An unknown key (a typo would silently leave the VPN off); the message names it.</exception>
    public static VpnSettings Read(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        IConfigurationSection section = configuration.GetSection(SectionName);
        if (section.Value is { Length: > 0 })
        {
            throw new FormatException($"{SectionName}: expected a section with Config (and optionally ControlSocket), not a value.");
        }
        foreach (IConfigurationSection child in section.GetChildren())
        {
            if (!child.Key.Equals("Config", StringComparison.OrdinalIgnoreCase) && !child.Key.Equals("ControlSocket", StringComparison.OrdinalIgnoreCase))
            {
                throw new FormatException($"{SectionName}:{child.Key}: unknown key (known: Config, ControlSocket).");
            }
        }
        return new VpnSettings
        {
            ConfigFile = section["Config"] is { Length: > 0 } file ? file : null,
            ControlSocket = section["ControlSocket"] is { Length: > 0 } socket ? socket : null,
        };
    }

    /// <summary>
    /// Reads and checks the configuration file for <paramref name="identity"/>, before the node starts, so that a
    /// bad file stops the daemon with its path and line; null when the VPN is off.
    /// </summary>
    /// <exception cref="FormatException">The file does not parse or its options are invalid (path and line in the message).</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public async Task<VpnNodeServiceOptions?> LoadAsync(NodeIdentity identity, string home, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentException.ThrowIfNullOrEmpty(home);
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
            ControlSocketPath = ControlSocket is { } socket ? Path.GetFullPath(socket, home) : DefaultControlPath(home, options.InterfaceName),
        };
    }

    /// <summary>Adds the VPN service to <paramref name="builder"/> when <paramref name="options"/> is not null.</summary>
    public static PinholeNodeBuilder Configure(PinholeNodeBuilder builder, VpnNodeServiceOptions? options)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (options is not null)
        {
            options.Interface.LoggerFactory ??= builder.Options.LoggerFactory;
            builder.AddService(new VpnNodeService(options));
        }
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
