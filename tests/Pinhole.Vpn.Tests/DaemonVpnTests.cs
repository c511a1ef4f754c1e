using System.Text.Json;
using Pinhole.Testing;

namespace Pinhole.Vpn.Tests;

/// <summary>
/// <c>pinhole daemon --vpn FILE</c>: the long-lived node hosts the VPN (real processes in two namespaces): ping
/// through the tunnel, <c>pinhole vpn status</c> and <c>GET /v1/status</c> show it, SIGTERM takes it down; a bad
/// file or a machine without TUN stops the daemon with a precise error.
/// </summary>
[Trait("Category", "Netns")]
public class DaemonVpnTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    private static string Pinhole => Path.Combine(AppContext.BaseDirectory, "pinhole.dll");

    private static async Task<string> IdAsync(string home) =>
        (await ExternalProcess.RunAsync("dotnet", [Pinhole, "--home", home, "id"], TimeSpan.FromSeconds(60))).EnsureSuccess().StandardOutput.Trim();

    private static string[] Daemon(string home, string config) =>
        [Pinhole, "--home", home, "daemon", "--listen", "/ip4/127.0.0.1/tcp/0", "--no-udp", "--vpn", config];

    private static string Config(string address, string peerId, string peerAddress, string? endpoint) =>
        PeerConfigs.OnePeer(address, peerId, peerAddress, endpoint, name: "other");

    [NetnsFact("ping")]
    public async Task TwoDaemonsWithVpn_PingStatusAndSigtermTakesTheInterfaceDown()
    {
        await using var lab = await VpnLab.CreateAsync(start: false);
        string root = Directory.CreateTempSubdirectory("pinhole-vpn-daemon-").FullName;
        try
        {
            string homeA = Path.Combine(root, "a"), homeB = Path.Combine(root, "b");
            string idA = await IdAsync(homeA), idB = await IdAsync(homeB);
            string configA = Path.Combine(root, "a.conf"), configB = Path.Combine(root, "b.conf");
            await File.WriteAllTextAsync(configA, Config("10.7.0.1", idB, "10.7.0.2", "10.0.0.2"));
            await File.WriteAllTextAsync(configB, Config("10.7.0.2", idA, "10.7.0.1", null));

            await using var b = lab.B.Start("dotnet", Daemon(homeB, configB));
            await b.WaitForLineAsync(l => l.StartsWith("api socket:", StringComparison.Ordinal), Patience);
            await using var a = lab.A.Start("dotnet", Daemon(homeA, configA));
            await a.WaitForLineAsync(l => l.StartsWith("api socket:", StringComparison.Ordinal), Patience);

            var ping = await VpnLab.PingAsync(lab.A, "10.7.0.2", count: 3);
            Assert.True(ping.ExitCode == 0, ping.StandardOutput + a.Output() + b.Output());

            // The daemon's VPN answers on the home's control socket, like `vpn up`.
            var status = (await ExternalProcess.RunAsync("dotnet", [Pinhole, "--home", homeA, "vpn", "status"], TimeSpan.FromSeconds(60))).EnsureSuccess().StandardOutput;
            Assert.Contains("interface: ph0", status);
            Assert.Contains($"peer: {idB} (other)", status);
            Assert.Contains("endpoint: 10.0.0.2:51820 (direct)", status);
            Assert.DoesNotContain("latest handshake: never", status);

            // ... and shows under services.vpn of GET /v1/status (through the daemon's API socket).
            string nodeStatus = (await ExternalProcess.RunAsync("dotnet", [Pinhole, "--home", homeB, "status", "--json"], TimeSpan.FromSeconds(60))).EnsureSuccess().StandardOutput;
            using (var document = JsonDocument.Parse(nodeStatus))
            {
                JsonElement vpn = document.RootElement.GetProperty("self").GetProperty("services").GetProperty("vpn");
                Assert.Equal(idB, vpn.GetProperty("localPeer").GetString());
                JsonElement peer = vpn.GetProperty("peers")[0];
                Assert.Equal(idA, peer.GetProperty("peerId").GetString());
                Assert.True(peer.GetProperty("rxPackets").GetInt64() >= 3, nodeStatus);
            }

            string statusText = (await ExternalProcess.RunAsync("dotnet", [Pinhole, "--home", homeA, "status"], TimeSpan.FromSeconds(60))).EnsureSuccess().StandardOutput;
            string vpnLine = statusText.Split('\n').Single(l => l.TrimStart().StartsWith("vpn", StringComparison.Ordinal));
            Assert.Contains("ph0 10.7.0.1/24 on UDP ", vpnLine);
            Assert.EndsWith(":51820, 1 peer(s), 1 with a session (pinhole vpn status)", vpnLine.TrimEnd());

            // SIGTERM stops the daemon gracefully, and the interface and its control socket go with it.
            await lab.A.ExecAsync("kill", "-TERM", a.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal(0, await a.WaitForExitAsync(TimeSpan.FromSeconds(60)));
            Assert.DoesNotContain("ph0", (await lab.A.ExecAsync("ip", "link")).StandardOutput);
            Assert.False(File.Exists(Path.Combine(homeA, "vpn", "ph0.sock")));
            var gone = await ExternalProcess.RunAsync("dotnet", [Pinhole, "--home", homeA, "vpn", "status"], TimeSpan.FromSeconds(60));
            Assert.Equal(6, gone.ExitCode);
            Assert.Contains("ph0", (await lab.B.ExecAsync("ip", "link")).StandardOutput); // the other daemon is untouched
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task BadVpnConfig_DaemonRefusesToStartWithTheFileAndLine()
    {
        string root = Directory.CreateTempSubdirectory("pinhole-vpn-daemon-").FullName;
        try
        {
            string config = Path.Combine(root, "bad.conf");
            await File.WriteAllTextAsync(config, "[Interface]\nAddress = 10.7.0.1/33\n");
            // Loopback only: the VPN file is checked before anything listens, so the daemon never gets that far.
            var run = await ExternalProcess.RunAsync("dotnet", Daemon(Path.Combine(root, "h"), config), TimeSpan.FromSeconds(60));
            Assert.Equal(2, run.ExitCode);
            Assert.Contains($"{config}: line 2:", run.StandardError);
            Assert.DoesNotContain("api socket:", run.StandardOutput);

            var missing = await ExternalProcess.RunAsync("dotnet", Daemon(Path.Combine(root, "h"), Path.Combine(root, "absent.conf")), TimeSpan.FromSeconds(60));
            Assert.NotEqual(0, missing.ExitCode);
            Assert.Contains("absent.conf does not exist", missing.StandardError);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [NetnsFact("setpriv", "unshare")]
    public async Task NoCapNetAdminOrNoTunDevice_DaemonFailsWithAPreciseError()
    {
        await using var lab = await VpnLab.CreateAsync(start: false);
        string root = Directory.CreateTempSubdirectory("pinhole-vpn-daemon-").FullName;
        try
        {
            string home = Path.Combine(root, "a");
            string config = Path.Combine(root, "a.conf");
            await File.WriteAllTextAsync(config, Config("10.7.0.1", await IdAsync(Path.Combine(root, "b")), "10.7.0.2", null));

            // Root without CAP_NET_ADMIN (dropped from the bounding set, so the exec'd dotnet never gets it).
            await using (var noCap = lab.A.Start("setpriv", ["--bounding-set=-net_admin", "--inh-caps=-net_admin", "dotnet", .. Daemon(home, config)]))
            {
                Assert.Equal(1, await noCap.WaitForExitAsync(Patience));
                Assert.Contains("TUNSETIFF ph0: EPERM (1) (creating a TUN interface needs root or CAP_NET_ADMIN)", noCap.StandardError);
            }

            // No /dev/net/tun (a container without the device): hidden by a tmpfs in a private mount namespace.
            await using (var noTun = lab.A.Start("unshare", ["--mount", "--propagation", "private", "sh", "-c", "mount -t tmpfs none /dev/net && exec \"$@\"", "sh", "dotnet", .. Daemon(home, config)]))
            {
                Assert.Equal(1, await noTun.WaitForExitAsync(Patience));
                Assert.Contains("Cannot open /dev/net/tun: ENOENT (2) (no TUN device: load the tun module, or give the container /dev/net/tun)", noTun.StandardError);
            }
            Assert.DoesNotContain("ph0", (await lab.A.ExecAsync("ip", "link")).StandardOutput);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
