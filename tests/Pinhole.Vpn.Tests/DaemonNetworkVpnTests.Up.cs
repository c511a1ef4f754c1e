using Pinhole.Testing;

namespace Pinhole.Vpn.Tests;

// `pinhole vpn up --network NET` / `vpn down --network NET`: the CLI asks the running daemon's API (POST /v1/vpn,
// DELETE /v1/vpn/{network}); the daemon brings the network's VPN up and down while it runs.
public sealed partial class DaemonNetworkVpnTests
{
    /// <summary>No daemon: one line saying to start it; neither or both of --config/--network: a usage error.</summary>
    [Fact]
    public async Task VpnUpNetwork_WithoutADaemon_SaysToStartIt_AndTheModesAreExclusive()
    {
        string root = Directory.CreateTempSubdirectory("pinhole-vpn-up-").FullName;
        try
        {
            string home = Path.Combine(root, "h");
            ProcessResult up = await TryAsync(home, "vpn", "up", "--network", "office");
            Assert.Equal(6, up.ExitCode);
            string line = Assert.Single(up.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.Contains("No daemon is running with home ", line);
            Assert.Contains("start it with 'pinhole daemon --vpn-network office'", line);
            ProcessResult down = await TryAsync(home, "vpn", "down", "--network", "office");
            Assert.Equal(6, down.ExitCode);
            Assert.Contains("No daemon is running", down.StandardError);

            ProcessResult neither = await TryAsync(home, "vpn", "up");
            Assert.Equal(2, neither.ExitCode);
            Assert.Contains("Give one of --config FILE", neither.StandardError);
            ProcessResult both = await TryAsync(home, "vpn", "up", "--config", Path.Combine(root, "x.conf"), "--network", "office");
            Assert.Equal(2, both.ExitCode);
            Assert.Contains("Give one of --config FILE", both.StandardError);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>A running daemon (loopback, no privileges needed) refuses a network it has not joined, naming the ones it has.</summary>
    [Fact]
    public async Task VpnUpNetwork_ForANetworkNotJoined_IsNotFound_AndDownOfNothingToo()
    {
        string root = Directory.CreateTempSubdirectory("pinhole-vpn-up-").FullName;
        try
        {
            string home = Path.Combine(root, "h");
            await using var daemon = ExternalProcess.Start("dotnet", [Pinhole, "--home", home, "daemon", "--listen", "/ip4/127.0.0.1/tcp/0", "--no-udp"]);
            await daemon.WaitForLineAsync(l => l.StartsWith("api socket:", StringComparison.Ordinal), Guard);

            ProcessResult up = await TryAsync(home, "vpn", "up", "--network", "nowhere");
            Assert.Equal(8, up.ExitCode);
            Assert.Contains("'nowhere' is not a network this node has joined; it has joined none (pinhole join INVITE).", up.StandardError);
            ProcessResult down = await TryAsync(home, "vpn", "down", "--network", "nowhere");
            Assert.Equal(8, down.ExitCode);
            Assert.Contains("No VPN of network 'nowhere' runs in this daemon.", down.StandardError);
            Assert.Equal(0, (await TryAsync(home, "status")).ExitCode); // the daemon is still fine
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>
    /// Both daemons start without a VPN; `vpn up --network` brings each up (B by name, A by id), they ping by virtual IP,
    /// `vpn up` again says it is already up, `vpn down` takes A's down (status finds no interface, ping fails), and
    /// `vpn up` brings it back up in the same daemon.
    /// </summary>
    [NetnsFact("ping")]
    public async Task VpnUpNetwork_BringsTheDaemonsVpnUpAndDown_WhileItRuns()
    {
        await using var lab = await NatLab.CreateAsync(TimeSpan.Zero, udpTimeoutSeconds: 600, inProcessVpn: false);
        string root = Directory.CreateTempSubdirectory("pinhole-vpn-up-").FullName;
        try
        {
            await using var members = await JoinTwoAsync(root, lab.B, "203.0.113.2", lab.A, lab.B, "upnet", "10.78.0.0/24");
            string network = members.Network, homeA = members.HomeA, homeB = members.HomeB, ipA = members.IpA, ipB = members.IpB, idB = members.IdB;

            await using var b = Daemon(lab.B, homeB);
            await b.WaitForLineAsync(l => l.StartsWith("api socket:", StringComparison.Ordinal), Guard);
            await using var a = Daemon(lab.A, homeA);
            await a.WaitForLineAsync(l => l.StartsWith("api socket:", StringComparison.Ordinal), Guard);
            string Logs() => $"A:\n{a.Output()}\nB:\n{b.Output()}";
            Assert.Equal(6, (await TryAsync(homeA, "vpn", "status")).ExitCode); // no interface yet

            string upB = await RunAsync(lab.B, homeB, "vpn", "up", "--network", "upnet");
            Assert.StartsWith("pinhole0 up for network upnet: ", upB, StringComparison.Ordinal);
            Assert.Contains($" at {ipB}/24 on UDP ", upB);
            string upA = await RunAsync(lab.A, homeA, "vpn", "up", "--network", network);
            Assert.StartsWith("pinhole0 up for network upnet: ", upA, StringComparison.Ordinal);
            Assert.Contains("1 peer(s)", upA);

            // The members learn each other's data plane from the records the VPN now announces; A (behind the NAT) pings first.
            await UntilAsync(async () => (await VpnPeersAsync(homeA)).GetValueOrDefault(idB) == "203.0.113.2:51820", "A has B's data-plane endpoint", Logs);
            await UntilAsync(async () => (await VpnLab.PingAsync(lab.A, ipB, count: 1, wait: 2)).ExitCode == 0, "A pings B by virtual IP", Logs);
            ProcessResult ping = await VpnLab.PingAsync(lab.B, ipA, count: 3);
            if (ping.ExitCode != 0)
            {
                string statusA = (await TryAsync(homeA, "vpn", "status")).ToString(), statusB = (await TryAsync(homeB, "vpn", "status")).ToString();
                string conntrack = (await lab.R.TryExecAsync("conntrack", "-L", "-p", "udp")).ToString();
                Assert.Fail($"{ping}\nvpn status A:\n{statusA}\nvpn status B:\n{statusB}\nconntrack in R:\n{conntrack}\n{Logs()}");
            }

            Assert.StartsWith("pinhole0 already up for network upnet: ", await RunAsync(lab.A, homeA, "vpn", "up", "--network", "upnet"), StringComparison.Ordinal);
            Assert.Equal("upnet: VPN down", (await RunAsync(lab.A, homeA, "vpn", "down", "--network", "upnet")).Trim());
            Assert.Equal(6, (await TryAsync(homeA, "vpn", "status")).ExitCode);
            Assert.NotEqual(0, (await VpnLab.PingAsync(lab.A, ipB, count: 1, wait: 1)).ExitCode);

            // Up again in the same daemon: the slot is reusable.
            Assert.StartsWith("pinhole0 up for network upnet: ", await RunAsync(lab.A, homeA, "vpn", "up", "--network", "upnet"), StringComparison.Ordinal);
            await UntilAsync(async () => (await VpnLab.PingAsync(lab.A, ipB, count: 1, wait: 2)).ExitCode == 0, "A pings B again", Logs);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
