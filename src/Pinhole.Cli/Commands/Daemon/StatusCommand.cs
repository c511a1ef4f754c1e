using System.CommandLine;
using System.Text.Json.Serialization;
using Pinhole.Cli.Output;
using Pinhole.Node.Api;

namespace Pinhole.Cli.Commands.Daemon;

/// <summary><c>pinhole status</c>: the node and every peer, like <c>tailscale status</c>.</summary>
internal static partial class StatusCommand
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
        using var text = new StringWriter();
        var fields = new List<(string, string?)>
        {
            ("peer id", status.PeerId),
            ("state", status.State + ", up " + CliOutput.Duration(TimeSpan.FromSeconds(status.UptimeSeconds))),
        };
        fields.AddRange(status.Addresses.Select(a => ("address", (string?)a)));
        fields.AddRange(NatFields(status.Services));
        fields.AddRange(VpnFields(status.Services));
        fields.Add(("api", status.Api.Socket));
        fields.Add(("web", status.Api.Web));
        if (status.OcapnLocator is { } locator)
        {
            fields.Add(("ocapn", locator));
        }
        TextTable.Fields(text, fields);
        text.WriteLine();
        var table = new TextTable("peer", "alias", "status", "rtt", "tx", "rx");
        var byPeer = connections.Where(c => c.State == "active").ToDictionary(c => c.PeerId, StringComparer.Ordinal);
        foreach (var peer in peers)
        {
            if (byPeer.Remove(peer.PeerId, out var c))
            {
                table.Add(peer.PeerId, peer.Alias, Active(c), DaemonClient.Rtt(c.RttMs), CliOutput.Bytes(c.BytesSent), CliOutput.Bytes(c.BytesReceived));
            }
            else
            {
                var seen = peer.LastSeen is null ? "offline, never seen" : "offline, last seen " + DaemonClient.Ago(peer.LastSeen);
                table.Add(peer.PeerId, peer.Alias, seen, null, null, null);
            }
        }
        foreach (var c in byPeer.Values)
        {
            table.Add(c.PeerId, null, Active(c), DaemonClient.Rtt(c.RttMs), CliOutput.Bytes(c.BytesSent), CliOutput.Bytes(c.BytesReceived));
        }
        if (table.Count == 0)
        {
            text.WriteLine("no peers yet: pinhole connect ADDRESS, or pinhole peers add PEER --address ADDRESS");
        }
        else
        {
            table.Write(text);
        }
        return text.ToString();
    }

    private static string Active(ConnectionResponse c) => $"active; {c.Path} {c.RemoteAddress ?? c.Netlayer}, {c.Direction}";
}

/// <summary><c>pinhole status --json</c>: the three API documents together.</summary>
internal sealed record StatusDocument(StatusResponse Self, List<PeerResponse> Peers, List<ConnectionResponse> Connections);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(StatusDocument))]
internal sealed partial class StatusJsonContext : JsonSerializerContext
{
}
