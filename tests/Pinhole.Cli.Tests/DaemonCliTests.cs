using System.Globalization;
using System.Text.Json;
using Pinhole.Node;
using Pinhole.Node.Api;

namespace Pinhole.Cli.Tests;

/// <summary>The daemon and the commands that talk to it, as real processes.</summary>
public sealed class DaemonCliTests : IDisposable
{
    private readonly string _dir = Path.Combine("/tmp", "phcli-" + Guid.NewGuid().ToString("N")[..8]);

    public DaemonCliTests() => Directory.CreateDirectory(_dir);

    private string Home(string name) => Path.Combine(_dir, name);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static async Task<List<string>> StartedAsync(CliProcess daemon)
    {
        // The daemon prints its addresses, then "api socket: …" (and "status page: …" with --web).
        var lines = new List<string>();
        string line;
        do
        {
            line = await daemon.ReadLineAsync();
            lines.Add(line);
        }
        while (!line.StartsWith("api socket: ", StringComparison.Ordinal));
        return lines;
    }

    private static async Task TerminateAsync(CliProcess daemon)
    {
        using (var kill = System.Diagnostics.Process.Start("kill", ["-TERM", daemon.Process.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }
        using var cts = new CancellationTokenSource(CliProcess.Timeout);
        await daemon.Process.WaitForExitAsync(cts.Token);
    }

    [Theory]
    [InlineData("status")]
    [InlineData("peers")]
    [InlineData("connect", "12D3KooWCAh4EQkinuHP6BHKbaGL5soJMd7pwD8yBpzYfnHWSBAe")]
    [InlineData("disconnect", "bob")]
    [InlineData("ping", "12D3KooWCAh4EQkinuHP6BHKbaGL5soJMd7pwD8yBpzYfnHWSBAe")]
    public async Task WithoutADaemonClientCommandsFailWithOneLineAndExitCodeSix(params string[] args)
    {
        var (code, stdout, stderr) = await CliProcess.RunAsync(Home("none"), null, args);
        Assert.Equal(6, code);
        Assert.Equal("", stdout);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("pinhole: error: The Pinhole daemon is not running", line, StringComparison.Ordinal);
        Assert.Contains("pinhole daemon", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PingingAnAliasWithoutADaemonIsAUsageError()
    {
        var (code, _, stderr) = await CliProcess.RunAsync(Home("none"), null, "ping", "bob");
        Assert.Equal(2, code);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("'bob' is not a peer address", line, StringComparison.Ordinal);
        Assert.Contains("not running", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TwoDaemonsConnectByPeerIdPingDisconnectAndPublishEvents()
    {
        await using var a = CliProcess.Start(Home("a"), "daemon", "--listen", "/ip4/127.0.0.1/tcp/0");
        await using var b = CliProcess.Start(Home("b"), "daemon", "--listen", "/ip4/127.0.0.1/tcp/0");
        var aLines = await StartedAsync(a);
        var bLines = await StartedAsync(b);
        var bAddress = bLines.First(l => l.Contains("/tcp/", StringComparison.Ordinal));
        var bPeer = bAddress[(bAddress.LastIndexOf('/') + 1)..];
        var bTcp = bAddress[..bAddress.LastIndexOf("/p2p/", StringComparison.Ordinal)];
        Assert.Equal("api socket: " + Path.Combine(Home("a"), "api.sock"), aLines[^1]);

        using var api = PinholeApiClient.ForHome(Home("a"));
        // A hang guard over the whole test (each CLI run starts a process), not a timing assertion.
        using var watching = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var events = new List<EventResponse>();
        var subscribed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var watcher = Task.Run(async () =>
        {
            await foreach (var e in api.WatchEventsAsync(cancellationToken: watching.Token))
            {
                lock (events)
                {
                    events.Add(e);
                }
                subscribed.TrySetResult();
                if (e.Type == "peer.disconnected")
                {
                    return;
                }
            }
        });
        await subscribed.Task.WaitAsync(CliProcess.Timeout);

        var (code, stdout, stderr) = await CliProcess.RunAsync(Home("a"), null, "connect", bPeer);
        Assert.Equal(4, code); // no address known yet: unreachable
        Assert.Contains("No known address", stderr, StringComparison.Ordinal);

        (code, stdout, stderr) = await CliProcess.RunAsync(Home("a"), null, "peers", "add", bPeer, "--address", bTcp, "--alias", "bee");
        Assert.True(code == 0, stderr);
        Assert.Equal("added bee (pinned, 1 addresses)\n", stdout);

        (code, stdout, stderr) = await CliProcess.RunAsync(Home("a"), null, "connect", bPeer);
        Assert.True(code == 0, stderr);
        Assert.Equal($"connected to {bPeer} via {bTcp} (outbound, direct)\n", stdout);

        (code, stdout, stderr) = await CliProcess.RunAsync(Home("a"), null, "ping", "bee", "-c", "2");
        Assert.True(code == 0, stderr);
        var pongs = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, pongs.Length);
        Assert.StartsWith($"pong from {bPeer} via {bTcp}: seq=1 time=", pongs[0], StringComparison.Ordinal);

        (code, stdout, stderr) = await CliProcess.RunAsync(Home("a"), null, "status");
        Assert.True(code == 0, stderr);
        var row = stdout.Split('\n').Single(l => l.StartsWith(bPeer, StringComparison.Ordinal));
        Assert.Contains("bee", row, StringComparison.Ordinal);
        Assert.Contains($"active; direct {bTcp}, outbound", row, StringComparison.Ordinal);
        Assert.Contains(" ms", row, StringComparison.Ordinal);

        (code, stdout, stderr) = await CliProcess.RunAsync(Home("a"), null, "status", "--json");
        Assert.True(code == 0, stderr);
        using (var json = JsonDocument.Parse(stdout))
        {
            var connection = json.RootElement.GetProperty("connections")[0];
            Assert.Equal(bPeer, connection.GetProperty("peerId").GetString());
            Assert.True(connection.GetProperty("bytesReceived").GetInt64() > 0);
            Assert.Equal("running", json.RootElement.GetProperty("self").GetProperty("state").GetString());
        }

        (code, stdout, _) = await CliProcess.RunAsync(Home("a"), null, "peers", "--json");
        using (var json = JsonDocument.Parse(stdout))
        {
            Assert.Equal("bee", json.RootElement[0].GetProperty("alias").GetString());
            Assert.True(json.RootElement[0].GetProperty("connected").GetBoolean());
        }

        (code, stdout, stderr) = await CliProcess.RunAsync(Home("a"), null, "disconnect", "bee");
        Assert.True(code == 0, stderr);
        await watcher.WaitAsync(CliProcess.Timeout);
        lock (events)
        {
            Assert.Contains(events, e => e.Type == "peer.connected" && e.PeerId == bPeer);
            Assert.Contains(events, e => e.Type == "peer.disconnected" && e.PeerId == bPeer && e.Reason == "closed by request");
        }
        (code, stdout, _) = await CliProcess.RunAsync(Home("a"), null, "status");
        Assert.Contains("offline, last seen", stdout.Split('\n').Single(l => l.StartsWith(bPeer, StringComparison.Ordinal)), StringComparison.Ordinal);

        await TerminateAsync(a);
        await TerminateAsync(b);
        Assert.Equal(0, a.Process.ExitCode);
        Assert.Equal(0, b.Process.ExitCode);
        Assert.False(File.Exists(Path.Combine(Home("a"), "api.sock")));
    }

    [Fact]
    public async Task TheDaemonRemembersThePortItGot()
    {
        int port;
        await using (var first = CliProcess.Start(Home("p"), "daemon", "--no-udp"))
        {
            var lines = await StartedAsync(first);
            port = Port(lines[0]);
            await TerminateAsync(first);
        }
        Assert.Equal(port.ToString(CultureInfo.InvariantCulture), File.ReadAllText(Path.Combine(Home("p"), NodeSettings.PortFileName)).Trim());
        await using var second = CliProcess.Start(Home("p"), "daemon", "--no-udp");
        Assert.Equal(port, Port((await StartedAsync(second))[0]));
        await TerminateAsync(second);
    }

    [Fact]
    public async Task ConfigurationComesFromTheFileTheEnvironmentAndFlags()
    {
        Directory.CreateDirectory(Home("c"));
        await File.WriteAllTextAsync(Path.Combine(Home("c"), "pinhole.json"), """{ "Node": { "Listen": [ "/ip4/127.0.0.1/tcp/0" ], "Udp": false, "Web": "on" } }""");
        await using (var daemon = CliProcess.Start(Home("c"), "daemon"))
        {
            var lines = await StartedAsync(daemon);
            Assert.DoesNotContain(lines, l => l.Contains("/udp/", StringComparison.Ordinal));
            Assert.StartsWith("/ip4/127.0.0.1/tcp/", lines[0], StringComparison.Ordinal);
            // --web in the file: the status page line follows the API socket.
            Assert.StartsWith("status page: http://127.0.0.1:", await daemon.ReadLineAsync(), StringComparison.Ordinal);
            await TerminateAsync(daemon);
        }

        await File.WriteAllTextAsync(Path.Combine(Home("c"), "pinhole.json"), """{ "Node": { "Port": "abc" } }""");
        var (code, _, stderr) = await CliProcess.RunAsync(Home("c"), null, "daemon");
        Assert.Equal(2, code);
        Assert.Contains("Node:Port: 'abc' is not a whole number", stderr, StringComparison.Ordinal);

        (code, _, stderr) = await CliProcess.RunAsync(Home("c"), null, "daemon", "--config", Path.Combine(Home("c"), "missing.json"));
        Assert.Equal(1, code);
        Assert.Contains("missing.json", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_daemon_named_a_relay_reserves_on_it_and_shows_it_in_status()
    {
        await using var relay = CliProcess.Start(Home("r"), "daemon", "--listen", "/ip4/127.0.0.1/tcp/0", "--no-udp", "--serve-relay");
        var relayAddress = (await StartedAsync(relay)).First(l => l.Contains("/tcp/", StringComparison.Ordinal));
        // The file names two other relays (on loopback, nobody there): the flag replaces the list, not its first element.
        Directory.CreateDirectory(Home("n"));
        await File.WriteAllTextAsync(Path.Combine(Home("n"), "pinhole.json"), $$"""
            { "Node": { "Relays": [ "/ip4/127.0.0.1/tcp/9/p2p/{{relayAddress[(relayAddress.LastIndexOf('/') + 1)..]}}", "/ip4/127.0.0.2/tcp/9/p2p/{{relayAddress[(relayAddress.LastIndexOf('/') + 1)..]}}" ] } }
            """);
        await using var node = CliProcess.Start(Home("n"), "daemon", "--listen", "/ip4/127.0.0.1/tcp/0", "--no-udp", "--relay", relayAddress, "--reachability", "private", "--port-mapping");
        await StartedAsync(node);

        // A hang guard over the reservation (each status run starts a process), not a timing assertion.
        using var guard = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        JsonElement services;
        while (true)
        {
            var (code, stdout, stderr) = await CliProcess.RunAsync(Home("n"), null, "status", "--json");
            Assert.True(code == 0, stderr);
            using var json = JsonDocument.Parse(stdout);
            services = json.RootElement.GetProperty("self").GetProperty("services").Clone();
            if (services.GetProperty("relay").GetProperty("relays")[0].GetProperty("state").GetString() == "reserved")
            {
                break;
            }
            await Task.Delay(200, guard.Token);
        }
        Assert.Equal(1, services.GetProperty("relay").GetProperty("relays").GetArrayLength());
        var circuits = services.GetProperty("relay").GetProperty("circuitAddresses");
        Assert.StartsWith(relayAddress + "/p2p-circuit/p2p/", circuits[0].GetString(), StringComparison.Ordinal);
        // Port mapping is on, but the node listens on loopback only: nothing to map.
        Assert.Equal(0, services.GetProperty("portmapping").GetProperty("mappings").GetArrayLength());
        var (_, human, _) = await CliProcess.RunAsync(Home("n"), null, "status");
        var relayPeer = relayAddress[(relayAddress.LastIndexOf('/') + 1)..];
        Assert.Contains(human.Split('\n'), l => l.StartsWith("relay", StringComparison.Ordinal) && l.EndsWith($"{relayPeer} reserved", StringComparison.Ordinal));
        await TerminateAsync(node);
        await TerminateAsync(relay);
        Assert.Equal(0, node.Process.ExitCode);
    }

    [Fact]
    public async Task A_relay_without_its_peer_id_is_a_usage_error_naming_the_setting()
    {
        var (code, _, stderr) = await CliProcess.RunAsync(Home("x"), null, "daemon", "--no-udp", "--relay", "/ip4/127.0.0.1/tcp/4001");
        Assert.Equal(2, code);
        Assert.Contains("Node:Relays: '/ip4/127.0.0.1/tcp/4001' is not a relay address ending in /p2p/<relay PeerId>", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_relay_setting_that_would_do_nothing_is_a_usage_error_naming_it()
    {
        var (code, _, stderr) = await CliProcess.RunAsync(Home("h"), null, "daemon", "--no-udp", "--no-hole-punching");
        Assert.Equal(2, code);
        Assert.Contains("Node:HolePunching: has no effect without Node:Relays or Node:ServeRelay", stderr, StringComparison.Ordinal);
    }

    private static int Port(string address) => int.Parse(address.Split('/')[4], CultureInfo.InvariantCulture);
}
