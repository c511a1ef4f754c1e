using System.CommandLine;
using System.Globalization;
using Pinhole.Cli.Commands.Daemon;
using Pinhole.Cli.Output;
using Pinhole.Membership;
using Pinhole.Node;
using Pinhole.Node.Api;

namespace Pinhole.Cli.Commands.Networks;

/// <summary>
/// The member side of <c>pinhole join</c> and <c>pinhole network ls|leave</c>: through the running daemon's API when
/// one answers (it follows the change at once), else on the home's files (the daemon follows them when it starts).
/// </summary>
internal static class NetworkMembershipCommands
{
    public static Command List()
    {
        var command = new Command("ls", "List the networks this node is a member of: the running daemon's view (status, members it is connected to), else the home's verified caches.");
        var json = DaemonClient.Json;
        command.Options.Add(json);
        command.Options.Add(DaemonClient.Socket);
        command.SetAction((parse, ct) => NetworkCli.RunAsync(async token =>
        {
            var home = PinholeHome.Resolve(parse.GetValue(GlobalOptions.Home));
            List<NetworkResponse> networks;
            using (var client = DaemonClient.Create(parse))
            {
                try
                {
                    networks = await client.ListNetworksAsync(token).ConfigureAwait(false);
                }
                catch (DaemonNotRunningException e) when (e.AccessDenied)
                {
                    return OtherUsersDaemon(e);
                }
                catch (DaemonNotRunningException)
                {
                    networks = await FromCacheAsync(parse, home, token).ConfigureAwait(false);
                    CliOutput.Note("the daemon is not running: these are the home's caches (the daemon follows them when it starts).");
                }
                catch (PinholeApiException e)
                {
                    return CommandRunner.Fail(e.Message, DaemonClient.ExitCode(e));
                }
            }
            if (parse.GetValue(json))
            {
                await DaemonClient.WriteJsonAsync(networks, ApiJsonContext.Default.ListNetworkResponse).ConfigureAwait(false);
                return ExitCodes.Success;
            }
            var table = new TextTable("NETWORK", "NAME", "STATUS", "IPV4", "IPV6", "MEMBERS", "UNTIL");
            foreach (var n in networks)
            {
                table.Add(n.Network, n.Name, n.Member ? n.Status : "not a member", n.Ipv4 ?? "-", n.Ipv6 ?? "-",
                    n.MemberCount.ToString(CultureInfo.InvariantCulture), n.Until?.ToString("u", CultureInfo.InvariantCulture) ?? "-");
            }
            table.Write(Console.Out);
            return ExitCodes.Success;
        }, ct));
        return command;
    }

    public static Command Leave()
    {
        var command = new Command("leave", "Stop following a network and delete its cache (through the running daemon, which drops it at once, else in the home). The membership stays valid until it expires or an admin revokes it.");
        var network = new Argument<string>("network") { Description = "The network id (pn…)." };
        command.Arguments.Add(network);
        command.Options.Add(DaemonClient.Socket);
        command.SetAction((parse, ct) => NetworkCli.RunAsync(async token =>
        {
            var home = PinholeHome.Resolve(parse.GetValue(GlobalOptions.Home));
            var id = NetworkId.Parse(parse.GetValue(network)!);
            using var client = DaemonClient.Create(parse);
            try
            {
                await client.LeaveNetworkAsync(id.ToString(), token).ConfigureAwait(false);
                await Console.Out.WriteLineAsync($"left {id}").ConfigureAwait(false);
                return ExitCodes.Success;
            }
            catch (DaemonNotRunningException e) when (e.AccessDenied)
            {
                return OtherUsersDaemon(e);
            }
            catch (DaemonNotRunningException)
            {
                // Offline: forget the files the daemon would follow.
            }
            catch (PinholeApiException e)
            {
                return CommandRunner.Fail(e.Message, DaemonClient.ExitCode(e));
            }
            var cache = NetworkCli.CacheDirectory(home);
            var path = MembershipClient.CachePath(cache, id);
            if (!File.Exists(path))
            {
                return CommandRunner.Fail($"This node is not a member of {id} (no {path}).", ExitCodes.NotFound);
            }
            File.Delete(path);
            File.Delete(NetworkMembershipService.CoordinatorsPath(cache, id));
            await Console.Out.WriteLineAsync($"left {id}").ConfigureAwait(false);
            return ExitCodes.Success;
        }, ct));
        return command;
    }

    /// <summary>
    /// <c>pinhole join</c> through a running daemon: null when none answers (the caller joins offline). The daemon
    /// checks and redeems the invite itself and follows the network at once.
    /// </summary>
    public static async Task<int?> JoinThroughDaemonAsync(ParseResult parse, string invite, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var socket = DaemonClient.Create(parse).SocketPath;
        // The daemon's join takes up to three coordinator steps of 'timeout' each (fetch, redeem, first sync).
        using var client = new PinholeApiClient(socket, 3 * timeout + TimeSpan.FromSeconds(30));
        NetworkResponse joined;
        try
        {
            joined = await client.JoinNetworkAsync(invite, timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (DaemonNotRunningException e) when (e.AccessDenied)
        {
            return OtherUsersDaemon(e);
        }
        catch (DaemonNotRunningException)
        {
            return null;
        }
        catch (PinholeApiException e) when (Kind(e) == "already-member")
        {
            CliOutput.Note(e.Message);
            return ExitCodes.Success;
        }
        catch (PinholeApiException e)
        {
            return CommandRunner.Fail($"{e.Message} ({Kind(e) ?? ((int?)e.Status)?.ToString(CultureInfo.InvariantCulture)})", JoinExitCode(e));
        }
        TextTable.Fields(Console.Out,
        [
            ("network", joined.Network),
            ("name", joined.Name),
            ("peer", joined.PeerId),
            ("ipv4", joined.Ipv4),
            ("ipv6", joined.Ipv6),
            ("until", joined.Until?.ToString("u", CultureInfo.InvariantCulture)),
            ("members", joined.MemberCount.ToString(CultureInfo.InvariantCulture)),
            ("status", joined.Status),
        ]);
        CliOutput.Note("joined through the running daemon: it follows the network and connects to the members now.");
        return ExitCodes.Success;
    }

    private static string? Kind(PinholeApiException e) =>
        e.ProblemType is { } type && type.StartsWith("urn:pinhole:problem:", StringComparison.Ordinal) ? type["urn:pinhole:problem:".Length..] : null;

    /// <summary>The same exit codes as the offline join (docs/cli.md).</summary>
    private static int JoinExitCode(PinholeApiException e) => Kind(e) switch
    {
        "bad-invite" or "bad-request" => ExitCodes.Usage,
        "invite-redeemed" or "revoked" or "invite-expired" or "invite-invalid" or "forbidden" => ExitCodes.NotPermitted,
        "unknown-network" or "not-found" => ExitCodes.NotFound,
        "coordinator-unreachable" => ExitCodes.Unreachable,
        _ => DaemonClient.ExitCode(e),
    };

    private static async Task<List<NetworkResponse>> FromCacheAsync(ParseResult parse, string home, CancellationToken cancellationToken)
    {
        using var identity = await GlobalOptions.LoadIdentityAsync(parse, cancellationToken).ConfigureAwait(false);
        var cache = NetworkCli.CacheDirectory(home);
        var now = DateTimeOffset.UtcNow;
        var list = new List<NetworkResponse>();
        foreach (var id in PinholeNodeNetworkExtensions.FindCachedNetworks(cache))
        {
            // Verified again on load, like the daemon does: a tampered cache shows nothing it did not sign.
            var (state, cursor, _) = await NetworkCache.LoadAsync(MembershipClient.CachePath(cache, id), now, cancellationToken: cancellationToken).ConfigureAwait(false);
            var view = state.GetView(now);
            var self = view.Members.GetValueOrDefault(identity.PeerId);
            list.Add(new NetworkResponse(id.ToString(), view.Name, "not running", self is not null, identity.PeerId.ToString(), self?.Ipv4?.ToString(), self?.Ipv6?.ToString(),
                self?.Groups ?? [], self?.NotAfter, view.Members.Count, view.Revoked.Count, cursor, 0,
                [.. NetworkMembershipService.LoadCoordinators(cache, id).Select(c => c.ToString())], null));
        }
        return list;
    }

    // A daemon runs as someone else: working on this user's home instead would act for the wrong key.
    private static int OtherUsersDaemon(DaemonNotRunningException e) =>
        CommandRunner.Fail(e.Message + " Run this as the daemon's user (or root).", ExitCodes.NotPermitted);
}
