using System.CommandLine;
using Microsoft.Extensions.Logging;
using Pinhole.Vpn;
using Pinhole.Vpn.Config;

namespace Pinhole.Cli.Commands;

/// <summary>
/// The mesh VPN from the shell (docs/vpn.md): <c>vpn up --config FILE</c> runs an interface in the
/// foreground until interrupted, <c>vpn status</c> shows every running interface of this home like
/// <c>wg show</c>, <c>vpn check FILE</c> validates a configuration.
/// </summary>
internal static partial class VpnCommand
{
    private static readonly Option<string?> Control = new("--control")
    {
        Description = "Control socket path (default: <home>/vpn/<interface>.sock).",
    };

    public static Command Create()
    {
        var command = new Command("vpn", "Mesh VPN: a TUN interface whose peers are known by PeerId (docs/vpn.md).");
        command.Subcommands.Add(CreateUp());
        command.Subcommands.Add(CreateStatus());
        command.Subcommands.Add(CreateCheck());
        return command;
    }

    private static Command CreateUp()
    {
        var command = new Command("up", "Bring an interface up from a configuration file and run it until interrupted (needs CAP_NET_ADMIN).");
        var config = new Option<FileInfo>("--config", "-c") { Description = "WireGuard-style configuration with PeerIds (docs/vpn.md).", Required = true };
        command.Options.Add(config);
        command.Options.Add(Control);
        command.SetAction((parse, ct) => CommandRunner.RunAsync(async token =>
        {
            VpnConfig parsed = await LoadAsync(parse.GetValue(config)!, token);
            using var identity = await GlobalOptions.LoadIdentityAsync(parse, token);
            using var logging = GlobalOptions.CreateLoggerFactory(parse, LogLevel.Information);
            VpnInterfaceOptions options = await parsed.ToOptionsAsync(identity, token);
            options.LoggerFactory = logging;
            await using var vpn = await VpnInterface.StartAsync(options, token);
            string path = parse.GetValue(Control) ?? DefaultControlPath(parse, vpn.InterfaceName);
            await using var control = await VpnControlServer.StartAsync(vpn, path, token);
            await Console.Out.WriteLineAsync($"{vpn.InterfaceName} up: {vpn.LocalPeer} on UDP {vpn.ListenEndPoint}, MTU {vpn.Mtu}, {options.Peers.Count} peer(s); status: pinhole vpn status");
            await Console.Out.FlushAsync(token);
            try
            {
                await Task.Delay(Timeout.Infinite, token);
            }
            catch (OperationCanceledException)
            {
            }
            return ExitCodes.Success;
        }, ct));
        return command;
    }

    private static Command CreateStatus()
    {
        var command = new Command("status", "Show running interfaces and their peers: endpoint, path, last handshake, transfer, RTT (like 'wg show').");
        var name = new Option<string?>("--interface", "-i") { Description = "Only this interface." };
        var json = new Option<bool>("--json") { Description = "Print the status as JSON (an array, one object per interface)." };
        command.Options.Add(name);
        command.Options.Add(json);
        command.Options.Add(Control);
        command.SetAction((parse, ct) => CommandRunner.RunAsync(async token =>
        {
            var paths = ControlPaths(parse, parse.GetValue(name));
            if (paths.Count == 0)
            {
                return CommandRunner.Fail($"No VPN interface is running with home {PinholeHome.Resolve(parse.GetValue(GlobalOptions.Home))} (start one with 'pinhole vpn up --config FILE').", ExitCodes.Unreachable);
            }
            var statuses = new List<VpnStatus>();
            foreach (string path in paths)
            {
                statuses.Add(await VpnControlClient.GetStatusAsync(path, token));
            }
            await Console.Out.WriteAsync(parse.GetValue(json) ? StatusText.Json(statuses) : StatusText.Format(statuses, DateTimeOffset.UtcNow));
            return ExitCodes.Success;
        }, ct));
        return command;
    }

    private static Command CreateCheck()
    {
        var command = new Command("check", "Validate a configuration file and print what it sets up (no privileges needed).");
        var file = new Argument<FileInfo>("FILE") { Description = "The configuration file." };
        command.Arguments.Add(file);
        command.SetAction((parse, ct) => CommandRunner.RunAsync(async token =>
        {
            VpnConfig parsed = await LoadAsync(parse.GetValue(file)!, token);
            using var identity = await GlobalOptions.LoadIdentityAsync(parse, token);
            VpnInterfaceOptions options = await parsed.ToOptionsAsync(identity, token);
            options.Validate();
            await Console.Out.WriteLineAsync($"interface {options.InterfaceName}: {string.Join(", ", options.Addresses)}, UDP port {(options.ListenPort == 0 ? "any" : options.ListenPort)}, MTU {options.Mtu ?? VpnInterface.DefaultMtu}");
            foreach (VpnPeerOptions peer in options.Peers)
            {
                await Console.Out.WriteLineAsync($"peer {peer.PeerId}{(peer.Name is null ? "" : $" ({peer.Name})")}: {string.Join(", ", peer.AllowedPrefixes)}{(peer.Endpoint is null ? "" : $" at {peer.Endpoint}")}");
            }
            return ExitCodes.Success;
        }, ct));
        return command;
    }

    private static async Task<VpnConfig> LoadAsync(FileInfo file, CancellationToken cancellationToken)
    {
        if (!file.Exists)
        {
            throw new ArgumentException($"{file.FullName} does not exist.");
        }
        if (file.Length > VpnConfig.MaxLength)
        {
            throw new FormatException($"{file.FullName} is larger than {VpnConfig.MaxLength} bytes.");
        }
        byte[] bytes = await File.ReadAllBytesAsync(file.FullName, cancellationToken);
        try
        {
            return VpnConfig.Parse(bytes);
        }
        catch (FormatException e)
        {
            throw new FormatException($"{file.Name}: {e.Message}", e);
        }
    }

    private static string ControlDirectory(ParseResult parse) => Path.Combine(PinholeHome.Resolve(parse.GetValue(GlobalOptions.Home)), "vpn");

    private static string DefaultControlPath(ParseResult parse, string interfaceName) => Path.Combine(ControlDirectory(parse), interfaceName + ".sock");

    private static List<string> ControlPaths(ParseResult parse, string? interfaceName)
    {
        if (parse.GetValue(Control) is { } explicitPath)
        {
            return [explicitPath];
        }
        if (interfaceName is not null)
        {
            return [DefaultControlPath(parse, interfaceName)];
        }
        string directory = ControlDirectory(parse);
        return Directory.Exists(directory) ? [.. Directory.GetFiles(directory, "*.sock").Order(StringComparer.Ordinal)] : [];
    }
}
