using System.CommandLine;
using System.Globalization;
using Pinhole.Cli.Output;

namespace Pinhole.Cli.Commands.Daemon;

/// <summary>
/// <c>pinhole ping PEER</c> when PEER is a bare PeerId or an alias: the running daemon pings over its
/// connection (dialling the stored addresses first). An address still pings directly, without a daemon.
/// </summary>
internal static class DaemonPing
{
    public static bool Applies(string target) => !ConnectCommand.IsAddress(target);

    public static Task<int> RunAsync(ParseResult parse, string peer, int count, bool json, CancellationToken cancellationToken) =>
        DaemonClient.RunAsync(parse, async (client, token) =>
        {
            try
            {
                return await PingAsync(client, peer, count, json, token).ConfigureAwait(false);
            }
            catch (Pinhole.Node.DaemonNotRunningException e) when (!PeerId.TryParse(peer, out _))
            {
                // Most likely a mistyped address rather than an alias: say both.
                return CommandRunner.Fail($"'{peer}' is not a peer address (/ip4/…/tcp/…/p2p/<PeerId>, pinhole://…, ocapn://…), and no daemon runs to resolve it as an alias: {e.Message}", ExitCodes.Usage);
            }
        }, cancellationToken);

    private static async Task<int> PingAsync(Pinhole.Node.PinholeApiClient client, string peer, int count, bool json, CancellationToken token)
    {
        {
            var total = 0.0;
            string? via = null;
            for (var i = 1; i <= count; i++)
            {
                var pong = await client.PingAsync(peer, token).ConfigureAwait(false);
                if (via is null)
                {
                    var connection = (await client.ListConnectionsAsync(pong.PeerId, token).ConfigureAwait(false)).FirstOrDefault();
                    via = connection?.RemoteAddress ?? "?";
                }
                total += pong.RttMs;
                if (json)
                {
                    await CliJson.WriteAsync(Console.Out, new PongJson("pong", i, pong.PeerId, pong.RttMs), CommandJsonContext.Default.PongJson, token).ConfigureAwait(false);
                }
                else
                {
                    await Console.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"pong from {pong.PeerId} via {via}: seq={i} time={pong.RttMs:0.###} ms")).ConfigureAwait(false);
                }
            }
            if (json)
            {
                await CliJson.WriteAsync(Console.Out, new PingSummaryJson("summary", count, total / count), CommandJsonContext.Default.PingSummaryJson, token).ConfigureAwait(false);
            }
            else
            {
                await Console.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"{count} pings, average {total / count:0.###} ms")).ConfigureAwait(false);
            }
            return ExitCodes.Success;
        }
    }
}
