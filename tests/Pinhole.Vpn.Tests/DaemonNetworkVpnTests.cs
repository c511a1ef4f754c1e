using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Pinhole.Testing;
using Xunit.Abstractions;

namespace Pinhole.Vpn.Tests;

/// <summary>
/// Issue 11's "done when" with real processes: a coordinator on the public side, an admin who creates a network and
/// two invites with the admin CLI, two daemons — A behind the NAT lab's router, B public — that each `pinhole join`
/// with an invite and run `pinhole daemon --vpn-network`, then ping and iperf3 each other by virtual IP; the admin revokes B and
/// A's VPN drops it (status shows it gone, ping fails). Every wait is on state, bounded only as a hang guard.
/// </summary>
[Trait("Category", "Netns")]
public sealed partial class DaemonNetworkVpnTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(120);
    private static readonly TimeSpan Command = TimeSpan.FromSeconds(90);

    private static string Pinhole => Path.Combine(AppContext.BaseDirectory, "pinhole.dll");

    [GeneratedRegex(@"^ipv4:\s+(\S+)", RegexOptions.Multiline)]
    private static partial Regex Ipv4Line();

    private static async Task<string> RunAsync(NetworkNamespace ns, string home, params string[] args) =>
        (await ns.TryExecAsync(Command, ["dotnet", Pinhole, "--home", home, .. args])).EnsureSuccess().StandardOutput;

    private static async Task<ProcessResult> TryAsync(string home, params string[] args) =>
        await ExternalProcess.RunAsync("dotnet", [Pinhole, "--home", home, .. args], Command);

    private static ExternalProcess Daemon(NetworkNamespace ns, string home, params string[] extra) =>
        ns.Start("dotnet", [Pinhole, "--home", home, "daemon", "--listen", "/ip4/0.0.0.0/tcp/0", "--no-udp", .. extra]);

    // PeerId → endpoint ("" when none) of the home's VPN, from `pinhole vpn status --json`.
    private static async Task<Dictionary<string, string>> VpnPeersAsync(string home)
    {
        ProcessResult status = (await TryAsync(home, "vpn", "status", "--json")).EnsureSuccess();
        using var document = JsonDocument.Parse(status.StandardOutput);
        var peers = new Dictionary<string, string>();
        foreach (JsonElement peer in document.RootElement.GetProperty("interfaces")[0].GetProperty("peers").EnumerateArray())
        {
            peers[peer.GetProperty("peerId").GetString()!] = peer.GetProperty("endpoint").ValueKind == JsonValueKind.String ? peer.GetProperty("endpoint").GetString()! : "";
        }
        return peers;
    }

    private static async Task UntilAsync(Func<Task<bool>> condition, string what, Func<string> diagnostics)
    {
        var deadline = DateTime.UtcNow + Guard;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"never: {what}\n{diagnostics()}");
            await Task.Delay(200);
        }
    }

    [NetnsFact("ping", "iperf3")]
    public async Task TwoDaemonsJoinWithAnInviteEach_PingAndIperfByVirtualIp_AndARevokedPeerIsDropped()
    {
        // Long conntrack timeouts: this test is about membership, not NAT expiry (NetnsPathTests covers that).
        await using var lab = await NatLab.CreateAsync(TimeSpan.Zero, udpTimeoutSeconds: 600, inProcessVpn: false);
        string root = Directory.CreateTempSubdirectory("pinhole-vpn-net-").FullName;
        try
        {
            string coordHome = Path.Combine(root, "coord"), admin = Path.Combine(root, "admin"), homeA = Path.Combine(root, "a"), homeB = Path.Combine(root, "b");

            // The coordinator and the admin live on the public side (B's namespace); the admin API is on its loopback.
            await using var coordinator = lab.B.Start("dotnet", [Pinhole, "--home", coordHome, "coordinator", "--store", "sqlite:" + Path.Combine(root, "coord.db"),
                "--listen", "/ip4/203.0.113.2/tcp/0", "--admin-api", "https://127.0.0.1:0"]);
            string coordinatorId = (await coordinator.WaitForLineAsync(l => l.StartsWith("coordinator: ", StringComparison.Ordinal), Guard))["coordinator: ".Length..].Trim();
            string api = (await coordinator.WaitForLineAsync(l => l.StartsWith("admin api: ", StringComparison.Ordinal), Guard))["admin api: ".Length..].Trim();
            string network = (await RunAsync(lab.B, admin, "network", "create", "vpnnet", "--admin-api", api, "--coordinator", coordinatorId, "--ipv4", "10.77.0.0/24")).Trim();
            string inviteA = (await RunAsync(lab.B, admin, "network", "invite", network)).Trim();
            string inviteB = (await RunAsync(lab.B, admin, "network", "invite", network)).Trim();

            // Each node joins from its own namespace (A through the NAT) with one command.
            string ipA = Ipv4Line().Match(await RunAsync(lab.A, homeA, "join", inviteA)).Groups[1].Value;
            string ipB = Ipv4Line().Match(await RunAsync(lab.B, homeB, "join", inviteB)).Groups[1].Value;
            Assert.StartsWith("10.77.0.", ipA, StringComparison.Ordinal);
            Assert.StartsWith("10.77.0.", ipB, StringComparison.Ordinal);
            string idA = (await RunAsync(lab.A, homeA, "id")).Trim(), idB = (await RunAsync(lab.B, homeB, "id")).Trim();

            // By name for B, by id for A: both are what `pinhole network ls` shows.
            await using var b = Daemon(lab.B, homeB, "--vpn-network", "vpnnet");
            await b.WaitForLineAsync(l => l.StartsWith("api socket:", StringComparison.Ordinal), Guard);
            await using var a = Daemon(lab.A, homeA, "--vpn-network", network);
            await a.WaitForLineAsync(l => l.StartsWith("api socket:", StringComparison.Ordinal), Guard);
            string Logs() => $"A:\n{a.Output()}\nB:\n{b.Output()}";

            // Each learns the other's data plane from field 7 of its signed endpoint record (never its TCP or DTLS address):
            // B's is public; A's is its private LAN address, which B cannot reach — A is behind the NAT. If A's first
            // handshake (its persistent keepalive) reaches B before A's announcement does, B keeps the proven mapping.
            await UntilAsync(async () => (await VpnPeersAsync(homeA)).GetValueOrDefault(idB) == "203.0.113.2:51820", "A has B's data-plane endpoint", Logs);
            await UntilAsync(async () => (await VpnPeersAsync(homeB)).GetValueOrDefault(idA) is string e && (e == "10.1.0.2:51820" || e.StartsWith("203.0.113.1:", StringComparison.Ordinal)),
                "B has A's announced (private) endpoint, or the mapping A's records proved", Logs);

            // So the NATed one pings first: its packets open the mapping, and B's endpoint for A follows A's first
            // authentic record to the router's public address. Then B reaches A through that mapping.
            ProcessResult ping = await VpnLab.PingAsync(lab.A, ipB, count: 3);
            Assert.True(ping.ExitCode == 0, ping + Logs());
            string roamed = (await VpnPeersAsync(homeB))[idA];
            Assert.StartsWith("203.0.113.1:", roamed, StringComparison.Ordinal);
            ping = await VpnLab.PingAsync(lab.B, ipA, count: 3);
            Assert.True(ping.ExitCode == 0, ping + Logs());
            // iperf3 TCP by virtual IP, each way (8 MiB, byte-counted: no timing in the assertion). iperf3's receiver may
            // stop counting before the last bytes (its report races the data connection): the sender's count is exact.
            foreach (var (server, client, address) in new[] { (lab.B, lab.A, ipB), (lab.A, lab.B, ipA) })
            {
                Iperf.Result transfer = await Iperf.RunAsync(server, client, address, 8L << 20);
                Assert.True(transfer.SentBytes >= 8L << 20 && transfer.Bytes > 0, $"iperf3 to {address}: sent {transfer.SentBytes}, received {transfer.Bytes}");
            }

            string statusLine = (await TryAsync(homeA, "status")).EnsureSuccess().StandardOutput.Split('\n').Single(l => l.TrimStart().StartsWith("vpn", StringComparison.Ordinal));
            Assert.Contains($"pinhole0 {ipA}/24 on UDP ", statusLine);
            Assert.EndsWith(":51820, 1 peer(s), 1 with a session (pinhole vpn status)", statusLine.TrimEnd());

            // The admin revokes B: A's VPN drops the peer and its route, by A's own check of the revocation.
            await RunAsync(lab.B, admin, "network", "revoke", network, idB, "--reason", "lost laptop");
            await UntilAsync(async () => !(await VpnPeersAsync(homeA)).ContainsKey(idB), "A's VPN dropped B", Logs);
            ping = await VpnLab.PingAsync(lab.A, ipB, count: 2, wait: 1);
            Assert.True(ping.ExitCode != 0, "B still answers through A's VPN after its revocation:\n" + ping);
            Assert.Contains("0 peer(s)", (await TryAsync(homeA, "status")).EnsureSuccess().StandardOutput);
            // B learns it was cut off and drops every peer too.
            await UntilAsync(async () => (await VpnPeersAsync(homeB)).Count == 0, "B's VPN, revoked, has no peers", Logs);

            foreach (ExternalProcess daemon in new[] { a, b })
            {
                await lab.A.ExecAsync("kill", "-TERM", daemon.Id.ToString(CultureInfo.InvariantCulture));
                Assert.Equal(0, await daemon.WaitForExitAsync(Guard));
            }
            Assert.DoesNotContain("pinhole0", (await lab.A.ExecAsync("ip", "link")).StandardOutput);
            Assert.DoesNotContain("pinhole0", (await lab.B.ExecAsync("ip", "link")).StandardOutput);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task UnknownNetwork_ExitsTwoNamingItAndTheJoinedOnes_BothModes_AUsageError()
    {
        string root = Directory.CreateTempSubdirectory("pinhole-vpn-net-").FullName;
        try
        {
            string home = Path.Combine(root, "h");
            // Checked before anything listens: loopback only, and the daemon never gets that far.
            ProcessResult unknown = await TryAsync(home, "daemon", "--listen", "/ip4/127.0.0.1/tcp/0", "--no-udp", "--vpn-network", "nowhere");
            Assert.Equal(2, unknown.ExitCode);
            Assert.Contains("Node:Vpn:Network: 'nowhere' is not a network this node has joined; it has joined none (pinhole join INVITE).", unknown.StandardError);
            Assert.DoesNotContain("api socket:", unknown.StandardOutput);

            string config = Path.Combine(root, "vpn.conf");
            await File.WriteAllTextAsync(config, "[Interface]\nAddress = 10.7.0.1/24\n");
            ProcessResult both = await TryAsync(home, "daemon", "--listen", "/ip4/127.0.0.1/tcp/0", "--no-udp", "--vpn", config, "--vpn-network", "nowhere");
            Assert.Equal(2, both.ExitCode);
            Assert.Contains("are two modes; set one (--vpn or --vpn-network)", both.StandardError);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
