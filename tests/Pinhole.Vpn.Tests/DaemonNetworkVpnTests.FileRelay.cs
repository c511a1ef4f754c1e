using System.Text.Json;
using Pinhole.Testing;

namespace Pinhole.Vpn.Tests;

// File mode over the relay: two daemons with `--vpn FILE` (peers by PeerId, no coordinator), UDP between them dropped
// in A's namespace, a node connection made with `pinhole connect`: the relay stream rides it, the tunnel runs relayed,
// and returns to direct (one change each) when the rule goes.
public sealed partial class DaemonNetworkVpnTests
{
    private const string LocalUdpBlock = """
        table inet pinhole_udpblock {
          chain output {
            type filter hook output priority -10; policy accept;
            ip daddr 10.0.0.2 meta l4proto udp drop
          }
          chain input {
            type filter hook input priority -10; policy accept;
            ip saddr 10.0.0.2 meta l4proto udp drop
          }
        }
        """;

    [NetnsFact("ping", "nft")]
    public async Task FileMode_UdpBlocked_TheTunnelRunsOverTheRelayStreamOfTheNodeConnection_AndReturnsToDirect()
    {
        await using var lab = await VpnLab.CreateAsync(start: false);
        await lab.A.NftAsync(LocalUdpBlock);
        string root = Directory.CreateTempSubdirectory("pinhole-vpn-filerelay-").FullName;
        try
        {
            string homeA = Path.Combine(root, "a"), homeB = Path.Combine(root, "b");
            string idA = (await RunAsync(lab.A, homeA, "id")).Trim(), idB = (await RunAsync(lab.B, homeB, "id")).Trim();
            string configA = Path.Combine(root, "a.conf"), configB = Path.Combine(root, "b.conf");
            await File.WriteAllTextAsync(configA, PeerConfigs.OnePeer("10.7.0.1", idB, "10.7.0.2", "10.0.0.2"));
            await File.WriteAllTextAsync(configB, PeerConfigs.OnePeer("10.7.0.2", idA, "10.7.0.1", null));

            await using var b = lab.B.Start("dotnet", [Pinhole, "--home", homeB, "daemon", "--listen", "/ip4/10.0.0.2/tcp/0", "--no-udp", "--verbose", "--vpn", configB]);
            string addressB = (await b.WaitForLineAsync(l => l.StartsWith("/ip4/10.0.0.2/tcp/", StringComparison.Ordinal), Guard)).Trim();
            await b.WaitForLineAsync(l => l.StartsWith("api socket:", StringComparison.Ordinal), Guard);
            await using var a = lab.A.Start("dotnet", [Pinhole, "--home", homeA, "daemon", "--listen", "/ip4/10.0.0.1/tcp/0", "--no-udp", "--verbose", "--vpn", configA]);
            await a.WaitForLineAsync(l => l.StartsWith("api socket:", StringComparison.Ordinal), Guard);
            string Logs() => $"A ({idA}):\n{a.Output()}\nB ({idB}):\n{b.Output()}";

            // The node connection the relay stream rides (TCP is not blocked); the PeerId is pinned by the address.
            await RunAsync(lab.A, homeA, "connect", addressB.Contains("/p2p/", StringComparison.Ordinal) ? addressB : addressB + "/p2p/" + idB);
            await UntilAsync(async () => (await VpnPeerStatusAsync(homeA)).TryGetValue(idB, out var p) && p.GetProperty("hasRelay").GetBoolean()
                && (await VpnPeerStatusAsync(homeB)).TryGetValue(idA, out var q) && q.GetProperty("hasRelay").GetBoolean(), "both have a relay stream", Logs);

            await UntilAsync(async () => (await VpnLab.PingAsync(lab.A, "10.7.0.2", count: 3, wait: 2)).ExitCode == 0, "A pings B over the relay", Logs);
            Assert.Equal("relayed", await PathAsync(homeA, idB));
            Assert.Equal("relayed", await PathAsync(homeB, idA));
            ProcessResult ping = await VpnLab.PingAsync(lab.B, "10.7.0.1", count: 3);
            Assert.True(ping.ExitCode == 0, ping + Logs());
            long changesA = (await VpnPeerStatusAsync(homeA))[idB].GetProperty("pathChanges").GetInt64();
            long changesB = (await VpnPeerStatusAsync(homeB))[idA].GetProperty("pathChanges").GetInt64();

            await lab.A.ExecAsync("nft", "delete", "table", "inet", "pinhole_udpblock");
            await UntilAsync(async () => (await VpnLab.PingAsync(lab.A, "10.7.0.2", count: 3, wait: 2)).ExitCode == 0
                && await PathAsync(homeA, idB) == "direct" && await PathAsync(homeB, idA) == "direct", "both back on the direct path", Logs);
            Dictionary<string, JsonElement> viewA = await VpnPeerStatusAsync(homeA), viewB = await VpnPeerStatusAsync(homeB);
            Assert.Equal("10.0.0.2:51820", viewA[idB].GetProperty("endpoint").GetString());
            Assert.Equal("10.0.0.1:51820", viewB[idA].GetProperty("endpoint").GetString());
            Assert.True(viewA[idB].GetProperty("pathChanges").GetInt64() == changesA + 1 && viewB[idA].GetProperty("pathChanges").GetInt64() == changesB + 1,
                $"path changes {changesA}/{changesB} → {viewA[idB].GetProperty("pathChanges")}/{viewB[idA].GetProperty("pathChanges")}\n" + PathLines(Logs()));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
