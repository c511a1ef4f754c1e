using System.CommandLine;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Pinhole.Node;
using Pinhole.Vpn.Hosting;

namespace Pinhole.Cli.Commands.Daemon;

/// <summary>
/// <c>pinhole daemon</c>: the long-lived node (Microsoft.Extensions.Hosting, systemd notify when run by
/// systemd). Configuration: <c>pinhole.json</c> in the home, then <c>PINHOLE_Node__*</c> variables, then flags.
/// </summary>
internal static class DaemonCommand
{
    /// <summary>Longer than the host's shutdown timeout, so that a SIGTERM drain is never cut short.</summary>
    public static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(30);

    public static Command Create()
    {
        var command = new Command("daemon", "Run the node: listen (TCP+UDP on one port), keep the peer store, serve the local API (and the status page with --web); prints its addresses, API socket and status page; Ctrl-C or SIGTERM stops it cleanly.");
        var listen = new Option<string[]>("--listen", "-l") { Description = "TCP multiaddr to listen on (repeatable; UDP uses the same port). Default /ip4/0.0.0.0/tcp/PORT." };
        var port = new Option<int?>("--port", "-p") { Description = "Port for TCP and UDP on all IPv4 addresses (default: the one remembered in the home, else any free one, then remembered)." };
        var noUdp = new Option<bool>("--no-udp") { Description = "Do not listen for DTLS on UDP." };
        var ocapn = new Option<bool>("--ocapn") { Description = "Also listen on the Goblins-compatible tcp-tls netlayer." };
        var web = new Option<string?>("--web")
        {
            Description = "Serve the status page on loopback: --web (any free port) or --web 127.0.0.1:PORT.",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var stun = new Option<string[]>("--stun") { Description = "STUN server HOST:PORT that tells the node's UDP sockets their public address (repeatable)." };
        var relay = new Option<string[]>("--relay") { Description = "Circuit relay to reserve a slot on when not publicly reachable: a multiaddr ending in /p2p/<relay PeerId> (repeatable)." };
        var serveRelay = new Option<bool>("--serve-relay") { Description = "Serve as a circuit relay (hop) for other peers." };
        var noHolePunching = new Option<bool>("--no-hole-punching") { Description = "Keep relayed connections relayed (no DCUtR upgrade to a direct connection)." };
        var noUdpPunching = new Option<bool>("--no-udp-punching") { Description = "Do not punch UDP paths to peers (DTLS then dials their addresses only)." };
        var turn = new Option<string?>("--turn") { Description = "TURN server USER:PASSWORD@IP:PORT that UDP punching falls back to (needs --stun)." };
        var reachability = new Option<string?>("--reachability") { Description = "Whether to reserve on the relays: auto (default: when a relay sees us behind a NAT), public (never) or private (always)." };
        reachability.AcceptOnlyFromAmong("auto", "public", "private");
        var portMapping = new Option<bool>("--port-mapping") { Description = "Forward the listen port on the gateway (PCP, NAT-PMP or UPnP IGD) and advertise its public address." };
        var socket = new Option<string?>("--api-socket") { Description = "Path of the API socket (default: api.sock in the home)." };
        var config = new Option<string?>("--config") { Description = $"Configuration file (default: {NodeSettings.FileName} in the home, if present)." };
        var vpn = new Option<string?>("--vpn") { Description = "Also run the mesh VPN from this WireGuard-style configuration (docs/vpn.md; needs CAP_NET_ADMIN); 'pinhole vpn status' shows it." };
        var vpnNetwork = new Option<string?>("--vpn-network") { Description = "Also run the mesh VPN for this joined network (id or name, as 'pinhole network ls' shows): the virtual address and peers come from its verified memberships (needs CAP_NET_ADMIN; Node:Vpn sets interface, port, keepalive)." };
        foreach (var option in new Option[] { listen, port, noUdp, ocapn, web, stun, relay, serveRelay, noHolePunching, noUdpPunching, turn, reachability, portMapping, socket, config, vpn, vpnNetwork })
        {
            command.Options.Add(option);
        }
        command.SetAction((parse, ct) => CommandRunner.RunAsync(async token =>
        {
            var home = PinholeHome.Resolve(parse.GetValue(GlobalOptions.Home));
            using var identity = await GlobalOptions.LoadIdentityAsync(parse, token).ConfigureAwait(false);
            var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, Args = [], ContentRootPath = home });
            var configFile = parse.GetValue(config);
            builder.Configuration
                .AddJsonFile(Path.GetFullPath(configFile ?? Path.Combine(home, NodeSettings.FileName)), optional: configFile is null, reloadOnChange: false)
                .AddEnvironmentVariables("PINHOLE_")
                .AddInMemoryCollection(Flags(parse, listen, port, noUdp, ocapn, web, stun, socket))
                .AddInMemoryCollection(NatFlags(parse, relay, serveRelay, noHolePunching, reachability, portMapping))
                .AddInMemoryCollection(UdpFlags(parse, noUdpPunching, turn))
                .AddInMemoryCollection(VpnFlags(parse, vpn, vpnNetwork));
            var settings = NodeSettings.Read(builder.Configuration);
            var options = settings.ToOptions(identity, home);
            options.Validate();
            // Read and checked before anything starts: a bad file stops the daemon with its path and line.
            VpnNodeServiceOptions? vpnOptions;
            VpnSettings vpnSettings;
            try
            {
                vpnSettings = VpnSettings.Read(builder.Configuration);
                vpnOptions = await vpnSettings.LoadAsync(identity, home, token).ConfigureAwait(false);
            }
            catch (Membership.MembershipException e) when (e.Reason is Membership.MembershipError.Revoked or Membership.MembershipError.Forbidden)
            {
                return CommandRunner.Fail(e.Message, ExitCodes.NotPermitted);
            }

            builder.Logging.SetMinimumLevel(parse.GetValue(GlobalOptions.Verbose) ? LogLevel.Debug : LogLevel.Information)
                .AddFilter("Microsoft", LogLevel.Warning)
                .AddSimpleConsole(o =>
                {
                    o.SingleLine = true;
                    o.TimestampFormat = "HH:mm:ss ";
                })
                .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
            builder.Services.AddSystemd();
            builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = ShutdownTimeout);
            builder.Services.AddSingleton(services =>
            {
                options.LoggerFactory = services.GetRequiredService<ILoggerFactory>();
                options.MeterFactory = services.GetRequiredService<IMeterFactory>();
                return vpnSettings.ConfigureHost(settings.Configure(Networks.NetworkCli.AddCachedNetworks(PinholeNode.CreateBuilder(options), home)), vpnOptions, identity, home).Build();
            });
            builder.Services.AddHostedService(services => new PinholeNodeHostedService(services.GetRequiredService<PinholeNode>()));

            using var host = builder.Build();
            await host.StartAsync(token).ConfigureAwait(false);
            var node = host.Services.GetRequiredService<PinholeNode>();
            if (settings.RemembersPort && node.ListenAddresses.Count > 0)
            {
                NodeSettings.RememberPort(home, node.ListenAddresses[0].ToIPEndPoint().Port);
            }
            await PrintReadyAsync(node).ConfigureAwait(false);
            // Ctrl-C and SIGTERM reach both this token and the host's lifetime: either way the host stops gracefully.
            await host.WaitForShutdownAsync(token).ConfigureAwait(false);
            return ExitCodes.Success;
        }, ct));
        return command;
    }

    private static async Task PrintReadyAsync(PinholeNode node)
    {
        var lines = node.GetDialableAddresses().Select(a => a.ToString()).ToList();
        if (node.OcapnLocator is { } locator)
        {
            lines.Add(locator.ToString());
        }
        lines.Add("api socket: " + node.ApiSocketPath);
        if (node.WebLoginUri is { } login)
        {
            lines.Add("status page: " + login);
        }
        foreach (var line in lines)
        {
            await Console.Out.WriteLineAsync(line).ConfigureAwait(false);
        }
        await Console.Out.FlushAsync().ConfigureAwait(false);
    }

    // A path on the command line is relative to the working directory (in pinhole.json, to the home). Both flags at once
    // reach VpnSettings.Read as both keys, which refuses them as a usage error.
    private static Dictionary<string, string?> VpnFlags(ParseResult parse, Option<string?> vpn, Option<string?> vpnNetwork)
    {
        var flags = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        if (parse.GetValue(vpn) is { Length: > 0 } file)
        {
            flags[$"{VpnSettings.SectionName}:Config"] = Path.GetFullPath(file);
        }
        if (parse.GetValue(vpnNetwork) is { Length: > 0 } network)
        {
            flags[$"{VpnSettings.SectionName}:Network"] = network;
        }
        return flags;
    }

    private static Dictionary<string, string?> NatFlags(ParseResult parse, Option<string[]> relay, Option<bool> serveRelay, Option<bool> noHolePunching, Option<string?> reachability, Option<bool> portMapping)
    {
        var flags = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        // One comma list: NodeSettings lets it replace the file's whole array (indexed keys would merge by element).
        if (parse.GetValue(relay) is { Length: > 0 } relays)
        {
            flags["Node:Relays"] = string.Join(',', relays);
        }
        if (parse.GetValue(serveRelay))
        {
            flags["Node:ServeRelay"] = "true";
        }
        if (parse.GetValue(noHolePunching))
        {
            flags["Node:HolePunching"] = "false";
        }
        if (parse.GetValue(reachability) is { } r)
        {
            flags["Node:Reachability"] = r;
        }
        if (parse.GetValue(portMapping))
        {
            flags["Node:PortMapping"] = "true";
        }
        return flags;
    }

    private static Dictionary<string, string?> UdpFlags(ParseResult parse, Option<bool> noUdpPunching, Option<string?> turn)
    {
        var flags = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        if (parse.GetValue(noUdpPunching))
        {
            flags["Node:UdpHolePunching"] = "false";
        }
        if (parse.GetValue(turn) is { Length: > 0 } server)
        {
            flags["Node:Turn"] = server;
        }
        return flags;
    }

    private static Dictionary<string, string?> Flags(ParseResult parse, Option<string[]> listen, Option<int?> port, Option<bool> noUdp, Option<bool> ocapn, Option<string?> web, Option<string[]> stun, Option<string?> socket)
    {
        var flags = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        // One comma list each: NodeSettings lets it replace the file's whole array (indexed keys would merge by element).
        if (parse.GetValue(listen) is { Length: > 0 } addresses)
        {
            flags["Node:Listen"] = string.Join(',', addresses);
        }
        if (parse.GetValue(stun) is { Length: > 0 } servers)
        {
            flags["Node:Stun"] = string.Join(',', servers);
        }
        if (parse.GetValue(port) is { } p)
        {
            flags["Node:Port"] = p.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        if (parse.GetValue(noUdp))
        {
            flags["Node:Udp"] = "false";
        }
        if (parse.GetValue(ocapn))
        {
            flags["Node:Ocapn"] = "true";
        }
        if (parse.GetResult(web) is not null)
        {
            flags["Node:Web"] = parse.GetValue(web) ?? "on";
        }
        if (parse.GetValue(socket) is { } path)
        {
            flags["Node:ApiSocket"] = path;
        }
        return flags;
    }
}
