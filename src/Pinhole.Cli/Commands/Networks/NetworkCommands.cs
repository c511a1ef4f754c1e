using System.CommandLine;
using System.Globalization;
using System.Net;
using Pinhole.Cli.Output;
using Pinhole.Coordinator;
using Pinhole.Membership;

namespace Pinhole.Cli.Commands.Networks;

/// <summary>
/// <c>pinhole network create|invite|members|revoke|rotate-admin</c>: the admin side. The admin keys are this home's
/// key (and co-signers' homes); they sign every record here, and the coordinator only stores and serves them.
/// The member side, <c>pinhole network ls|leave</c>, is in <see cref="NetworkMembershipCommands"/>.
/// </summary>
internal static class NetworkCommands
{
    public static Command Create()
    {
        var command = new Command("network", "Administer private networks on a coordinator (this home's key is the admin key; it never leaves this machine).");
        command.Subcommands.Add(CreateNetwork());
        command.Subcommands.Add(Invite());
        command.Subcommands.Add(Members());
        command.Subcommands.Add(Revoke());
        command.Subcommands.Add(RotateAdmin());
        command.Subcommands.Add(NetworkMembershipCommands.List());
        command.Subcommands.Add(NetworkMembershipCommands.Leave());
        return command;
    }

    private static Argument<string> NetworkArgument() => new("network") { Description = "The network id (pn…)." };

    /// <summary>What every command on an administered network has in hand: the home, the network, this home's key, its admin file and an admin API client.</summary>
    private sealed record AdminContext(string Home, NetworkId Network, NodeIdentity Identity, AdminNetworkFile File, CoordinatorAdminClient Client);

    /// <summary>A command on a network this home administers: <c>network</c> argument, then <paramref name="arguments"/> and <paramref name="options"/>.</summary>
    private static Command AdminCommand(string name, string description, Func<ParseResult, AdminContext, CancellationToken, Task<int>> body, Argument[]? arguments = null, params Option[] options)
    {
        var command = new Command(name, description);
        var network = NetworkArgument();
        command.Arguments.Add(network);
        foreach (var argument in arguments ?? [])
        {
            command.Arguments.Add(argument);
        }
        AddOptions(command, options);
        command.SetAction((parse, ct) => NetworkCli.RunAsync(async token =>
        {
            var home = PinholeHome.Resolve(parse.GetValue(GlobalOptions.Home));
            var id = NetworkId.Parse(parse.GetValue(network)!);
            using var identity = await GlobalOptions.LoadIdentityAsync(parse, token).ConfigureAwait(false);
            var file = await NetworkCli.LoadAdminAsync(home, id, token).ConfigureAwait(false);
            using var client = NetworkCli.AdminClient(file, identity);
            return await body(parse, new AdminContext(home, id, identity, file, client), token).ConfigureAwait(false);
        }, ct));
        return command;
    }

    private static void AddOptions(Command command, params Option[] options)
    {
        foreach (var option in options)
        {
            command.Options.Add(option);
        }
    }

    private static Command CreateNetwork()
    {
        var command = new Command("create", "Create a network whose only admin is this home's key; prints its id (the hash of its signed genesis).");
        var name = new Argument<string>("name") { Description = "A name shown to members." };
        var api = new Option<string>("--admin-api") { Description = "The coordinator's admin API, https://HOST:PORT.", Required = true };
        var coordinator = new Option<string>("--coordinator") { Description = "The coordinator's PeerId (pinned: the admin API must prove it).", Required = true };
        var ipv4 = new Option<string?>("--ipv4") { Description = "Virtual IPv4 prefix, e.g. 100.96.0.0/16." };
        var ipv6 = new Option<string?>("--ipv6") { Description = "Virtual IPv6 prefix, e.g. fd7a:115c:a1e0::/64." };
        command.Arguments.Add(name);
        AddOptions(command, api, coordinator, ipv4, ipv6);
        command.SetAction((parse, ct) => NetworkCli.RunAsync(async token =>
        {
            var home = PinholeHome.Resolve(parse.GetValue(GlobalOptions.Home));
            using var identity = await GlobalOptions.LoadIdentityAsync(parse, token).ConfigureAwait(false);
            var genesis = GenesisRecord.Create(parse.GetValue(name)!, new AdminSet([identity.PublicKey], 1),
                parse.GetValue(ipv4) is { } v4 ? IPNetwork.Parse(v4) : null,
                parse.GetValue(ipv6) is { } v6 ? IPNetwork.Parse(v6) : null,
                DateTimeOffset.UtcNow, [identity]);
            var file = new AdminNetworkFile(genesis.Network.ToString(), parse.GetValue(api)!, PeerId.Parse(parse.GetValue(coordinator)!).ToString(),
                Convert.ToBase64String(genesis.Encoded.Span));
            using var client = NetworkCli.AdminClient(file, identity);
            var info = await client.CreateNetworkAsync(genesis, token).ConfigureAwait(false);
            await NetworkCli.SaveAdminAsync(home, file, token).ConfigureAwait(false);
            await Console.Out.WriteLineAsync(info.Network).ConfigureAwait(false);
            return ExitCodes.Success;
        }, ct));
        return command;
    }

    private static Command Invite()
    {
        var groups = new Option<string[]>("--group") { Description = "Group of the new member (repeatable). Default: all." };
        var redeemWithin = new Option<string>("--redeem-within") { Description = "How long the invite can be redeemed (e.g. 30m, 12h, 7d; at most 30d).", DefaultValueFactory = _ => "7d" };
        var validFor = new Option<string>("--valid-for") { Description = "How long the membership it grants lasts (e.g. 30d, at most the network's maximum).", DefaultValueFactory = _ => "30d" };
        var addresses = new Option<string[]>("--coordinator-address") { Description = "Coordinator multiaddr for the invite (repeatable; default: the addresses the coordinator reports)." };
        return AdminCommand("invite", "Print a one-time invite: 'pinhole join INVITE' on the new node redeems it for that node's key.", async (parse, admin, token) =>
        {
            var coordinators = (parse.GetValue(addresses) ?? []).Select(Multiaddr.Parse).ToList();
            if (coordinators.Count == 0)
            {
                var info = await admin.Client.GetNetworkAsync(admin.Network, token).ConfigureAwait(false);
                coordinators.AddRange(info.Addresses.Select(Multiaddr.Parse));
            }
            using var key = InviteCode.GenerateKey();
            var allocation = await admin.Client.AllocateAsync(admin.Network, key.PeerId, token).ConfigureAwait(false);
            var now = DateTimeOffset.UtcNow;
            var invite = Membership.Invite.Create(admin.Identity, admin.Network, key.PublicKey, coordinators,
                allocation.Ipv4 is { } v4 ? IPAddress.Parse(v4) : null, allocation.Ipv6 is { } v6 ? IPAddress.Parse(v6) : null,
                parse.GetValue(groups) is { Length: > 0 } g ? g : ["all"], now, now + Duration(parse.GetValue(redeemWithin)!), now + Duration(parse.GetValue(validFor)!));
            using var code = InviteCode.Create(invite, key);
            await Console.Out.WriteLineAsync(code.ToString()).ConfigureAwait(false);
            CliOutput.Note($"invite for {allocation.Ipv4 ?? allocation.Ipv6 ?? "a member"}; redeem by {invite.RedeemBy:u}; it holds a private key: send it privately.");
            return ExitCodes.Success;
        }, null, groups, redeemWithin, validFor, addresses);
    }

    private static Command Members() =>
        AdminCommand("members", "List the members by this machine's own check of every record (the coordinator's answers are verified, not trusted).", async (_, admin, token) =>
        {
            var state = await NetworkCli.VerifiedStateAsync(admin.Client, admin.File, token).ConfigureAwait(false);
            var view = state.GetView(DateTimeOffset.UtcNow);
            var table = new TextTable("PEER", "IPV4", "IPV6", "GROUPS", "UNTIL", "ENDPOINT");
            foreach (var member in view.Members.Values.OrderBy(m => m.Ipv4?.ToString() ?? m.Peer.ToString(), StringComparer.Ordinal))
            {
                table.Add(member.Peer.ToString(), member.Ipv4?.ToString() ?? "-", member.Ipv6?.ToString() ?? "-", string.Join(",", member.Groups),
                    member.NotAfter.ToString("u", CultureInfo.InvariantCulture) + (member.Provisional ? " (invite)" : ""),
                    member.Addresses.Count == 0 ? "-" : string.Join(" ", member.Addresses));
            }
            table.Write(Console.Out);
            foreach (var (peer, threshold) in view.Revoked)
            {
                await Console.Out.WriteLineAsync($"revoked: {peer} (credentials up to {threshold:u})").ConfigureAwait(false);
            }
            foreach (var alert in view.Alerts)
            {
                CliOutput.Note("alert: " + alert.Message);
            }
            return ExitCodes.Success;
        });

    private static Command Revoke()
    {
        var peer = new Argument<string>("peer") { Description = "The member's PeerId." };
        var reason = new Option<string>("--reason") { Description = "Why (stored in the signed record).", DefaultValueFactory = _ => "" };
        return AdminCommand("revoke", "Revoke a member: every credential issued to it up to now is void on every node (also passed peer to peer).", async (parse, admin, token) =>
        {
            var now = DateTimeOffset.UtcNow;
            var revocation = RevocationRecord.Issue(admin.Identity, admin.Network, PeerId.Parse(parse.GetValue(peer)!), now, now, parse.GetValue(reason) ?? "");
            await admin.Client.PublishAsync(admin.Network, [revocation], cancellationToken: token).ConfigureAwait(false);
            await Console.Out.WriteLineAsync($"revoked {revocation.Peer} (record {revocation.Id})").ConfigureAwait(false);
            return ExitCodes.Success;
        }, [peer], reason);
    }

    private static Command RotateAdmin()
    {
        var add = new Option<string[]>("--add") { Description = "Public key of a new admin, base64 (as 'pinhole id --json' prints it; repeatable)." };
        var remove = new Option<string[]>("--remove") { Description = "PeerId of an admin to remove (repeatable)." };
        var threshold = new Option<int?>("--threshold") { Description = "Admin signatures needed for later changes (default: unchanged, at most the new admin count)." };
        var cosigners = new Option<string[]>("--cosigner") { Description = "Home directory of another current admin whose key co-signs (repeatable)." };
        return AdminCommand("rotate-admin", "Change the admin set by a record signed by a threshold of the current admins (this home's key plus --cosigner homes).", async (parse, admin, token) =>
        {
            var signers = new List<NodeIdentity> { admin.Identity };
            try
            {
                foreach (var cosigner in parse.GetValue(cosigners) ?? [])
                {
                    signers.Add(await PinholeHome.LoadOrCreateIdentityAsync(cosigner, token).ConfigureAwait(false));
                }
                var state = await NetworkCli.VerifiedStateAsync(admin.Client, admin.File, token).ConfigureAwait(false);
                var removed = (parse.GetValue(remove) ?? []).Select(PeerId.Parse).ToHashSet();
                var admins = state.Admins.Admins.Where(k => !removed.Contains(k.PeerId))
                    .Concat((parse.GetValue(add) ?? []).Select(k => Libp2pPublicKey.Decode(Convert.FromBase64String(k))))
                    .DistinctBy(k => k.PeerId).ToList();
                var next = new AdminSet(admins, parse.GetValue(threshold) ?? Math.Min(state.Admins.Threshold, admins.Count), state.Admins.Issuers);
                var change = AdminChangeRecord.Create(admin.Network, state.Epoch + 1, state.Head, next, DateTimeOffset.UtcNow, signers);
                // Checked here first: a change short of the threshold fails with the reason, before anything is sent.
                var check = state.Check(change, DateTimeOffset.UtcNow);
                if (check.Status == ApplyStatus.Rejected)
                {
                    throw new MembershipException(check.Error ?? MembershipError.Unauthorized, check.Message ?? "The change was refused.");
                }
                await admin.Client.PublishAsync(admin.Network, [change], cancellationToken: token).ConfigureAwait(false);
                await Console.Out.WriteLineAsync($"epoch {change.Epoch}: {next}").ConfigureAwait(false);
                return ExitCodes.Success;
            }
            finally
            {
                foreach (var signer in signers.Skip(1))
                {
                    signer.Dispose();
                }
            }
        }, null, add, remove, threshold, cosigners);
    }

    /// <summary>30s, 15m, 12h, 7d, or a TimeSpan (1.00:00:00).</summary>
    internal static TimeSpan Duration(string text)
    {
        if (text.Length > 1 && double.TryParse(text[..^1], NumberStyles.Float, CultureInfo.InvariantCulture, out var n) && n > 0)
        {
            switch (text[^1])
            {
                case 's': return TimeSpan.FromSeconds(n);
                case 'm': return TimeSpan.FromMinutes(n);
                case 'h': return TimeSpan.FromHours(n);
                case 'd': return TimeSpan.FromDays(n);
            }
        }
        return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var span) && span > TimeSpan.Zero
            ? span
            : throw new FormatException($"'{text}' is not a duration (use e.g. 30m, 12h, 7d).");
    }
}
