using System.Globalization;
using System.Text.Json;
using Pinhole.Testing;
using Pinhole.Testing.Netlab;

namespace Pinhole.Vpn.Tests;

// The relay fallback with real processes (docs/vpn.md, "Relay path"): A behind the NAT lab's router, B public, the
// coordinator on B's side, and UDP between A and B dropped by an nft rule on A's router. The node connection
// (TCP, A dials B) still exists, so the lower PeerId opens /pinhole/vpn-relay/1.0.0 over it and the tunnel runs
// over that stream; when the test deletes the rule, A's direct probes reach B and the path goes back to direct.
public sealed partial class DaemonNetworkVpnTests
{
    // The forward hook of A's router, before its NAT and filter: UDP to or from B goes nowhere (TCP still passes).
    private const string UdpBlock = """
        table inet pinhole_udpblock {
          chain forward {
            type filter hook forward priority -10; policy accept;
            ip daddr 203.0.113.2 meta l4proto udp drop
            ip saddr 203.0.113.2 meta l4proto udp drop
          }
        }
        """;

    // PeerId → the peer's entry in the home's `pinhole vpn status --json` (path, hasRelay, pathChanges, endpoint, …).
    private static async Task<Dictionary<string, JsonElement>> VpnPeerStatusAsync(string home)
    {
        ProcessResult status = (await TryAsync(home, "vpn", "status", "--json")).EnsureSuccess();
        using var document = JsonDocument.Parse(status.StandardOutput);
        return document.RootElement.GetProperty("interfaces")[0].GetProperty("peers").EnumerateArray()
            .ToDictionary(p => p.GetProperty("peerId").GetString()!, p => p.Clone());
    }

    // The interface's relay counters (datagrams sent, received and dropped over relay streams).
    private static async Task<string> RelayCountersAsync(string home)
    {
        ProcessResult status = (await TryAsync(home, "vpn", "status", "--json")).EnsureSuccess();
        using var document = JsonDocument.Parse(status.StandardOutput);
        JsonElement vpn = document.RootElement.GetProperty("interfaces")[0];
        return $"relay sent {vpn.GetProperty("relaySent").GetInt64()}, received {vpn.GetProperty("relayReceived").GetInt64()}, dropped {vpn.GetProperty("relayDropped").GetInt64()}";
    }

    private static async Task<string> PathAsync(string home, string peer) =>
        (await VpnPeerStatusAsync(home)).TryGetValue(peer, out JsonElement p) ? p.GetProperty("path").GetString()! : "(no such peer)";

    private static string Describe(JsonElement peer) =>
        $"path {peer.GetProperty("path").GetString()}, endpoint {peer.GetProperty("endpoint")}, hasRelay {peer.GetProperty("hasRelay").GetBoolean()}, pathChanges {peer.GetProperty("pathChanges").GetInt64()}";

    // The daemons' path and handshake lines (why each change happened), for a failure message.
    private static string PathLines(string logs) =>
        string.Join('\n', logs.Split('\n').Where(l => l.Contains("path", StringComparison.OrdinalIgnoreCase) || l.Contains("andshake", StringComparison.Ordinal) || l.StartsWith('A') || l.StartsWith('B')));

    [NetnsFact("ping", "iperf3", "nft")]
    public async Task UdpBlockedBetweenMembers_TheTunnelRunsOverTheRelayStream_AndReturnsToDirectWhenUdpDoes()
    {
        await using var lab = await NatLab.CreateAsync(TimeSpan.Zero, udpTimeoutSeconds: 600, inProcessVpn: false);
        await lab.R.NftAsync(UdpBlock);
        string root = Directory.CreateTempSubdirectory("pinhole-vpn-relay-").FullName;
        try
        {
            await using var members = await JoinTwoAsync(root, lab.B, "203.0.113.2", lab.A, lab.B, "relaynet", "10.79.0.0/24");
            string homeA = members.HomeA, homeB = members.HomeB, ipA = members.IpA, ipB = members.IpB, idA = members.IdA, idB = members.IdB;

            await using var b = Daemon(lab.B, homeB, "--verbose", "--vpn-network", "relaynet");
            await b.WaitForLineAsync(l => l.StartsWith("api socket:", StringComparison.Ordinal), Guard);
            await using var a = Daemon(lab.A, homeA, "--verbose", "--vpn-network", "relaynet");
            await a.WaitForLineAsync(l => l.StartsWith("api socket:", StringComparison.Ordinal), Guard);
            async Task<string> StateAsync() =>
                $"A: {await RelayCountersAsync(homeA)}; B: {await RelayCountersAsync(homeB)}; " +
                $"A's view of B: {((await VpnPeerStatusAsync(homeA)).TryGetValue(idB, out var pb) ? Describe(pb) : "none")}; " +
                $"B's view of A: {((await VpnPeerStatusAsync(homeB)).TryGetValue(idA, out var pa) ? Describe(pa) : "none")}";
            string Logs() => $"A ({idA}):\n{a.Output()}\nB ({idB}):\n{b.Output()}";

            // The relay stream exists on both sides (whichever of the two opened it).
            await UntilAsync(async () => (await VpnPeerStatusAsync(homeA)).TryGetValue(idB, out var p) && p.GetProperty("hasRelay").GetBoolean()
                && (await VpnPeerStatusAsync(homeB)).TryGetValue(idA, out var q) && q.GetProperty("hasRelay").GetBoolean(), "both have a relay stream", Logs);

            // A pings B: the handshake over UDP fails (dropped at the router), the path moves to the relay and the
            // handshake runs there. Rounds repeat until an answer comes, bounded by the guard only.
            string state = "";
            await UntilAsync(async () =>
            {
                bool answered = (await VpnLab.PingAsync(lab.A, ipB, count: 3, wait: 2)).ExitCode == 0;
                state = await StateAsync();
                return answered;
            }, "A pings B over the relay", () => state + "\n" + Logs());
            Assert.Equal("relayed", await PathAsync(homeA, idB));
            Assert.Equal("relayed", await PathAsync(homeB, idA));
            ProcessResult ping = await VpnLab.PingAsync(lab.B, ipA, count: 3);
            Assert.True(ping.ExitCode == 0, ping + await StateAsync() + Logs());
            Assert.Equal("relayed", await PathAsync(homeB, idA));

            Iperf.Result relayedUp = await Iperf.RunAsync(lab.B, lab.A, ipB, 64L << 20);
            Iperf.Result relayedDown = await Iperf.RunAsync(lab.A, lab.B, ipA, 64L << 20);
            Assert.True(relayedUp.SentBytes >= 64L << 20 && relayedDown.SentBytes >= 64L << 20, $"relayed iperf3: sent {relayedUp.SentBytes} and {relayedDown.SentBytes}");
            Assert.Equal("relayed", await PathAsync(homeA, idB));
            long changesA = (await VpnPeerStatusAsync(homeA))[idB].GetProperty("pathChanges").GetInt64();
            long changesB = (await VpnPeerStatusAsync(homeB))[idA].GetProperty("pathChanges").GetInt64();

            // UDP returns: A's direct probe (every DirectProbeInterval) now reaches B, whose ack over UDP moves A; A's
            // UDP records make B probe, and A's ack moves B. Traffic keeps flowing meanwhile, and the records still queued
            // in the relay move nobody back (the path policy's hysteresis): exactly one change on each side.
            await lab.R.ExecAsync("nft", "delete", "table", "inet", "pinhole_udpblock");
            await UntilAsync(async () =>
            {
                ProcessResult round = await VpnLab.PingAsync(lab.A, ipB, count: 3, wait: 2);
                return round.ExitCode == 0 && await PathAsync(homeA, idB) == "direct" && await PathAsync(homeB, idA) == "direct";
            }, "both sides back on the direct path", Logs);
            Dictionary<string, JsonElement> viewA = await VpnPeerStatusAsync(homeA), viewB = await VpnPeerStatusAsync(homeB);
            Assert.Equal("203.0.113.2:51820", viewA[idB].GetProperty("endpoint").GetString());
            Assert.StartsWith("203.0.113.1:", viewB[idA].GetProperty("endpoint").GetString(), StringComparison.Ordinal);
            Assert.True(viewA[idB].GetProperty("pathChanges").GetInt64() == changesA + 1, $"A's path changes: {changesA} → " + await StateAsync() + "\n" + PathLines(Logs()));
            Assert.True(viewB[idA].GetProperty("pathChanges").GetInt64() == changesB + 1, $"B's path changes: {changesB} → " + await StateAsync() + "\n" + PathLines(Logs()));
            Assert.True(viewA[idB].GetProperty("hasRelay").GetBoolean(), "the relay stays attached as the fallback: " + await StateAsync());
            ping = await VpnLab.PingAsync(lab.B, ipA, count: 3);
            Assert.True(ping.ExitCode == 0, ping + await StateAsync() + Logs());

            Iperf.Result directUp = await Iperf.RunAsync(lab.B, lab.A, ipB, 64L << 20);
            Iperf.Result directDown = await Iperf.RunAsync(lab.A, lab.B, ipA, 64L << 20);
            Assert.Equal("direct", await PathAsync(homeA, idB));
            // Both paths delivered through two iperf3 runs: still the one change each.
            viewA = await VpnPeerStatusAsync(homeA);
            viewB = await VpnPeerStatusAsync(homeB);
            Assert.True(viewA[idB].GetProperty("pathChanges").GetInt64() == changesA + 1 && viewB[idA].GetProperty("pathChanges").GetInt64() == changesB + 1, await StateAsync() + "\n" + PathLines(Logs()));
            string load = (await ExternalProcess.RunAsync("uptime", [], Command)).StandardOutput.Trim();
            output.WriteLine($"iperf3 TCP, 1 stream, 64 MiB, by virtual IP (receiver's rate); load: {load}");
            foreach (var (what, r) in new[] { ("relayed A→B", relayedUp), ("relayed B→A", relayedDown), ("direct  A→B", directUp), ("direct  B→A", directDown) })
            {
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{what}: {r.BitsPerSecond / 1e9:F3} Gbit/s, {r.Retransmits} retransmits"));
            }
            output.WriteLine(await StateAsync());

            foreach (ExternalProcess daemon in new[] { a, b })
            {
                await lab.A.ExecAsync("kill", "-TERM", daemon.Id.ToString(CultureInfo.InvariantCulture));
                Assert.Equal(0, await daemon.WaitForExitAsync(Guard));
            }
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    // Any UDP forwarded by a site's router: the members have no UDP path at all, not even through their NATs.
    private const string AllUdpBlock = """
        table inet pinhole_udpblock {
          chain forward {
            type filter hook forward priority -10; policy accept;
            meta l4proto udp drop
          }
        }
        """;

    [NetnsFact("ping", "nft", "conntrack")]
    public async Task BothBehindNatsWithUdpBlocked_TheTunnelRunsOverALimitedCircuit()
    {
        await using var lab = await global::Pinhole.Testing.Netlab.NatLab.CreateAsync(new NatLabOptions().Add("a", NatType.Easy).Add("b", NatType.Easy));
        NetworkNamespace server = lab.Server.Namespace, nsA = lab["a"].Host.Namespace, nsB = lab["b"].Host.Namespace;
        await lab["a"].Router!.NftAsync(AllUdpBlock);
        await lab["b"].Router!.NftAsync(AllUdpBlock);
        string root = Directory.CreateTempSubdirectory("pinhole-vpn-circuit-").FullName;
        try
        {
            string homeR = Path.Combine(root, "relay");
            await using var members = await JoinTwoAsync(root, server, lab.ServerAddress.ToString(), nsA, nsB, "circ", "10.80.0.0/24");
            string homeA = members.HomeA, homeB = members.HomeB, ipA = members.IpA, ipB = members.IpB, idA = members.IdA, idB = members.IdB;

            // A circuit relay on the internet segment with its default limits (2 min, 128 KiB per direction): the
            // circuits it makes are limited connections, on which only protocols that opted in may run.
            await using var relay = Daemon(server, homeR, "--serve-relay");
            string relayAddress = (await relay.WaitForLineAsync(l => l.StartsWith($"/ip4/{lab.ServerAddress}/tcp/", StringComparison.Ordinal), Guard)).Trim();
            await relay.WaitForLineAsync(l => l.StartsWith("api socket:", StringComparison.Ordinal), Guard);

            string[] viaRelay = ["--relay", relayAddress, "--reachability", "private", "--no-hole-punching", "--verbose", "--vpn-network", "circ"];
            await using var a = Daemon(nsA, homeA, viaRelay);
            await a.WaitForLineAsync(l => l.StartsWith("api socket:", StringComparison.Ordinal), Guard);
            await using var b = Daemon(nsB, homeB, viaRelay);
            await b.WaitForLineAsync(l => l.StartsWith("api socket:", StringComparison.Ordinal), Guard);
            string Logs() => $"A ({idA}):\n{a.Output()}\nB ({idB}):\n{b.Output()}\nrelay:\n{relay.Output()}";

            // Neither can reach the other at any address of its own (private, behind NATs, no UDP): the node
            // connection between them is a circuit through the relay, and the VPN's relay stream runs on it.
            await UntilAsync(async () => (await VpnPeerStatusAsync(homeA)).TryGetValue(idB, out var p) && p.GetProperty("hasRelay").GetBoolean()
                && (await VpnPeerStatusAsync(homeB)).TryGetValue(idA, out var q) && q.GetProperty("hasRelay").GetBoolean(), "both have a relay stream over the circuit", Logs);
            Assert.Contains("/p2p-circuit", a.Output() + b.Output(), StringComparison.Ordinal);

            await UntilAsync(async () => (await VpnLab.PingAsync(nsA, ipB, count: 3, wait: 2)).ExitCode == 0, "A pings B over the circuit", Logs);
            Assert.Equal("relayed", await PathAsync(homeA, idB));
            Assert.Equal("relayed", await PathAsync(homeB, idA));
            ProcessResult ping = await VpnLab.PingAsync(nsB, ipA, count: 3);
            Assert.True(ping.ExitCode == 0, ping + Logs());
            output.WriteLine($"A: {await RelayCountersAsync(homeA)}; B: {await RelayCountersAsync(homeB)}");

            foreach (ExternalProcess daemon in new[] { a, b, relay })
            {
                await server.ExecAsync("kill", "-TERM", daemon.Id.ToString(CultureInfo.InvariantCulture));
                Assert.Equal(0, await daemon.WaitForExitAsync(Guard));
            }
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
