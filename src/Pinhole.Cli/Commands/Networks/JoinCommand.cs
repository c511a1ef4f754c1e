using System.CommandLine;
using Pinhole.Cli.Output;
using Pinhole.Membership;
using Pinhole.Node;

namespace Pinhole.Cli.Commands.Networks;

/// <summary>
/// <c>pinhole join INVITE</c>: through the running daemon when one answers (it redeems the invite for its key and
/// follows the network at once); else redeems it here for this home's key and leaves the verified records in the
/// home, where <c>pinhole daemon</c> follows the network when it starts.
/// </summary>
internal static class JoinCommand
{
    public static Command Create()
    {
        var command = new Command("join", "Join a private network with an invite: checks the network's genesis against the invite, redeems it for this node's key, syncs, and caches the verified records (the daemon then connects to the members).");
        var invite = new Argument<string>("invite") { Description = "The invite (pinhole-invite:…), or - to read it from stdin." };
        var timeout = new Option<string>("--timeout") { Description = "How long to wait for the coordinator (e.g. 30s, 2m).", DefaultValueFactory = _ => "60s" };
        command.Arguments.Add(invite);
        command.Options.Add(timeout);
        command.Options.Add(Daemon.DaemonClient.Socket);
        command.SetAction((parse, ct) => NetworkCli.RunAsync(async token =>
        {
            var home = PinholeHome.Resolve(parse.GetValue(GlobalOptions.Home));
            var text = parse.GetValue(invite)!;
            if (text == "-")
            {
                text = (await Console.In.ReadLineAsync(token).ConfigureAwait(false))?.Trim() ?? "";
            }
            var operationTimeout = NetworkCommands.Duration(parse.GetValue(timeout)!);
            // Checked here first: a mistyped invite is a usage error whether or not a daemon runs.
            using var code = InviteCode.Parse(text);
            if (await NetworkMembershipCommands.JoinThroughDaemonAsync(parse, text, operationTimeout, token).ConfigureAwait(false) is { } exit)
            {
                return exit;
            }
            using var identity = await GlobalOptions.LoadIdentityAsync(parse, token).ConfigureAwait(false);
            using var logging = GlobalOptions.CreateLoggerFactory(parse);
            var cache = NetworkCli.CacheDirectory(home);
            NetworkCli.CreatePrivateDirectory(cache);
            if (PinholeNodeNetworkExtensions.FindCachedNetworks(cache).Contains(code.Invite.Network))
            {
                CliOutput.Note($"already a member of {code.Invite.Network} by the cache in {cache}; redeeming anyway would waste the invite, so nothing was done.");
                return ExitCodes.Success;
            }
            // The node's own join: the coordinator list is written before the invite is spent, and a cache that could
            // not be written is an error (the daemon follows only networks with both files).
            await using var client = await NetworkMembershipService.RedeemAsync(code, new MembershipClientOptions
            {
                Identity = identity,
                CacheDirectory = cache,
                OperationTimeout = operationTimeout,
                LoggerFactory = logging,
            }, token).ConfigureAwait(false);
            var view = client.View;
            var self = view.Members.GetValueOrDefault(identity.PeerId);
            TextTable.Fields(Console.Out,
            [
                ("network", view.Network.ToString()),
                ("name", view.Name),
                ("peer", identity.PeerId.ToString()),
                ("ipv4", self?.Ipv4?.ToString()),
                ("ipv6", self?.Ipv6?.ToString()),
                ("until", self?.NotAfter.ToString("u", System.Globalization.CultureInfo.InvariantCulture)),
                ("members", view.Members.Count.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                ("status", client.Status.ToString()),
            ]);
            CliOutput.Note("joined; no daemon is running: 'pinhole daemon' follows the network when it starts.");
            return ExitCodes.Success;
        }, ct));
        return command;
    }
}
