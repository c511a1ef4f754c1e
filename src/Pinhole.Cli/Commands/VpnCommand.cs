using System.CommandLine;
using Microsoft.Extensions.Logging;
using Pinhole.Cli.Commands.Daemon;
using Pinhole.Cli.Output;
using Pinhole.Node;
using Pinhole.Vpn;
using Pinhole.Vpn.Config;
using Pinhole.Vpn.Hosting;

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
        command.Subcommands.Add(CreateDown());
        command.Subcommands.Add(CreateStatus());
        command.Subcommands.Add(CreateCheck());
        return command;
    }

    private static Command CreateUp()
    {
        var command = new Command("up", "Bring an interface up: --config FILE runs one here until interrupted (needs CAP_NET_ADMIN); --network NET asks the running daemon to bring that network's VPN up.");
        var config = new Option<FileInfo?>("--config", "-c") { Description = "WireGuard-style configuration with PeerIds (docs/vpn.md)." };
        var network = new Option<string?>("--network", "-n") { Description = "A joined network (id or name, as 'pinhole network ls' shows): the daemon runs its VPN, the virtual address and peers come from its verified memberships." };
        var json = CliJson.CreateOption("one line {\"type\": \"up\", \"status\": {...}} once the interface is up");
        var socket = DaemonClient.Socket;
        command.Options.Add(config);
        command.Options.Add(network);
        command.Options.Add(Control);
        command.Options.Add(socket);
        command.Options.Add(json);
        command.Validators.Add(result =>
        {
            bool hasConfig = result.GetResult(config) is { Implicit: false }, hasNetwork = result.GetResult(network) is { Implicit: false };
            if (hasConfig == hasNetwork)
            {
                result.AddError("Give one of --config FILE (an interface of its own) or --network NET (the daemon's VPN for a joined network).");
            }
        });
        command.SetAction((parse, ct) => parse.GetValue(network) is { } net ? NetworkUpAsync(parse, net, parse.GetValue(json), ct) : CommandRunner.RunAsync(async token =>
        {
            VpnConfig parsed = await LoadAsync(parse.GetValue(config)!, token);
            using var identity = await GlobalOptions.LoadIdentityAsync(parse, token);
            using var logging = GlobalOptions.CreateLoggerFactory(parse, LogLevel.Information);
            VpnInterfaceOptions options = await parsed.ToOptionsAsync(identity, token);
            options.LoggerFactory = logging;
            options.Validate();
            // The VPN is a part of a node (PinholeNode is the composition root): here a minimal one, with a
            // loopback-only listener, no UDP socket, no API and an in-memory peer store, so it never competes
            // with a daemon running on the same home.
            string path = parse.GetValue(Control) ?? DefaultControlPath(parse, options.InterfaceName);
            var service = new VpnNodeService(new VpnNodeServiceOptions { Interface = options, ControlSocketPath = path, OpenRelayStreams = false });
            var nodeOptions = new PinholeNodeOptions
            {
                Identity = identity,
                ListenAddresses = { Multiaddr.Parse("/ip4/127.0.0.1/tcp/0") },
                EnableUdp = false,
                StorePath = ":memory:",
                LoggerFactory = logging,
            };
            await using var node = PinholeNode.CreateBuilder(nodeOptions).AddService(service).Build();
            await node.StartAsync(token);
            VpnInterface vpn = service.Interface ?? throw new InvalidOperationException("The VPN service did not start.");
            await Console.Out.WriteLineAsync(parse.GetValue(json)
                ? "{\"type\":\"up\",\"status\":" + VpnStatusJson.Serialize(vpn.GetStatus()) + "}"
                : $"{vpn.InterfaceName} up: {vpn.LocalPeer} on UDP {vpn.ListenEndPoint}, MTU {vpn.Mtu}, {options.Peers.Count} peer(s); status: pinhole vpn status");
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

    private static Command CreateDown()
    {
        var command = new Command("down", "Ask the running daemon to take a network's VPN down (a 'vpn up --config' interface stops with Ctrl-C).");
        var network = new Option<string>("--network", "-n") { Description = "The network whose VPN runs (id or name).", Required = true };
        command.Options.Add(network);
        command.Options.Add(DaemonClient.Socket);
        command.SetAction((parse, ct) => DaemonClient.RunAsync(parse, async (client, token) =>
        {
            string net = parse.GetValue(network)!;
            try
            {
                await client.SendJsonAsync(HttpMethod.Delete, "v1/vpn/" + Uri.EscapeDataString(net), null, token);
            }
            catch (DaemonNotRunningException)
            {
                return CommandRunner.Fail(NoDaemon(parse, net, "down"), ExitCodes.DaemonUnavailable);
            }
            await Console.Out.WriteLineAsync($"{net}: VPN down");
            return ExitCodes.Success;
        }, ct));
        return command;
    }

    // `vpn up --network NET`: the daemon is the node (PinholeNode is the composition root); this only asks its API.
    private static Task<int> NetworkUpAsync(ParseResult parse, string network, bool json, CancellationToken ct) => DaemonClient.RunAsync(parse, async (client, token) =>
    {
        string answer;
        try
        {
            answer = await client.SendJsonAsync(HttpMethod.Post, "v1/vpn", new System.Text.Json.Nodes.JsonObject { ["network"] = network }.ToJsonString(), token);
        }
        catch (DaemonNotRunningException)
        {
            return CommandRunner.Fail(NoDaemon(parse, network, "up"), ExitCodes.DaemonUnavailable);
        }
        var body = System.Text.Json.Nodes.JsonNode.Parse(answer)!.AsObject();
        var statusNode = body["status"]!.AsObject();
        bool started = body["started"]?.GetValue<bool>() == true;
        if (json)
        {
            await Console.Out.WriteLineAsync(new System.Text.Json.Nodes.JsonObject { ["type"] = "up", ["started"] = started, ["network"] = body["network"]?.GetValue<string>(), ["status"] = statusNode.DeepClone() }.ToJsonString());
        }
        else
        {
            VpnStatus status = VpnStatusJson.Deserialize(statusNode.ToJsonString());
            string label = body["name"]?.GetValue<string>() ?? network;
            await Console.Out.WriteLineAsync($"{status.InterfaceName} {(started ? "up" : "already up")} for network {label}: {status.LocalPeer} at {string.Join(", ", status.Addresses)} on UDP {status.ListenEndPoint}, MTU {status.Mtu}, {status.Peers.Count} peer(s); status: pinhole vpn status");
        }
        return ExitCodes.Success;
    }, ct);

    private static string NoDaemon(ParseResult parse, string network, string verb) =>
        $"No daemon is running with home {PinholeHome.Resolve(parse.GetValue(GlobalOptions.Home))}: 'vpn {verb} --network' asks the daemon; start it with 'pinhole daemon --vpn-network {network}' (the VPN comes up with it) or 'pinhole daemon'.";

    private static Command CreateStatus()
    {
        var command = new Command("status", "Show running interfaces and their peers: endpoint, path, last handshake, transfer, RTT (like 'wg show').");
        var name = new Option<string?>("--interface", "-i") { Description = "Only this interface." };
        var json = CliJson.CreateOption("the status ({\"interfaces\": [...]}, one object per interface)");
        command.Options.Add(name);
        command.Options.Add(json);
        command.Options.Add(Control);
        command.SetAction((parse, ct) => CommandRunner.RunAsync(async token =>
        {
            var paths = ControlPaths(parse, parse.GetValue(name));
            if (paths.Count == 0)
            {
                return CommandRunner.Fail($"No VPN interface is running with home {PinholeHome.Resolve(parse.GetValue(GlobalOptions.Home))} (start one with 'pinhole vpn up --config FILE').", ExitCodes.DaemonUnavailable);
            }
            var statuses = new List<VpnStatus>();
            foreach (string path in paths)
            {
                try
                {
                    statuses.Add(await VpnControlClient.GetStatusAsync(path, token));
                }
                catch (PeerException e) when (e.Error == PeerError.Unreachable)
                {
                    // A socket file left by a process that died: not an error unless nothing answers at all.
                    if (paths.Count == 1)
                    {
                        return CommandRunner.Fail(e.Message, ExitCodes.DaemonUnavailable);
                    }
                }
            }
            if (statuses.Count == 0)
            {
                return CommandRunner.Fail($"No VPN interface answers in {ControlDirectory(parse)} (stale sockets of stopped processes only).", ExitCodes.DaemonUnavailable);
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
        try
        {
            return await VpnSettings.LoadFileAsync(file.FullName, cancellationToken);
        }
        catch (FileNotFoundException e)
        {
            throw new ArgumentException(e.Message, e);
        }
    }

    private static string ControlDirectory(ParseResult parse) => VpnSettings.ControlDirectory(PinholeHome.Resolve(parse.GetValue(GlobalOptions.Home)));

    private static string DefaultControlPath(ParseResult parse, string interfaceName) => VpnSettings.DefaultControlPath(PinholeHome.Resolve(parse.GetValue(GlobalOptions.Home)), interfaceName);

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
