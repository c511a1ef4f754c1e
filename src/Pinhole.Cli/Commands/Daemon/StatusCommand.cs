using System.CommandLine;
using System.Text;
using System.Text.Json.Serialization;
using Pinhole.Node.Api;

namespace Pinhole.Cli.Commands.Daemon;

/// <summary><c>pinhole status</c>: the node and every peer, like <c>tailscale status</c>.</summary>
internal static class StatusCommand
{
    public static Command Create()
    {
        var command = new Command("status", "Show the running daemon: its PeerId, addresses, API, and each known peer with its connection state, path, RTT and traffic.");
        var json = DaemonClient.Json;
        command.Options.Add(json);
        command.Options.Add(DaemonClient.Socket);
        command.SetAction((parse, ct) => DaemonClient.RunAsync(parse, async (client, token) =>
        {
            var status = await client.GetStatusAsync(token).ConfigureAwait(false);
            var peers = await client.ListPeersAsync(token).ConfigureAwait(false);
            var connections = await client.ListConnectionsAsync(null, token).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                await DaemonClient.WriteJsonAsync(new StatusDocument(status, peers, connections), StatusJsonContext.Default.StatusDocument).ConfigureAwait(false);
                return ExitCodes.Success;
            }
            await Console.Out.WriteAsync(Render(status, peers, connections)).ConfigureAwait(false);
            return ExitCodes.Success;
        }, ct));
        return command;
    }

    internal static string Render(StatusResponse status, List<PeerResponse> peers, List<ConnectionResponse> connections)
    {
        var text = new StringBuilder();
        text.Append(status.PeerId).Append("  this node, ").Append(status.State).Append(", up ").Append(TextTable.Duration(TimeSpan.FromSeconds(status.UptimeSeconds))).Append('\n');
        foreach (var address in status.Addresses)
        {
            text.Append("  address  ").Append(address).Append('\n');
        }
        text.Append("  api      ").Append(status.Api.Socket ?? "-").Append('\n');
        if (status.Api.Web is { } web)
        {
            text.Append("  web      ").Append(web).Append('\n');
        }
        if (status.OcapnLocator is { } locator)
        {
            text.Append("  ocapn    ").Append(locator).Append('\n');
        }
        text.Append('\n');
        var table = new TextTable("PEER", "ALIAS", "STATUS", "RTT", "TX", "RX");
        var byPeer = connections.Where(c => c.State == "active").ToDictionary(c => c.PeerId, StringComparer.Ordinal);
        foreach (var peer in peers)
        {
            if (byPeer.Remove(peer.PeerId, out var c))
            {
                table.Add(peer.PeerId, peer.Alias ?? "-", Active(c), TextTable.Ms(c.RttMs), TextTable.Bytes(c.BytesSent), TextTable.Bytes(c.BytesReceived));
            }
            else
            {
                var seen = peer.LastSeen is { } last ? "offline, last seen " + TextTable.Duration(DateTimeOffset.UtcNow - last) + " ago" : "offline, never seen";
                table.Add(peer.PeerId, peer.Alias ?? "-", seen, "-", "-", "-");
            }
        }
        foreach (var c in byPeer.Values)
        {
            table.Add(c.PeerId, "-", Active(c), TextTable.Ms(c.RttMs), TextTable.Bytes(c.BytesSent), TextTable.Bytes(c.BytesReceived));
        }
        text.Append(table.Count == 0 ? "no peers yet: pinhole connect ADDRESS, or pinhole peers add PEER --address ADDRESS\n" : table.ToString());
        return text.ToString();
    }

    private static string Active(ConnectionResponse c) => $"active; {c.Path} {c.RemoteAddress ?? c.Netlayer}, {c.Direction}";
}

/// <summary><c>pinhole status --json</c>: the three API documents together.</summary>
internal sealed record StatusDocument(StatusResponse Self, List<PeerResponse> Peers, List<ConnectionResponse> Connections);

[JsonSourceGenerationOptions(System.Text.Json.JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, WriteIndented = true)]
[JsonSerializable(typeof(StatusDocument))]
internal sealed partial class StatusJsonContext : JsonSerializerContext
{
}
