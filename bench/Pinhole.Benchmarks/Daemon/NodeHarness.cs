using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Pinhole.Benchmarks.Relay;
using Pinhole.Benchmarks.Transport;
using Pinhole.Node;

namespace Pinhole.Benchmarks.Daemon;

/// <summary>
/// <c>node [--rounds N] [--connects N] [--calls N] [--idle N] [--idle-rounds N]</c>: the daemon's control path against the library path in the
/// same run (docs/performance.md, "Node"):
/// <list type="bullet">
/// <item>the local API round trip, <c>GET /v1/status</c> over the Unix socket (typed client, as the CLI uses it),
/// beside an in-process <c>node.GetStatus()</c>;</item>
/// <item>the floor under it: a bare minimal-API GET on Kestrel over a Unix socket with a plain <see cref="HttpClient"/>
/// (<see cref="BareKestrel"/>), so that the API's own cost is a ratio to what any Kestrel control plane pays;</item>
/// <item>a connect through the daemon (<c>POST /v1/connections</c>: API, connection manager, peer store writes)
/// against a direct <c>PeerConnection.ConnectAsync</c> with the same options, to the same listener; each
/// connection is closed again (<c>DELETE /v1/connections/{peer}</c> / dispose) before the next; and the same
/// connect through the connection manager in process (<c>node.Connections.ConnectAsync</c>, no HTTP), which tells
/// the API's share from the manager's and the store's.</item>
/// <item>the same connect+close through the daemon with the API client in a child process of its own, as the CLI
/// is: the daemon process's CPU per connect+close apart from the client's (<see cref="NodeClientChild"/>).</item>
/// <item>memory per idle connected peer of a node holding <c>--idle</c> peers (default 1,000; 0 skips) beside the
/// bare SslStream and the bare PeerListener figures, each in a fresh child process, alternating order per round.</item>
/// </list>
/// Wall times are medians per operation; CPU is the whole process's CPU per operation (the listener is in the
/// process too, the same for both paths), so the ratio is what the daemon adds to a whole connect.
/// </summary>
internal static class NodeHarness
{
    public const string Command = "node";

    public static int Run(string[] args)
    {
        var rounds = 5;
        var connects = 200;
        var calls = 2000;
        var idle = 1000;
        var idleRounds = 3;
        for (var i = 0; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : null;
            switch (args[i])
            {
                case "--rounds": rounds = int.Parse(value!, CultureInfo.InvariantCulture); i++; break;
                case "--connects": connects = int.Parse(value!, CultureInfo.InvariantCulture); i++; break;
                case "--calls": calls = int.Parse(value!, CultureInfo.InvariantCulture); i++; break;
                case "--idle": idle = int.Parse(value!, CultureInfo.InvariantCulture); i++; break;
                case "--idle-rounds": idleRounds = int.Parse(value!, CultureInfo.InvariantCulture); i++; break;
                default:
                    Console.Error.WriteLine($"Unknown option '{args[i]}'. Usage: node [--rounds N] [--connects N] [--calls N] [--idle N] [--idle-rounds N]");
                    return 2;
            }
        }
        Console.WriteLine($"pinhole node benchmark: {Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, {RuntimeInformation.FrameworkDescription}");
        var status = rounds > 0 ? RunAsync(rounds, connects, calls).GetAwaiter().GetResult() : 0;
        if (status == 0 && idle > 0)
        {
            MeasureIdle(idle, idleRounds);
        }
        return status;
    }

    private static void MeasureIdle(int connections, int rounds)
    {
        var values = new Dictionary<string, List<double>>();
        string[] kinds = ["bare", "pinhole", "node"];
        for (var round = 1; round <= rounds; round++)
        {
            foreach (var kind in round % 2 == 1 ? kinds : kinds.Reverse())
            {
                var (heap, workingSet) = IdleMemoryScenario.Measure(kind, connections);
                (values.TryGetValue("heap " + kind, out var h) ? h : values["heap " + kind] = []).Add(heap);
                (values.TryGetValue("ws " + kind, out var w) ? w : values["ws " + kind] = []).Add(workingSet);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  round {round}: idle {kind,-8} heap {heap / 1024,8:F1} KiB/conn, working set {workingSet / 1024,8:F1} KiB/conn"));
            }
        }
        double M(string key) => Harness.Median(values[key]) / 1024;
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| idle, {connections} peers, both ends (median of {rounds}) | bare SslStream | PeerListener | node | node/bare | node/PeerListener |"));
        Console.WriteLine("|---|---|---|---|---|---|");
        foreach (var (label, key) in new[] { ("managed heap", "heap"), ("working set", "ws") })
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {label} | {M(key + " bare"):F1} KiB | {M(key + " pinhole"):F1} KiB | {M(key + " node"):F1} KiB | {M(key + " node") / M(key + " bare"):F2} | {M(key + " node") / M(key + " pinhole"):F2} |"));
        }
    }

    private static async Task<int> RunAsync(int rounds, int connects, int calls)
    {
        var home = Directory.CreateTempSubdirectory("pinhole-bench-node-");
        using var identity = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        await using var server = await BenchNode.StartAsync();
        var options = new PinholeNodeOptions
        {
            Identity = identity,
            Home = home.FullName,
            ListenAddresses = [Multiaddr.Parse("/ip4/127.0.0.1/tcp/0")],
            EnableUdp = false,
            Api = new LocalApiOptions(),
        };
        options.Connections.IdleTimeout = TimeSpan.Zero;
        await using var node = PinholeNode.CreateBuilder(options).Build();
        await node.StartAsync();
        using var api = new PinholeApiClient(node.ApiSocketPath!);
        await using var bare = await BareKestrel.StartAsync();
        using var plain = BareKestrel.CreateClient(node.ApiSocketPath!, PinholeApiClient.Host);
        var target = server.Address.Encapsulate(server.Identity.PeerId);
        var connectOptions = node.CreateConnectOptions(new PeerAddress(server.Identity.PeerId, [server.Address]));

        var values = new Dictionary<string, List<double>>();
        void Add(int round, string name, double value, string unit)
        {
            if (round == 0)
            {
                return; // round 0 only warms up the JIT and the connection pools
            }
            (values.TryGetValue(name, out var list) ? list : values[name] = []).Add(value);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  round {round}: {name,-46} {value,10:F4} {unit}"));
        }
        double directMs = 0, directCloseMs = 0, directCpu = 0, managerMs = 0, managerCloseMs = 0, managerCpu = 0, daemonMs = 0, daemonCloseMs = 0, daemonCpu = 0;
        (double ConnectMs, double CloseMs, double ClientCpu, double DaemonCpu) apart = default;
        for (var round = 0; round <= rounds; round++)
        {
            var n = calls;
            // Like the connect paths below, the request kinds run in alternating order between rounds.
            double apiMs = 0, apiCpu = 0, bareMs = 0, bareCpu = 0, plainCpu = 0, connectionsCpu = 0, localMs = 0, localCpu = 0, jsonCpu = 0;
            var requests = new Func<Task>[]
            {
                async () => (apiMs, apiCpu) = await MeasureAsync(n, () => api.GetStatusAsync(Harness.Bounded())),
                async () => (bareMs, bareCpu) = await MeasureAsync(n, () => bare.GetAsync(Harness.Bounded())),
                // The node's routes with the bare client: the server's share of the API's cost apart from the typed client's.
                async () => (_, plainCpu) = await MeasureAsync(n, () => BareKestrel.GetAsync(plain, "v1/status", Harness.Bounded())),
                async () => (_, connectionsCpu) = await MeasureAsync(n, () => BareKestrel.GetAsync(plain, "v1/connections", Harness.Bounded())),
                async () => (localMs, localCpu) = await MeasureAsync(n, () => Task.FromResult(node.GetStatus())),
                // What the route does besides the HTTP exchange: the snapshot, its response record and its JSON.
                async () => (_, jsonCpu) = await MeasureAsync(n, () => Task.FromResult(System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(
                    Pinhole.Node.Api.StatusResponse.From(node.GetStatus()), Pinhole.Node.Api.ApiJsonContext.Default.StatusResponse).Length)),
            };
            foreach (var request in round % 2 == 0 ? requests : requests.Reverse())
            {
                await request();
            }
            // What the process spends while nobody calls (timers, the listener, finalizers, the JIT): it is in every
            // phase's CPU, so figures of short phases carry it.
            var idleCpu = Harness.CpuTime();
            await Task.Delay(1000);
            Add(round, "idle process CPU per second", (Harness.CpuTime() - idleCpu).TotalMilliseconds, "ms");
            Add(round, "GET /v1/status round trip (median)", apiMs, "ms");
            Add(round, "GET /v1/status CPU per call", apiCpu * 1000, "ms");
            Add(round, "bare Kestrel GET over a Unix socket (median)", bareMs, "ms");
            Add(round, "bare Kestrel GET CPU per call", bareCpu * 1000, "ms");
            Add(round, "CPU ratio GET /v1/status / bare Kestrel GET", apiCpu / bareCpu, "");
            Add(round, "GET /v1/status with the bare client, CPU per call", plainCpu * 1000, "ms");
            Add(round, "GET /v1/connections (empty) with the bare client, CPU per call", connectionsCpu * 1000, "ms");
            Add(round, "node.GetStatus() in process (median)", localMs, "ms");
            Add(round, "node.GetStatus() in process, CPU", localCpu * 1000, "ms");
            Add(round, "status snapshot + response JSON in process, CPU", jsonCpu * 1000, "ms");

            // The store calls a connect by address makes (pin + address: a read once stored; the dial's result with
            // the connection's last-seen: one write), without the dial: the store's share of the manager row.
            var storePeer = server.Identity.PeerId;
            var (storeMs, storeCpu) = await MeasureAsync(n / 4, () =>
            {
                node.Peers.Add(storePeer, addresses: [server.Address]);
                node.Peers.RecordConnected(storePeer, PeerTrust.Seen, server.Address);
                return Task.FromResult(0);
            });
            Add(round, "peer-store calls of one connect (median)", storeMs, "ms");
            Add(round, "peer-store calls of one connect, CPU", storeCpu * 1000, "ms");

            // Round 0 runs every path as often as a measured round: background tier-1 JIT compiles land in whichever
            // path runs while they happen, so a short warm-up charges them to the first paths measured. The order
            // of the paths alternates between rounds for the same reason.
            var m = connects;
            var paths = new Func<Task>[]
            {
                async () => (directMs, directCloseMs, directCpu) = await MeasureWithCleanupAsync(m,
                    () => PeerConnection.ConnectAsync(connectOptions, Harness.Bounded()).AsTask(),
                    connection => connection.DisposeAsync().AsTask()),
                async () => (managerMs, managerCloseMs, managerCpu) = await MeasureWithCleanupAsync(m,
                    () => node.Connections.ConnectAsync(PeerAddress.Parse(target.ToString()), cancellationToken: Harness.Bounded()).AsTask(),
                    _ => node.Connections.DisconnectAsync(server.Identity.PeerId, Harness.Bounded())),
                async () => (daemonMs, daemonCloseMs, daemonCpu) = await MeasureWithCleanupAsync(m,
                    () => api.ConnectAddressAsync(target.ToString(), cancellationToken: Harness.Bounded()),
                    _ => api.DisconnectAsync(server.Identity.PeerId.ToString(), Harness.Bounded())),
                // The same connect+close with the client in a process of its own (as the CLI is): the daemon's CPU
                // apart from the client's.
                async () => apart = await NodeClientChild.MeasureAsync(node.ApiSocketPath!, target.ToString(), server.Identity.PeerId.ToString(), m),
            };
            foreach (var path in round % 2 == 0 ? paths : paths.Reverse())
            {
                await path();
            }
            Add(round, "connect direct (median)", directMs, "ms");
            // The API's own cost: the same POST when the node is already connected (no dial, no store write).
            await node.Connections.ConnectAsync(PeerAddress.Parse(target.ToString()), cancellationToken: Harness.Bounded());
            var (postMs, postCpu) = await MeasureAsync(m, () => api.ConnectAddressAsync(target.ToString(), cancellationToken: Harness.Bounded()));
            await node.Connections.DisconnectAsync(server.Identity.PeerId, Harness.Bounded());
            Add(round, "POST /v1/connections when connected (median)", postMs, "ms");
            Add(round, "POST /v1/connections when connected, CPU", postCpu * 1000, "ms");
            Add(round, "connect through the manager, in process (median)", managerMs, "ms");
            Add(round, "connect through the daemon (median)", daemonMs, "ms");
            Add(round, "daemon adds (median difference)", daemonMs - directMs, "ms");
            Add(round, "close direct (median)", directCloseMs, "ms");
            Add(round, "close through the manager (median)", managerCloseMs, "ms");
            Add(round, "close through the daemon (median)", daemonCloseMs, "ms");
            Add(round, "CPU per connect+close direct", directCpu * 1000, "ms");
            Add(round, "CPU per connect+close through the manager", managerCpu * 1000, "ms");
            Add(round, "CPU per connect+close through the daemon", daemonCpu * 1000, "ms");
            Add(round, "CPU ratio manager/direct", managerCpu / directCpu, "");
            Add(round, "CPU ratio daemon/direct", daemonCpu / directCpu, "");
            // The least any HTTP control plane on Kestrel adds to a connect+close: two bare requests.
            Add(round, "two bare Kestrel requests / direct connect+close, CPU", 2 * bareCpu / directCpu, "");
            Add(round, "client apart: connect through the daemon (median)", apart.ConnectMs, "ms");
            Add(round, "client apart: close through the daemon (median)", apart.CloseMs, "ms");
            Add(round, "client apart: daemon process CPU per connect+close", apart.DaemonCpu * 1000, "ms");
            Add(round, "client apart: client process CPU per connect+close", apart.ClientCpu * 1000, "ms");
            Add(round, "client apart: CPU ratio daemon process/direct", apart.DaemonCpu / directCpu, "");
            Add(round, "client apart: CPU ratio daemon+client/direct", (apart.DaemonCpu + apart.ClientCpu) / directCpu, "");
        }
        Console.WriteLine();
        Console.WriteLine("| metric | median of rounds |");
        Console.WriteLine("|---|---|");
        foreach (var (name, list) in values)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {Harness.Median(list):F3} |"));
        }
        await node.StopAsync();
        home.Delete(recursive: true);
        return 0;
    }

    /// <summary>
    /// Runs <paramref name="operation"/> <paramref name="count"/> times one after another; returns the median
    /// wall time of the timed part in ms and the process CPU seconds per operation (timed part and cleanup).
    /// </summary>
    private static async Task<(double MedianMs, double CpuSeconds)> MeasureAsync<T>(int count, Func<Task<T>> operation, Func<T, Task>? cleanup = null)
    {
        var (median, _, cpu) = await MeasureWithCleanupAsync(count, operation, cleanup).ConfigureAwait(false);
        return (median, cpu);
    }

    /// <summary>As <see cref="MeasureAsync"/>, with the median wall time of the cleanup as well.</summary>
    private static async Task<(double MedianMs, double CleanupMedianMs, double CpuSeconds)> MeasureWithCleanupAsync<T>(int count, Func<Task<T>> operation, Func<T, Task>? cleanup)
    {
        var times = new List<double>(count);
        var cleanups = new List<double>(count);
        var cpu = Harness.CpuTime();
        for (var i = 0; i < count; i++)
        {
            var clock = Stopwatch.StartNew();
            var result = await operation().ConfigureAwait(false);
            times.Add(clock.Elapsed.TotalMilliseconds);
            if (cleanup is not null)
            {
                clock.Restart();
                await cleanup(result).ConfigureAwait(false);
                cleanups.Add(clock.Elapsed.TotalMilliseconds);
            }
        }
        return (Harness.Median(times), cleanups.Count > 0 ? Harness.Median(cleanups) : 0, (Harness.CpuTime() - cpu).TotalSeconds / count);
    }
}
