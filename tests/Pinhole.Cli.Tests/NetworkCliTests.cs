using System.Globalization;
using System.Text.Json;
using Pinhole.Node;

namespace Pinhole.Cli.Tests;

/// <summary>
/// The coordinator issue's "done when", as a user types it: a coordinator process, an admin creating a network and
/// two invites, two nodes joining with one command each, their daemons finding and connecting to each other, and a
/// revocation cutting one off. Every wait is on output or state; the bounds are hang guards for a loaded machine.
/// </summary>
public sealed class NetworkCliTests : IDisposable
{
    private static readonly TimeSpan Guard = TimeSpan.FromMinutes(3);
    private readonly string _dir = Path.Combine("/tmp", "phnet-" + Guid.NewGuid().ToString("N")[..8]);

    public NetworkCliTests() => Directory.CreateDirectory(_dir);

    private string Home(string name) => Path.Combine(_dir, name);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static async Task<(int Code, string Stdout, string Stderr)> RunAsync(string home, params string[] args)
    {
        await using var process = CliProcess.Start(home, args);
        process.Process.StandardInput.Close();
        var stdout = process.Process.StandardOutput.ReadToEndAsync();
        using var cts = new CancellationTokenSource(Guard);
        await process.Process.WaitForExitAsync(cts.Token);
        var output = await stdout;
        // The stderr pump may still hold the last lines when the process has exited.
        await process.StderrCompleted.WaitAsync(cts.Token);
        return (process.Process.ExitCode, output, process.Stderr);
    }

    private static async Task<string> Ok(string home, params string[] args)
    {
        var (code, stdout, stderr) = await RunAsync(home, args);
        Assert.True(code == 0, $"pinhole {string.Join(' ', args)} exited {code}: {stderr}");
        return stdout;
    }

    private static async Task<string> LineStartingAsync(CliProcess process, string prefix)
    {
        using var cts = new CancellationTokenSource(Guard);
        while (true)
        {
            var line = await process.Process.StandardOutput.ReadLineAsync(cts.Token) ?? throw new InvalidOperationException("pinhole exited: " + process.Stderr);
            if (line.StartsWith(prefix, StringComparison.Ordinal))
            {
                return line[prefix.Length..].Trim();
            }
        }
    }

    private static async Task UntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + Guard;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "never: " + what);
            await Task.Delay(100);
        }
    }

    private static async Task StopAsync(CliProcess process)
    {
        using (var kill = System.Diagnostics.Process.Start("kill", ["-TERM", process.Process.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }
        using var cts = new CancellationTokenSource(Guard);
        await process.Process.WaitForExitAsync(cts.Token);
    }

    [Fact]
    public async Task AnAdminInvitesTwoNodesTheyJoinWithOneCommandEachConnectAndARevokedOneIsCutOff()
    {
        await using var coordinator = CliProcess.Start(Home("coord"), "coordinator", "--store", "sqlite:" + Path.Combine(_dir, "coord.db"),
            "--listen", "/ip4/127.0.0.1/tcp/0", "--admin-api", "https://127.0.0.1:0");
        var coordinatorId = await LineStartingAsync(coordinator, "coordinator: ");
        var api = await LineStartingAsync(coordinator, "admin api: ");

        var network = (await Ok(Home("admin"), "network", "create", "office", "--admin-api", api, "--coordinator", coordinatorId, "--ipv4", "100.96.0.0/24")).Trim();
        Assert.StartsWith("pn", network, StringComparison.Ordinal);
        var inviteA = (await Ok(Home("admin"), "network", "invite", network)).Trim();
        var inviteB = (await Ok(Home("admin"), "network", "invite", network, "--group", "laptops")).Trim();
        Assert.StartsWith("pinhole-invite:", inviteA, StringComparison.Ordinal);

        var joinedA = await Ok(Home("a"), "join", inviteA);
        Assert.Contains(network, joinedA, StringComparison.Ordinal);
        Assert.Contains("100.96.0.", joinedA, StringComparison.Ordinal);
        await Ok(Home("b"), "join", inviteB);
        // The same invite again, for another key: exactly one redemption wins.
        var (again, _, refusal) = await RunAsync(Home("c"), "join", inviteA);
        Assert.Equal(7, again);
        Assert.Contains("AlreadyRedeemed", refusal, StringComparison.Ordinal);
        var peerA = (await Ok(Home("a"), "id")).Trim();
        var peerB = (await Ok(Home("b"), "id")).Trim();

        await using var daemonA = CliProcess.Start(Home("a"), "daemon", "--listen", "/ip4/127.0.0.1/tcp/0", "--no-udp");
        await using var daemonB = CliProcess.Start(Home("b"), "daemon", "--listen", "/ip4/127.0.0.1/tcp/0", "--no-udp");
        using var clientA = new PinholeApiClient(await LineStartingAsync(daemonA, "api socket: "));
        using var clientB = new PinholeApiClient(await LineStartingAsync(daemonB, "api socket: "));
        // Each daemon learns the other's signed endpoint and connects on its own.
        await UntilAsync(async () => (await clientA.ListPeersAsync()).Any(p => p.PeerId == peerB && p.Connected)
            && (await clientB.ListPeersAsync()).Any(p => p.PeerId == peerA && p.Connected), "the daemons connected to each other");

        var members = await Ok(Home("admin"), "network", "members", network);
        Assert.Contains(peerA, members, StringComparison.Ordinal);
        Assert.Contains(peerB, members, StringComparison.Ordinal);

        await Ok(Home("admin"), "network", "revoke", network, peerB, "--reason", "lost laptop");
        await UntilAsync(async () => (await clientA.ListPeersAsync()).All(p => p.PeerId != peerB || (!p.Connected && !p.KeepConnected)), "A cut B off");
        var after = await Ok(Home("admin"), "network", "members", network);
        Assert.Contains("revoked: " + peerB, after, StringComparison.Ordinal);
        Assert.DoesNotContain(peerB + " ", after.Split("revoked:")[0], StringComparison.Ordinal);

        await StopAsync(daemonA);
        await StopAsync(daemonB);
        await StopAsync(coordinator);
        Assert.Equal(0, coordinator.Process.ExitCode);
    }

    [Fact]
    public async Task PinholeJoinGoesThroughARunningDaemonWhichConnectsToTheMembersWithoutARestart()
    {
        await using var coordinator = CliProcess.Start(Home("coord"), "coordinator", "--store", "sqlite:" + Path.Combine(_dir, "coord.db"),
            "--listen", "/ip4/127.0.0.1/tcp/0", "--admin-api", "https://127.0.0.1:0");
        var coordinatorId = await LineStartingAsync(coordinator, "coordinator: ");
        var api = await LineStartingAsync(coordinator, "admin api: ");
        var network = (await Ok(Home("admin"), "network", "create", "lab", "--admin-api", api, "--coordinator", coordinatorId, "--ipv4", "100.97.0.0/24")).Trim();
        var inviteA = (await Ok(Home("admin"), "network", "invite", network)).Trim();
        var inviteB = (await Ok(Home("admin"), "network", "invite", network)).Trim();
        var spare = (await Ok(Home("admin"), "network", "invite", network)).Trim();

        // A joins with no daemon running (the offline path), then starts its daemon; B's daemon runs before B joins.
        var (code, joinedA, noteA) = await RunAsync(Home("a"), "join", inviteA);
        Assert.True(code == 0, noteA);
        Assert.Contains(network, joinedA, StringComparison.Ordinal);
        Assert.True(noteA.Contains("no daemon is running", StringComparison.Ordinal), noteA);
        await using var daemonA = CliProcess.Start(Home("a"), "daemon", "--listen", "/ip4/127.0.0.1/tcp/0", "--no-udp");
        await using var daemonB = CliProcess.Start(Home("b"), "daemon", "--listen", "/ip4/127.0.0.1/tcp/0", "--no-udp");
        await LineStartingAsync(daemonA, "api socket: ");
        await LineStartingAsync(daemonB, "api socket: ");
        var peerA = (await Ok(Home("a"), "id")).Trim();
        Assert.DoesNotContain(network, await Ok(Home("b"), "network", "ls"), StringComparison.Ordinal);
        // Through the daemon, refusals keep the offline exit codes: A's spent invite is 7.
        var (spent, _, spentWhy) = await RunAsync(Home("b"), "join", inviteA);
        Assert.Equal(7, spent);
        Assert.Contains("invite-redeemed", spentWhy, StringComparison.Ordinal);

        var (joinCode, joinedB, noteB) = await RunAsync(Home("b"), "join", inviteB);
        Assert.True(joinCode == 0, noteB);
        Assert.Contains(network, joinedB, StringComparison.Ordinal);
        Assert.Contains("100.97.0.", joinedB, StringComparison.Ordinal);
        Assert.Contains("through the running daemon", noteB, StringComparison.Ordinal);
        // No restart: B's daemon connects to A, as 'pinhole peers' shows.
        await UntilAsync(async () => JsonSerializer.Deserialize(await Ok(Home("b"), "peers", "--json"), Node.Api.ApiJsonContext.Default.ListPeerResponse)!
            .Any(p => p.PeerId == peerA && p.Connected && p.KeepConnected), "B's daemon connected to A");
        var listed = await Ok(Home("b"), "network", "ls");
        Assert.Contains(network, listed, StringComparison.Ordinal);
        Assert.Contains("lab", listed, StringComparison.Ordinal);

        // Joining a network the daemon already follows spends nothing.
        var (again, _, againWhy) = await RunAsync(Home("b"), "join", spare);
        Assert.Equal(0, again);
        Assert.Contains("already a member", againWhy, StringComparison.Ordinal);

        // Leave through the daemon: gone from its list and from the home; a second leave is not found.
        Assert.Contains("left " + network, await Ok(Home("b"), "network", "leave", network), StringComparison.Ordinal);
        Assert.DoesNotContain(network, await Ok(Home("b"), "network", "ls"), StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(Home("b"), "networks", network + ".cache")));
        Assert.Equal(8, (await RunAsync(Home("b"), "network", "leave", network)).Code);

        // With the daemon stopped, ls and leave work on the home's files.
        await StopAsync(daemonA);
        var (lsCode, offline, offlineNote) = await RunAsync(Home("a"), "network", "ls");
        Assert.Equal(0, lsCode);
        Assert.Contains(network, offline, StringComparison.Ordinal);
        Assert.Contains("daemon is not running", offlineNote, StringComparison.Ordinal);
        Assert.Contains("left " + network, await Ok(Home("a"), "network", "leave", network), StringComparison.Ordinal);
        Assert.DoesNotContain(network, await Ok(Home("a"), "network", "ls"), StringComparison.Ordinal);

        // The admin side after the refactor into one helper: rotate-admin adds B's key with threshold 2; removing it
        // again needs B's co-signature (refused, exit 7, before anything is sent), then passes with it.
        using (var id = JsonDocument.Parse(await Ok(Home("b"), "id", "--json")))
        {
            var rotated = await Ok(Home("admin"), "network", "rotate-admin", network, "--add", id.RootElement.GetProperty("publicKey").GetString()!, "--threshold", "2");
            Assert.StartsWith("epoch 1:", rotated, StringComparison.Ordinal);
            var peerB = id.RootElement.GetProperty("peerId").GetString()!;
            var (alone, _, why) = await RunAsync(Home("admin"), "network", "rotate-admin", network, "--remove", peerB, "--threshold", "1");
            Assert.Equal(7, alone);
            Assert.Contains("ThresholdNotMet", why, StringComparison.Ordinal);
            Assert.StartsWith("epoch 2:", await Ok(Home("admin"), "network", "rotate-admin", network, "--remove", peerB, "--threshold", "1", "--cosigner", Home("b")), StringComparison.Ordinal);
        }

        await StopAsync(daemonB);
        await StopAsync(coordinator);
    }

    [Fact]
    public async Task AnOfflineJoinWhoseFilesCannotBeWrittenFailsAndSaysWhetherTheInviteWasSpent()
    {
        await using var coordinator = CliProcess.Start(Home("coord"), "coordinator", "--store", "sqlite:" + Path.Combine(_dir, "coord.db"),
            "--listen", "/ip4/127.0.0.1/tcp/0", "--admin-api", "https://127.0.0.1:0");
        var coordinatorId = await LineStartingAsync(coordinator, "coordinator: ");
        var api = await LineStartingAsync(coordinator, "admin api: ");
        var network = (await Ok(Home("admin"), "network", "create", "lab", "--admin-api", api, "--coordinator", coordinatorId, "--ipv4", "100.98.0.0/24")).Trim();
        var invite = (await Ok(Home("admin"), "network", "invite", network)).Trim();
        var cache = Path.Combine(Home("a"), "networks");

        // The coordinator list cannot be written (a directory in its place; root ignores permissions): the join
        // fails before the invite is spent, and leaves nothing a daemon would follow.
        var coordinators = Path.Combine(cache, network + ".coordinators");
        Directory.CreateDirectory(Path.Combine(coordinators, "in-the-way"));
        var (code, stdout, stderr) = await RunAsync(Home("a"), "join", invite);
        Assert.True(code == 1, $"exit {code}: {stderr}");
        Assert.Equal("", stdout);
        Assert.Contains(coordinators, stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(cache, network + ".cache")));
        Directory.Delete(coordinators, recursive: true);
        // ... so the same invite still works, and both files are there for the daemon.
        Assert.Contains(network, await Ok(Home("a"), "join", invite), StringComparison.Ordinal);
        Assert.Contains(coordinatorId, await File.ReadAllTextAsync(coordinators), StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(cache, network + ".cache")));

        // The cache cannot be written: the invite is spent by then, and the error says so.
        var spent = (await Ok(Home("admin"), "network", "invite", network)).Trim();
        var cacheB = Path.Combine(Home("b"), "networks", network + ".cache");
        Directory.CreateDirectory(Path.Combine(cacheB, "in-the-way"));
        (code, stdout, stderr) = await RunAsync(Home("b"), "join", spent);
        Assert.True(code == 1, $"exit {code}: {stderr}");
        Assert.Contains("redeemed", stderr, StringComparison.Ordinal);
        Assert.Contains(cacheB, stderr, StringComparison.Ordinal);
        // Spent indeed: another key is refused.
        var (thief, _, why) = await RunAsync(Home("c"), "join", spent);
        Assert.Equal(7, thief);
        Assert.Contains("AlreadyRedeemed", why, StringComparison.Ordinal);

        await StopAsync(coordinator);
    }

    [Fact]
    public async Task ABadInviteIsAUsageErrorAndAnUnknownNetworkIsNotFound()
    {
        var (code, stdout, stderr) = await RunAsync(Home("x"), "join", "pinhole-invite:notbase32!");
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.StartsWith("pinhole: error: ", stderr, StringComparison.Ordinal);
        var (missing, _, why) = await RunAsync(Home("x"), "network", "members", "pn" + new string('a', 52));
        Assert.Equal(8, missing);
        Assert.Contains("pinhole network create", why, StringComparison.Ordinal);
    }
}
