using System.CommandLine;
using System.Globalization;
using Pinhole.Cli.Output;

namespace Pinhole.Cli.Commands;

internal static class PingCommand
{
    public static Command Create()
    {
        var command = new Command("ping", "Measure round-trip times to a peer with /ipfs/ping/1.0.0 (works with any libp2p node).");
        var address = new Argument<string>("ADDRESS") { Description = "A PeerId or alias (pinged through the running daemon), or a peer address: /ip4/…/tcp/…/p2p/<PeerId>, pinhole://<PeerId>.tcp?host=…&port=…, or ocapn://<designator>.tcp-tls?host=…&port=… (then: connect + designator check + TLS handshake)" };
        var count = new Option<int>("--count", "-c") { Description = "Number of pings.", DefaultValueFactory = _ => 4 };
        var tofu = ConnectOptions.TrustOnFirstUse;
        var timeout = ConnectOptions.Timeout;
        var json = CliJson.CreateOption("each answer and the summary");
        command.Arguments.Add(address);
        command.Options.Add(count);
        command.Options.Add(tofu);
        command.Options.Add(timeout);
        command.Options.Add(json);
        command.SetAction((parse, ct) => CommandRunner.RunAsync(async token =>
        {
            var n = parse.GetValue(count);
            if (n < 1)
            {
                return CommandRunner.Fail("--count must be at least 1.", ExitCodes.Usage);
            }
            if (Daemon.DaemonPing.Applies(parse.GetValue(address)!))
            {
                // A bare PeerId or alias: the running daemon pings it over its own connection.
                return await Daemon.DaemonPing.RunAsync(parse, parse.GetValue(address)!, n, parse.GetValue(json), token).ConfigureAwait(false);
            }
            if (OcapnCli.IsOcapn(parse.GetValue(address)!))
            {
                // A Goblins peer has no ping protocol: reaching it means connect, designator check and TLS handshake.
                return await OcapnCli.PingAsync(parse.GetValue(address)!, n, parse.GetValue(json), token).ConfigureAwait(false);
            }
            using var identity = await GlobalOptions.LoadIdentityAsync(parse, token).ConfigureAwait(false);
            using var logging = GlobalOptions.CreateLoggerFactory(parse);
            var options = ConnectOptions.Create(parse, identity, logging, parse.GetValue(address)!);
            await using var connection = await PeerConnection.ConnectAsync(options, token).ConfigureAwait(false);
            using var perPing = CancellationTokenSource.CreateLinkedTokenSource(token);
            var total = TimeSpan.Zero;
            for (var i = 1; i <= n; i++)
            {
                perPing.CancelAfter(options.HandshakeTimeout);
                var rtt = await connection.PingAsync(perPing.Token).ConfigureAwait(false);
                perPing.TryReset();
                total += rtt;
                if (parse.GetValue(json))
                {
                    await CliJson.WriteAsync(Console.Out, new PongJson("pong", i, connection.RemotePeer.ToString(), rtt.TotalMilliseconds), CommandJsonContext.Default.PongJson, token).ConfigureAwait(false);
                }
                else
                {
                    await Console.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"pong from {connection.RemotePeer}: seq={i} time={rtt.TotalMilliseconds:0.###} ms")).ConfigureAwait(false);
                }
            }
            if (parse.GetValue(json))
            {
                await CliJson.WriteAsync(Console.Out, new PingSummaryJson("summary", n, total.TotalMilliseconds / n), CommandJsonContext.Default.PingSummaryJson, token).ConfigureAwait(false);
                return ExitCodes.Success;
            }
            await Console.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"{n} pings, average {total.TotalMilliseconds / n:0.###} ms")).ConfigureAwait(false);
            return ExitCodes.Success;
        }, ct));
        return command;
    }
}
