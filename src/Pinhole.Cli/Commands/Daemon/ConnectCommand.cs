using System.CommandLine;
using Pinhole.Node.Api;

namespace Pinhole.Cli.Commands.Daemon;

/// <summary><c>pinhole connect PEER|ADDRESS</c> and <c>pinhole disconnect PEER</c>, through the daemon.</summary>
internal static class ConnectCommand
{
    public static Command CreateConnect()
    {
        var command = new Command("connect", "Have the daemon connect to a peer: by PeerId or alias (it dials the stored addresses), or by address (the PeerId is pinned and the address stored).");
        var target = new Argument<string>("PEER|ADDRESS") { Description = "A PeerId, an alias, a multiaddr ending in /p2p/<PeerId>, a pinhole:// URI, or host:port with --trust-on-first-use." };
        var tofu = ConnectOptions.TrustOnFirstUse;
        var json = DaemonClient.Json;
        command.Arguments.Add(target);
        command.Options.Add(tofu);
        command.Options.Add(json);
        command.Options.Add(DaemonClient.Socket);
        command.SetAction((parse, ct) => DaemonClient.RunAsync(parse, async (client, token) =>
        {
            var text = parse.GetValue(target)!;
            var connection = IsAddress(text)
                ? await client.ConnectAddressAsync(text, parse.GetValue(tofu), token).ConfigureAwait(false)
                : await client.ConnectAsync(text, token).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                await DaemonClient.WriteJsonAsync(connection, ApiJsonContext.Default.ConnectionResponse).ConfigureAwait(false);
            }
            else
            {
                await Console.Out.WriteLineAsync($"connected to {connection.PeerId} via {connection.RemoteAddress ?? connection.Netlayer} ({connection.Direction}, {connection.Path})").ConfigureAwait(false);
            }
            return ExitCodes.Success;
        }, ct));
        return command;
    }

    public static Command CreateDisconnect()
    {
        var command = new Command("disconnect", "Have the daemon close every connection with a peer (a keep-connected peer is not redialled until the next connect).");
        var peer = new Argument<string>("PEER") { Description = "PeerId or alias." };
        command.Arguments.Add(peer);
        command.Options.Add(DaemonClient.Socket);
        command.SetAction((parse, ct) => DaemonClient.RunAsync(parse, async (client, token) =>
        {
            await client.DisconnectAsync(parse.GetValue(peer)!, token).ConfigureAwait(false);
            await Console.Out.WriteLineAsync("disconnected from " + parse.GetValue(peer)).ConfigureAwait(false);
            return ExitCodes.Success;
        }, ct));
        return command;
    }

    /// <summary>An address names where to dial (multiaddr, URI, host:port); a bare PeerId or an alias does not.</summary>
    internal static bool IsAddress(string text) =>
        text.StartsWith('/') || text.Contains("://", StringComparison.Ordinal) || text.Contains(':', StringComparison.Ordinal);
}
