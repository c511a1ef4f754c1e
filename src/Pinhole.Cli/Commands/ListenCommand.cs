using System.CommandLine;
using Microsoft.Extensions.Logging;
using Pinhole.Cli.Output;

namespace Pinhole.Cli.Commands;

internal static class ListenCommand
{
    public static Command Create()
    {
        var command = new Command("listen", "Run a node: print each address it can be dialled at (one per line), serve ping and identify, log connections; Ctrl-C stops it.");
        var listen = new Option<string[]>("--listen", "-l")
        {
            Description = "Multiaddr to listen on (repeatable). Default /ip4/0.0.0.0/tcp/0.",
            AllowMultipleArgumentsPerToken = false,
        };
        var cat = new Option<bool>("--cat") { Description = "Accept one peer's cat stream and copy it to standard output, standard input to it (netcat -l)." };
        var maxConnections = new Option<int>("--max-connections") { Description = "Cap on live inbound connections.", DefaultValueFactory = _ => 256 };
        var ocapn = new Option<bool>("--ocapn") { Description = "Also listen on the Goblins-compatible tcp-tls netlayer and print its ocapn:// locator." };
        var ocapnListen = new Option<string?>("--ocapn-listen") { Description = "IP:PORT or PORT for the tcp-tls netlayer (a fixed port is remembered). Default: the remembered port, else any." };
        var ocapnHost = new Option<string?>("--ocapn-host") { Description = "Host hint in the printed locator (default: the listen address, or localhost)." };
        var mapPort = new Option<bool>("--map-port") { Description = "Ask the gateway (PCP, NAT-PMP, UPnP IGD) to forward the tcp-tls port and print the locator with the mapped address; deleted on exit." };
        var gateway = new Option<string?>("--gateway") { Description = "The gateway to ask for --map-port (default: the IPv4 default gateway)." };
        var json = CliJson.CreateOption("the PeerId and addresses, once listening,");
        command.Options.Add(listen);
        command.Options.Add(ocapn);
        command.Options.Add(ocapnListen);
        command.Options.Add(ocapnHost);
        command.Options.Add(mapPort);
        command.Options.Add(gateway);
        command.Options.Add(cat);
        command.Options.Add(maxConnections);
        command.Options.Add(json);
        command.SetAction((parse, ct) => CommandRunner.RunAsync(async token =>
        {
            using var identity = await GlobalOptions.LoadIdentityAsync(parse, token).ConfigureAwait(false);
            using var logging = GlobalOptions.CreateLoggerFactory(parse, LogLevel.Information);
            var options = new PeerListenerOptions
            {
                Identity = identity,
                LoggerFactory = logging,
                MaxConnections = parse.GetValue(maxConnections),
                Protocols = [CatProtocol.ProtocolId],
                ListenAddresses = [.. (parse.GetValue(listen) ?? []).Select(Multiaddr.Parse)],
            };
            await using var listener = await PeerListener.ListenAsync(options, token).ConfigureAwait(false);
            using var ocapnNode = parse.GetValue(ocapn) ? await OcapnCli.LoadNodeAsync(parse, token).ConfigureAwait(false) : null;
            await using var ocapnListener = ocapnNode is null ? null : await Ocapn.OcapnTcpTlsNetlayer.ListenAsync(new Ocapn.OcapnTcpTlsListenerOptions
            {
                Node = ocapnNode,
                ListenEndPoint = parse.GetValue(ocapnListen) is { } endPoint ? OcapnCli.ParseListen(endPoint) : new System.Net.IPEndPoint(System.Net.IPAddress.Any, 0),
                AdvertisedHost = parse.GetValue(ocapnHost),
                MaxConnections = parse.GetValue(maxConnections),
            }, token).ConfigureAwait(false);
            if (parse.GetValue(mapPort) && ocapnListener is null)
            {
                return CommandRunner.Fail("--map-port maps the tcp-tls port: it needs --ocapn.", ExitCodes.Usage);
            }
            await using var mapper = ocapnListener is not null && parse.GetValue(mapPort)
                ? await PortMappingCli.MapAsync(parse.GetValue(gateway), ocapnListener.LocalEndPoint.Port, System.Net.Sockets.ProtocolType.Tcp, logging, token).ConfigureAwait(false)
                : null;
            // With a mapping, the locator names the gateway's external address and port: what a peer outside dials.
            var ocapnLocator = mapper?.Current is { } mapping
                ? ocapnNode!.GetLocator(parse.GetValue(ocapnHost) ?? mapping.External.Address.ToString(), mapping.External.Port)
                : ocapnListener?.Locator;
            if (parse.GetValue(json))
            {
                CliJson.Write(Console.Out, new ListeningJson("listening", identity.PeerId.ToString(), [.. listener.GetDialableAddresses().Select(a => a.ToString())], ocapnLocator?.ToString()), CommandJsonContext.Default.ListeningJson);
            }
            else
            {
                // Printed only once everything is set up: a script that waits for the first line and then
                // interrupts gets a clean stop (exit 0), not an interrupted setup (130).
                foreach (var address in listener.GetDialableAddresses())
                {
                    await Console.Out.WriteLineAsync(address.ToString()).ConfigureAwait(false);
                }
                if (ocapnLocator is not null)
                {
                    await Console.Out.WriteLineAsync(ocapnLocator.ToString()).ConfigureAwait(false);
                }
            }
            // From here on an interrupt is the normal way to stop: the announcement must not turn it into 130, nor
            // any wait below that the stop token ends.
            await Console.Out.FlushAsync(CancellationToken.None).ConfigureAwait(false);
            try
            {
                if (parse.GetValue(cat) && ocapnListener is not null)
                {
                    await using var incoming = await ocapnListener.AcceptAsync(token).ConfigureAwait(false);
                    return await OcapnCli.PumpTlsAsync(incoming, token).ConfigureAwait(false);
                }
                if (parse.GetValue(cat))
                {
                    await using var connection = await listener.AcceptAsync(token).ConfigureAwait(false);
                    await using var stream = await connection.AcceptStreamAsync(token).ConfigureAwait(false);
                    return await CatProtocol.PumpAsync(stream, token).ConfigureAwait(false);
                }
                var serveOcapn = ocapnListener is null ? Task.CompletedTask : ServeOcapnAsync(ocapnListener, token);
                await ServeAsync(listener, logging.CreateLogger("pinhole.listen"), token).ConfigureAwait(false);
                await serveOcapn.ConfigureAwait(false);
                return ExitCodes.Success;
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested && !parse.GetValue(cat))
            {
                return ExitCodes.Success;
            }
        }, ct));
        return command;
    }

    private static async Task ServeAsync(PeerListener listener, ILogger logger, CancellationToken cancellationToken)
    {
        var connections = new List<Task>();
        try
        {
            while (true)
            {
                var connection = await listener.AcceptAsync(cancellationToken).ConfigureAwait(false);
                connections.Add(DrainAsync(connection, logger, cancellationToken));
                connections.RemoveAll(t => t.IsCompleted);
            }
        }
        catch (OperationCanceledException)
        {
            // Ctrl-C: close every connection cleanly.
        }
        await Task.WhenAll(connections).ConfigureAwait(false);
    }

    private static async Task ServeOcapnAsync(Ocapn.OcapnTcpTlsListener listener, CancellationToken cancellationToken)
    {
        // Plain 'listen' has no CapTP: accept and close, so a Goblins "ping" (connect + handshake) succeeds.
        try
        {
            while (true)
            {
                var connection = await listener.AcceptAsync(cancellationToken).ConfigureAwait(false);
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or PeerException)
        {
        }
    }

    private static async Task DrainAsync(PeerConnection connection, ILogger logger, CancellationToken cancellationToken)
    {
        await using (connection.ConfigureAwait(false))
        {
            try
            {
                // Only ping and identify are served here; a cat stream needs 'listen --cat'.
                while (true)
                {
                    var stream = await connection.AcceptStreamAsync(cancellationToken).ConfigureAwait(false);
                    CliLog.RefusedStream(logger, stream.Protocol, connection.RemotePeer);
                    stream.Abort();
                    await stream.DisposeAsync().ConfigureAwait(false);
                }
            }
            catch (Exception e) when (e is PeerException or OperationCanceledException or ObjectDisposedException)
            {
            }
        }
    }
}
