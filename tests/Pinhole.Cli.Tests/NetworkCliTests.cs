using System.Globalization;
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
