using System.Text.Json;
using Pinhole.Testing;

namespace Pinhole.Vpn.Tests;

/// <summary>"pinhole vpn up/status" end to end: two CLI processes, each in its own namespace.</summary>
[Trait("Category", "Netns")]
public class CliVpnTests
{
    private static string Pinhole => Path.Combine(AppContext.BaseDirectory, "pinhole.dll");

    private static async Task<string> IdAsync(string home) =>
        (await ExternalProcess.RunAsync("dotnet", [Pinhole, "--home", home, "id"], TimeSpan.FromSeconds(60))).EnsureSuccess().StandardOutput.Trim();

    [NetnsFact("ping")]
    public async Task UpFromConfigFiles_PingsAndShowsStatusLikeWgShow()
    {
        await using var lab = await VpnLab.CreateAsync(start: false);
        string root = Directory.CreateTempSubdirectory("pinhole-vpn-cli-").FullName;
        try
        {
            string homeA = Path.Combine(root, "a"), homeB = Path.Combine(root, "b");
            string idA = await IdAsync(homeA), idB = await IdAsync(homeB);
            string configA = Path.Combine(root, "a.conf"), configB = Path.Combine(root, "b.conf");
            await File.WriteAllTextAsync(configA, $"""
                [Interface]
                Name = ph0
                Address = 10.7.0.1/24
                ListenPort = 51820

                [Peer]
                PeerId = {idB}
                Name = bee
                AllowedIPs = 10.7.0.2/32
                Endpoint = 10.0.0.2:51820
                PersistentKeepalive = 25
                """);
            await File.WriteAllTextAsync(configB, $"""
                [Interface]
                Name = ph0
                Address = 10.7.0.2/24
                ListenPort = 51820

                [Peer]
                PeerId = {idA}
                AllowedIPs = 10.7.0.1/32
                """);
            Assert.Equal(0, (await ExternalProcess.RunAsync("dotnet", [Pinhole, "--home", homeA, "vpn", "check", configA], TimeSpan.FromSeconds(60))).ExitCode);

            // env resets SIGINT to its default: a suite started in the background inherits it ignored (POSIX).
            await using var b = lab.B.Start("env", ["--default-signal=INT", "dotnet", Pinhole, "--home", homeB, "vpn", "up", "--config", configB, "--json"]);
            string up = await b.WaitForLineAsync(l => l.StartsWith("{\"type\":\"up\"", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
            using (var upJson = JsonDocument.Parse(up))
            {
                Assert.Equal(idB, upJson.RootElement.GetProperty("status").GetProperty("localPeer").GetString());
                Assert.Equal(1423, upJson.RootElement.GetProperty("status").GetProperty("mtu").GetInt32());
            }
            await using var a = lab.A.Start("env", ["--default-signal=INT", "dotnet", Pinhole, "--home", homeA, "vpn", "up", "--config", configA]);
            await a.WaitForLineAsync(l => l.Contains(" up: ", StringComparison.Ordinal), TimeSpan.FromSeconds(60));

            var ping = await VpnLab.PingAsync(lab.A, "10.7.0.2", count: 3);
            Assert.True(ping.ExitCode == 0, ping.StandardOutput + a.Output() + b.Output());

            var status = (await ExternalProcess.RunAsync("dotnet", [Pinhole, "--home", homeA, "vpn", "status"], TimeSpan.FromSeconds(60))).EnsureSuccess().StandardOutput;
            Assert.Contains("interface: ph0", status);
            Assert.Contains($"peer: {idB} (bee)", status);
            Assert.Contains("endpoint: 10.0.0.2:51820 (direct)", status);
            Assert.Contains("allowed ips: 10.7.0.2/32", status);
            Assert.Contains("latest handshake:", status);
            Assert.DoesNotContain("latest handshake: never", status);
            Assert.Contains("transfer:", status);
            Assert.Contains("persistent keepalive: every 25 seconds", status);

            string json = (await ExternalProcess.RunAsync("dotnet", [Pinhole, "--home", homeB, "vpn", "status", "--json"], TimeSpan.FromSeconds(60))).EnsureSuccess().StandardOutput;
            using var document = JsonDocument.Parse(json);
            Assert.Single(json.Trim().Split('\n')); // one line (docs/cli.md)
            JsonElement peer = document.RootElement.GetProperty("interfaces")[0].GetProperty("peers")[0];
            Assert.Equal(idA, peer.GetProperty("peerId").GetString());
            Assert.Equal("10.0.0.1:51820", peer.GetProperty("endpoint").GetString());
            Assert.True(peer.GetProperty("rxPackets").GetInt64() >= 3);
            Assert.True(peer.GetProperty("handshakes").GetInt32() >= 1);
            Assert.Equal(0, peer.GetProperty("persistentKeepaliveMs").GetDouble());
            Assert.True(peer.TryGetProperty("rttMs", out _));

            // Ctrl-C: the interface goes away cleanly.
            await lab.A.ExecAsync("kill", "-INT", a.Id.ToString());
            Assert.Equal(0, await a.WaitForExitAsync(TimeSpan.FromSeconds(30)));
            Assert.DoesNotContain("ph0", (await lab.A.ExecAsync("ip", "link")).StandardOutput);
            var gone = await ExternalProcess.RunAsync("dotnet", [Pinhole, "--home", homeA, "vpn", "status"], TimeSpan.FromSeconds(60));
            Assert.Equal(6, gone.ExitCode); // nothing running: like a daemon that is not there
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task BadConfig_ExitsWithUsageAndTheLine()
    {
        string root = Directory.CreateTempSubdirectory("pinhole-vpn-cli-").FullName;
        try
        {
            string config = Path.Combine(root, "bad.conf");
            await File.WriteAllTextAsync(config, "[Interface]\nAddress = 10.7.0.1/33\n");
            var run = await ExternalProcess.RunAsync("dotnet", [Pinhole, "--home", Path.Combine(root, "h"), "vpn", "check", config], TimeSpan.FromSeconds(60));
            Assert.Equal(2, run.ExitCode);
            Assert.Contains("bad.conf: line 2:", run.StandardError);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
