using System.Diagnostics;
using System.Globalization;
using System.Net;
using Pinhole.Coordinator;
using Pinhole.Membership;

namespace Pinhole.Benchmarks.Coordinator;

/// <summary>
/// <c>fanout [--clients N] [--rounds R] [--store postgres:CONNSTRING --instances K]</c>: a coordinator (a temporary
/// SQLite store, or K instances on one shared PostgreSQL store, members spread over them round-robin) and N members, each a real TLS+yamux
/// connection with a live <c>/pinhole/coord/1</c> subscription (in-process simulated clients: one connection and one
/// subscription each, decoding every record they receive, but no full <see cref="MembershipClient"/> view, which would
/// make the run quadratic in memory). Per round the admin revokes one member and the harness measures, for that one
/// record reaching all N subscribers, the process's CPU per member and the p50/p99/max arrival latency. The same-run
/// raw baseline is one libp2p ping round trip on each of the same N connections (touching every client once).
/// </summary>
internal static class FanOutHarness
{
    public const string Command = "fanout";

    public static int Run(string[] args)
    {
        var clients = 5000;
        var rounds = 3;
        string? store = null;
        var instances = 1;
        for (var i = 0; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : null;
            switch (args[i])
            {
                case "--clients": clients = int.Parse(value!, CultureInfo.InvariantCulture); i++; break;
                case "--rounds": rounds = int.Parse(value!, CultureInfo.InvariantCulture); i++; break;
                case "--store": store = value; i++; break;
                case "--instances": instances = int.Parse(value!, CultureInfo.InvariantCulture); i++; break;
                default:
                    Console.Error.WriteLine($"Unknown option '{args[i]}'. Usage: fanout [--clients N] [--rounds R] [--store postgres:CONNSTRING --instances K]");
                    return 2;
            }
        }
        if (clients < 10 || rounds < 1 || rounds >= clients || instances < 1 || instances > 8)
        {
            Console.Error.WriteLine("fanout needs --clients >= 10, 1 <= --rounds < clients and 1 <= --instances <= 8.");
            return 2;
        }
        if (instances > 1 && store?.StartsWith("postgres:", StringComparison.Ordinal) != true)
        {
            Console.Error.WriteLine("Several instances need a shared store: --store postgres:CONNSTRING (an empty database).");
            return 2;
        }
        return RunAsync(clients, rounds, store, instances).GetAwaiter().GetResult();
    }

    private static async Task<int> RunAsync(int count, int rounds, string? specification, int instances)
    {
        var directory = Directory.CreateTempSubdirectory("ph-fanout-").FullName;
        var guard = TimeSpan.FromMinutes(10);
        using var admin = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        using var coordinatorKey = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var members = Enumerable.Range(0, count).Select(_ => NodeIdentity.Generate(Libp2pKeyType.Ed25519)).ToList();
        var connections = new List<PeerConnection>();
        using var stop = new CancellationTokenSource();
        var subscriptions = new List<Task>();
        var stores = new List<CoordinatorStore>();
        var servers = new List<CoordinatorServer>();
        try
        {
            specification ??= "sqlite:" + Path.Combine(directory, "coordinator.db");
            for (var i = 0; i < instances; i++)
            {
                stores.Add(await CoordinatorStore.OpenAsync(specification));
            }
            var store = stores[0];
            var now = DateTimeOffset.UtcNow.AddMinutes(-1);
            var genesis = GenesisRecord.Create("fanout", new AdminSet([admin.PublicKey], 1), IPNetwork.Parse("100.64.0.0/10"), null, now, [admin]);
            await store.CreateNetworkAsync(genesis, now);
            var network = genesis.Network;
            for (var i = 0; i < count; i++)
            {
                var address = new IPAddress([100, (byte)(64 + (i >> 16)), (byte)(i >> 8), (byte)i]);
                await store.AppendAsync(MembershipRecord.Issue(admin, network, members[i].PeerId, address, null, ["all"], now, now.AddDays(30), now));
            }
            for (var i = 0; i < instances; i++)
            {
                servers.Add(await CoordinatorServer.StartAsync(new CoordinatorOptions
                {
                    Identity = coordinatorKey,
                    Store = stores[i],
                    ListenAddresses = [Multiaddr.Parse("/ip4/127.0.0.1/tcp/0")],
                    HandshakeTimeout = guard,
                    // Every simulated member dials from 127.0.0.1: the per-address limits would see one giant NAT.
                    MaxConnections = count + 100,
                    MaxConnectionsPerAddress = count + 100,
                    MaxHandshakesPerAddress = count + 100,
                    HandshakesPerSecondPerAddress = 1e9,
                    HandshakeBurstPerAddress = count + 100,
                }));
            }
            var server = servers[0];
            var coordinators = servers.Select(s => PeerAddress.Parse(s.ListenAddresses[0] + "/p2p/" + coordinatorKey.PeerId)).ToList();
            var head = (await store.GetNetworkAsync(network))!.Value.LastSequence;

            // Connect and subscribe everyone (from the head: the backlog is not what is measured), 32 at a time.
            var clock = Stopwatch.StartNew();
            var arrivals = new long[count];
            var victim = new PeerId?[1];
            var pending = 0;
            var allArrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var caughtUp = 0;
            var allCaughtUp = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var connectCpu = CpuSeconds();
            var connecting = Stopwatch.StartNew();
            using (var gate = new SemaphoreSlim(32))
            {
                var opened = await Task.WhenAll(members.Select(async (member, i) =>
                {
                    await gate.WaitAsync();
                    try
                    {
                        return await PeerConnection.ConnectAsync(new PeerConnectOptions { Identity = member, Remote = coordinators[i % instances], HandshakeTimeout = guard });
                    }
                    finally
                    {
                        gate.Release();
                    }
                }));
                connections.AddRange(opened);
            }
            for (var i = 0; i < count; i++)
            {
                var index = i;
                var client = new CoordinatorClient(connections[i]);
                subscriptions.Add(Task.Run(async () =>
                {
                    var ready = false;
                    await foreach (var message in client.SubscribeAsync(network, head, stop.Token))
                    {
                        if (!ready && message.CaughtUp)
                        {
                            ready = true;
                            if (Interlocked.Increment(ref caughtUp) == count)
                            {
                                allCaughtUp.TrySetResult();
                            }
                        }
                        foreach (var blob in message.Records)
                        {
                            // Each client decodes and checks what it receives, as a member does.
                            if (NetworkRecord.Decode(blob.Span) is RevocationRecord revocation && revocation.Peer.Equals(Volatile.Read(ref victim[0]))
                                && !revocation.Peer.Equals(members[index].PeerId))
                            {
                                arrivals[index] = clock.ElapsedTicks;
                                if (Interlocked.Decrement(ref pending) == 0)
                                {
                                    allArrived.TrySetResult();
                                }
                            }
                        }
                    }
                }));
            }
            await allCaughtUp.Task.WaitAsync(guard);
            connecting.Stop();
            var connectCpuPerMember = (CpuSeconds() - connectCpu) * 1000 / count;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{count} members on {instances} instance(s) of {stores[0]} connected and subscribed in {connecting.Elapsed.TotalSeconds:0.0} s, {connectCpuPerMember:0.00} CPU-ms per member (both sides, one process); managed heap {GC.GetTotalMemory(true) / 1024.0 / count:0} KiB per member; subscribers {string.Join(" + ", servers.Select(x => x.SubscriberCount))}"));

            var feed = (await server.GetFeedAsync(network, CancellationToken.None))!;
            for (var round = 0; round < rounds; round++)
            {
                // Baseline: one ping round trip on every connection (skipping the members revoked in earlier rounds, whose connections the coordinator closed).
                var live = connections.Take(count - round).ToList();
                var baselineCpu = CpuSeconds();
                var baselineWall = Stopwatch.StartNew();
                using (var gate = new SemaphoreSlim(256))
                {
                    await Task.WhenAll(live.Select(async c =>
                    {
                        await gate.WaitAsync();
                        try
                        {
                            await c.PingAsync().WaitAsync(guard);
                        }
                        finally
                        {
                            gate.Release();
                        }
                    }));
                }
                baselineWall.Stop();
                var baselinePerMember = (CpuSeconds() - baselineCpu) * 1000 / live.Count;

                // The victim is the last still-member; every other member's subscription must deliver the revocation
                // (the victim's own is closed by the coordinator: it is not counted).
                var target = members[count - 1 - round].PeerId;
                Volatile.Write(ref victim[0], target);
                var receivers = count - round - 1;
                Volatile.Write(ref pending, receivers);
                var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                allArrived = done;
                Array.Clear(arrivals);
                var revokedAt = DateTimeOffset.UtcNow;
                var record = RevocationRecord.Issue(admin, network, target, revokedAt, revokedAt, "fan-out benchmark");
                var cpuBefore = CpuSeconds();
                var start = clock.ElapsedTicks;
                await server.WriteAsync(feed, record, admin.PeerId, viaAdminApi: true);
                await done.Task.WaitAsync(guard);
                var cpuPerMember = (CpuSeconds() - cpuBefore) * 1000 / receivers;
                var latencies = arrivals.Take(receivers).Select(t => (t - start) * 1000.0 / Stopwatch.Frequency).Order().ToList();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"round {round + 1}: one revocation (written on instance 1) to {receivers} subscribers: {cpuPerMember:0.000} CPU-ms per member ({cpuPerMember / baselinePerMember:0.00}x the ping baseline of {baselinePerMember:0.000} CPU-ms, {baselineWall.Elapsed.TotalMilliseconds:0} ms wall); " +
                    $"arrival {Percentiles(latencies)}; load {File.ReadAllText("/proc/loadavg").Split(' ')[0]}"));
                for (var k = 0; instances > 1 && k < instances; k++)
                {
                    var on = arrivals.Take(receivers).Where((_, i) => i % instances == k).Select(t => (t - start) * 1000.0 / Stopwatch.Frequency).Order().ToList();
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  subscribers of instance {k + 1}: {on.Count}, arrival {Percentiles(on)}"));
                }
            }
            await stop.CancelAsync();
            foreach (var connection in connections)
            {
                await connection.DisposeAsync();
            }
            await Task.WhenAll(subscriptions.Select(s => s.ContinueWith(_ => { }, TaskScheduler.Default)));
            return 0;
        }
        finally
        {
            foreach (var connection in connections)
            {
                await connection.DisposeAsync();
            }
            foreach (var s in servers)
            {
                await s.DisposeAsync();
            }
            foreach (var s in stores)
            {
                await s.DisposeAsync();
            }
            members.ForEach(m => m.Dispose());
            Directory.Delete(directory, recursive: true);
        }
    }

    private static string Percentiles(List<double> sorted) => sorted.Count == 0 ? "none" : string.Create(CultureInfo.InvariantCulture,
        $"p50 {sorted[sorted.Count / 2]:0} ms, p99 {sorted[sorted.Count * 99 / 100]:0} ms, max {sorted[^1]:0} ms");

    private static double CpuSeconds()
    {
        using var self = Process.GetCurrentProcess();
        return self.TotalProcessorTime.TotalSeconds;
    }
}
