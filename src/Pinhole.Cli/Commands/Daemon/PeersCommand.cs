using System.CommandLine;
using Pinhole.Cli.Output;
using Pinhole.Node.Api;

namespace Pinhole.Cli.Commands.Daemon;

/// <summary><c>pinhole peers</c>: the daemon's peer store (list, add, remove, pin, unpin).</summary>
internal static class PeersCommand
{
    public static Command Create()
    {
        var command = new Command("peers", "List the daemon's known peers (pinned first), or change them: add, remove, pin, unpin.");
        var json = DaemonClient.Json;
        command.Options.Add(json);
        command.Options.Add(DaemonClient.Socket);
        command.SetAction((parse, ct) => DaemonClient.RunAsync(parse, async (client, token) =>
        {
            var peers = await client.ListPeersAsync(token).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                await DaemonClient.WriteJsonAsync(peers, ApiJsonContext.Default.ListPeerResponse).ConfigureAwait(false);
                return ExitCodes.Success;
            }
            var table = new TextTable("peer", "alias", "trust", "keep", "connected", "last seen", "addresses");
            foreach (var p in peers)
            {
                table.Add(p.PeerId, p.Alias, p.Trust, p.KeepConnected ? "yes" : "no", p.Connected ? "yes" : "no",
                    DaemonClient.Ago(p.LastSeen), string.Join(", ", p.Addresses.Select(a => $"{a.Address} ({a.Source})")));
            }
            await Console.Out.WriteAsync(table.Count == 0 ? "no known peers\n" : table.ToString()).ConfigureAwait(false);
            return ExitCodes.Success;
        }, ct));
        command.Subcommands.Add(Add());
        command.Subcommands.Add(Remove());
        command.Subcommands.Add(Pin("pin", true, "Mark a peer as pinned (its PeerId was checked by a person)."));
        command.Subcommands.Add(Pin("unpin", false, "Demote a pinned peer to 'seen'."));
        return command;
    }

    private static Command Add()
    {
        var command = new Command("add", "Add a peer by PeerId (it becomes pinned), with addresses to dial it at.");
        var peer = new Argument<string>("PEER") { Description = "The peer's PeerId." };
        var address = new Option<string[]>("--address", "-a") { Description = "A multiaddr of the peer, e.g. /ip4/192.0.2.7/tcp/4001 (repeatable)." };
        var alias = new Option<string?>("--alias") { Description = "A local name for the peer." };
        var keep = new Option<bool>("--keep-connected") { Description = "Keep a connection to it, redialling with backoff." };
        var json = DaemonClient.Json;
        command.Arguments.Add(peer);
        command.Options.Add(address);
        command.Options.Add(alias);
        command.Options.Add(keep);
        command.Options.Add(json);
        command.Options.Add(DaemonClient.Socket);
        command.SetAction((parse, ct) => DaemonClient.RunAsync(parse, async (client, token) =>
        {
            var added = await client.AddPeerAsync(new AddPeerRequest(parse.GetValue(peer)!, parse.GetValue(alias), parse.GetValue(address) ?? [], parse.GetValue(keep) ? true : null), token).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                await DaemonClient.WriteJsonAsync(added, ApiJsonContext.Default.PeerResponse).ConfigureAwait(false);
            }
            else
            {
                await Console.Out.WriteLineAsync($"added {DaemonClient.Name(added.PeerId, added.Alias)} ({added.Trust}, {added.Addresses.Count} addresses)").ConfigureAwait(false);
            }
            return ExitCodes.Success;
        }, ct));
        return command;
    }

    private static Command Remove()
    {
        var command = new Command("remove", "Forget a peer and its addresses.");
        var peer = new Argument<string>("PEER") { Description = "PeerId or alias." };
        command.Arguments.Add(peer);
        command.Options.Add(DaemonClient.Socket);
        command.SetAction((parse, ct) => DaemonClient.RunAsync(parse, async (client, token) =>
        {
            await client.RemovePeerAsync(parse.GetValue(peer)!, token).ConfigureAwait(false);
            await Console.Out.WriteLineAsync("removed " + parse.GetValue(peer)).ConfigureAwait(false);
            return ExitCodes.Success;
        }, ct));
        return command;
    }

    private static Command Pin(string name, bool pinned, string description)
    {
        var command = new Command(name, description);
        var peer = new Argument<string>("PEER") { Description = "PeerId or alias." };
        command.Arguments.Add(peer);
        command.Options.Add(DaemonClient.Socket);
        command.SetAction((parse, ct) => DaemonClient.RunAsync(parse, async (client, token) =>
        {
            var updated = await client.UpdatePeerAsync(parse.GetValue(peer)!, new UpdatePeerRequest(Pinned: pinned), token).ConfigureAwait(false);
            await Console.Out.WriteLineAsync($"{DaemonClient.Name(updated.PeerId, updated.Alias)}: {updated.Trust}").ConfigureAwait(false);
            return ExitCodes.Success;
        }, ct));
        return command;
    }
}
