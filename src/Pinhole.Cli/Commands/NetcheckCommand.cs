using System.CommandLine;
using System.Net;
using System.Net.Sockets;
using Pinhole.Nat;

namespace Pinhole.Cli.Commands;

/// <summary>
/// <c>pinhole netcheck</c>: what the network does to UDP (docs/nat.md). With <c>--stun</c> it probes from this
/// process; without, the running daemon probes against its own STUN servers (<c>GET /v1/netcheck</c>).
/// </summary>
internal static class NetcheckCommand
{
    public static Command Create()
    {
        var command = new Command("netcheck", "Probe the network: UDP, public address, NAT mapping and filtering (RFC 5780), hairpinning, port-mapping protocols (--gateway), latency to each STUN server.");
        var stun = new Option<string[]>("--stun") { Description = "A STUN server as HOST:PORT (repeatable; the first RFC 5780 one is used for behaviour discovery).", Arity = ArgumentArity.OneOrMore, AllowMultipleArgumentsPerToken = true };
        var json = new Option<bool>("--json") { Description = "Print the report as JSON." };
        var noHairpin = new Option<bool>("--no-hairpin") { Description = "Skip the hairpinning test." };
        var gateway = new Option<string?>("--gateway") { Description = "Also ask this gateway which of PCP, NAT-PMP and UPnP it answers (and detect a double NAT)." };
        command.Options.Add(stun);
        command.Options.Add(json);
        command.Options.Add(noHairpin);
        command.Options.Add(gateway);
        command.Options.Add(Daemon.DaemonClient.Socket);
        command.SetAction((parse, ct) => CommandRunner.RunAsync(async token =>
        {
            string[] servers = parse.GetValue(stun) ?? [];
            if (servers.Length == 0)
            {
                return await ThroughDaemonAsync(parse, !parse.GetValue(noHairpin), parse.GetValue(json), parse.GetValue(gateway) is not null, token).ConfigureAwait(false);
            }
            var options = new NetcheckOptions { TestHairpinning = !parse.GetValue(noHairpin) };
            foreach (string server in servers)
            {
                options.StunServers.Add(await ResolveAsync(server, token).ConfigureAwait(false));
            }
            if (parse.GetValue(gateway) is { } g)
            {
                if (!IPAddress.TryParse(g, out IPAddress? address) || address.AddressFamily != AddressFamily.InterNetwork)
                {
                    return CommandRunner.Fail($"--gateway takes an IPv4 address, not '{g}'.", ExitCodes.Usage);
                }
                options.PortMappingProbe = probeToken => PortMapper.ProbeAsync(new PortMapperOptions { Gateway = address, InternalPort = 1 }, probeToken)!;
            }
            NetcheckReport report = await Netcheck.RunAsync(options, token).ConfigureAwait(false);
            await Console.Out.WriteAsync(parse.GetValue(json) ? report.ToJson() + Environment.NewLine : report.ToText()).ConfigureAwait(false);
            return ExitCodes.Success;
        }, ct));
        return command;
    }

    private static async Task<int> ThroughDaemonAsync(ParseResult parse, bool hairpin, bool json, bool gateway, CancellationToken cancellationToken)
    {
        if (gateway)
        {
            return CommandRunner.Fail("--gateway needs --stun (a check from this process); the daemon probes the gateway it maps ports on.", ExitCodes.Usage);
        }
        string socket;
        using (var located = Daemon.DaemonClient.Create(parse))
        {
            socket = located.SocketPath;
        }
        // Probing takes seconds (retransmissions to a silent server, the hairpin wait): more than a control call.
        using var client = new Pinhole.Node.PinholeApiClient(socket, TimeSpan.FromMinutes(2));
        NetcheckReport report;
        try
        {
            report = await client.NetcheckAsync(hairpin, cancellationToken).ConfigureAwait(false);
        }
        catch (Pinhole.Node.DaemonNotRunningException e) when (!e.AccessDenied)
        {
            return CommandRunner.Fail($"netcheck needs a STUN server (--stun HOST:PORT) or a running daemon to ask ({e.Message}).", ExitCodes.Usage);
        }
        catch (Pinhole.Node.DaemonNotRunningException e)
        {
            return CommandRunner.Fail(e.Message, ExitCodes.NotPermitted);
        }
        catch (Pinhole.Node.PinholeApiException e) when (e.Status == HttpStatusCode.Conflict)
        {
            return CommandRunner.Fail(e.Message + " Or give --stun HOST:PORT to probe from here.", ExitCodes.Usage);
        }
        catch (Pinhole.Node.PinholeApiException e)
        {
            return CommandRunner.Fail(e.Message, Daemon.DaemonClient.ExitCode(e));
        }
        await Console.Out.WriteAsync(json ? report.ToJson() + Environment.NewLine : report.ToText()).ConfigureAwait(false);
        return ExitCodes.Success;
    }

    private static async Task<IPEndPoint> ResolveAsync(string text, CancellationToken cancellationToken)
    {
        if (IPEndPoint.TryParse(text, out IPEndPoint? endPoint) && endPoint.Port != 0)
        {
            return endPoint;
        }
        int colon = text.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(text.AsSpan(colon + 1), out int port) || port is < 1 or > 65535)
        {
            throw new FormatException($"'{text}' is not HOST:PORT.");
        }
        IPAddress[] addresses;
        try
        {
            addresses = await Dns.GetHostAddressesAsync(text[..colon], cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            throw new PeerException(PeerError.Unreachable, $"Cannot resolve {text[..colon]}: {e.Message}", e);
        }
        IPAddress address = addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses.FirstOrDefault()
            ?? throw new PeerException(PeerError.Unreachable, $"{text[..colon]} has no address.");
        return new IPEndPoint(address, port);
    }
}
