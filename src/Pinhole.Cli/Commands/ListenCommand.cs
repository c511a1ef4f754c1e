using System.CommandLine;
using Microsoft.Extensions.Logging;

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
        command.Options.Add(listen);
        command.Options.Add(cat);
        command.Options.Add(maxConnections);
        command.SetAction((parse, ct) => CommandRunner.RunAsync(async token =>
        {
            using var identity = await PinholeHome.LoadOrCreateIdentityAsync(parse.GetValue(GlobalOptions.Home), token).ConfigureAwait(false);
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
            foreach (var address in listener.GetDialableAddresses())
            {
                await Console.Out.WriteLineAsync(address.ToString()).ConfigureAwait(false);
            }
            await Console.Out.FlushAsync(token).ConfigureAwait(false);
            if (parse.GetValue(cat))
            {
                await using var connection = await listener.AcceptAsync(token).ConfigureAwait(false);
                await using var stream = await connection.AcceptStreamAsync(token).ConfigureAwait(false);
                return await CatProtocol.PumpAsync(stream, token).ConfigureAwait(false);
            }
            await ServeAsync(listener, logging.CreateLogger("pinhole.listen"), token).ConfigureAwait(false);
            return ExitCodes.Success;
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
