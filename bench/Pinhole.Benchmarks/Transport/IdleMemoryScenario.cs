using System.Diagnostics;
using System.Globalization;
using System.Net.Security;

namespace Pinhole.Benchmarks.Transport;

/// <summary>
/// Memory per idle connection: a fresh child process opens N connections to itself (both ends live in
/// the process, for the baseline and for Pinhole alike), waits for them to settle, forces a full
/// compacting GC and reports the growth of the managed heap and of the working set over the same
/// process before the connections. A fresh process per run keeps one run's heap growth from hiding the next.
/// </summary>
/// <remarks>
/// Idle means what a server does while nobody talks: the bare baseline keeps a zero-byte
/// <see cref="Stream.ReadAsync(Memory{byte}, CancellationToken)"/> pending on each end (the cheapest way to wait
/// for data with SslStream: no buffer is held); Pinhole keeps its own read loop and timers.
/// </remarks>
internal static class IdleMemoryScenario
{
    public const string ChildCommand = "transport-idle-child";
    private const int Parallel = 8;

    /// <summary>Starts a child process and parses its result: (managed bytes, working-set bytes) per connection.</summary>
    public static (double Heap, double WorkingSet) Measure(string kind, int connections)
    {
        var path = Environment.ProcessPath ?? throw new InvalidOperationException("No process path.");
        var start = new ProcessStartInfo(path) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(path) == "dotnet")
        {
            start.ArgumentList.Add(typeof(IdleMemoryScenario).Assembly.Location);
        }
        start.ArgumentList.Add(ChildCommand);
        start.ArgumentList.Add(kind);
        start.ArgumentList.Add(connections.ToString(CultureInfo.InvariantCulture));
        using var child = Process.Start(start) ?? throw new InvalidOperationException("Cannot start the child process.");
        var stderr = child.StandardError.ReadToEndAsync();
        var output = child.StandardOutput.ReadToEnd();
        if (!child.WaitForExit(TimeSpan.FromMinutes(3)) || child.ExitCode != 0)
        {
            throw new InvalidOperationException($"The idle-memory child ({kind}) failed: {output} {stderr.Result}");
        }
        var line = output.Split('\n').Single(l => l.StartsWith("RESULT ", StringComparison.Ordinal));
        var parts = line.Split(' ');
        return (double.Parse(parts[1], CultureInfo.InvariantCulture), double.Parse(parts[2], CultureInfo.InvariantCulture));
    }

    public static int RunChild(string[] args)
    {
        var kind = args[0];
        var connections = int.Parse(args[1], CultureInfo.InvariantCulture);
        using var identities = new BenchIdentities();
        var result = kind switch
        {
            "bare" => RunBareAsync(identities, connections).GetAwaiter().GetResult(),
            "pinhole" => RunPinholeAsync(identities, connections).GetAwaiter().GetResult(),
            "node" => Daemon.NodeIdleScenario.RunAsync(connections).GetAwaiter().GetResult(),
            _ => throw new ArgumentException($"Unknown kind '{kind}'.", nameof(args)),
        };
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"RESULT {result.Heap:F0} {result.WorkingSet:F0}"));
        return 0;
    }

    private static async Task<(double Heap, double WorkingSet)> RunBareAsync(BenchIdentities identities, int connections)
    {
        await using var bare = new BareTls(identities);
        // One untimed connection first so code, OpenSSL state and pools exist before the "before" snapshot.
        await using (var warmClient = await bare.ConnectAsync(Harness.Bounded()))
        await using (var warmServer = await bare.AcceptAsync(Harness.Bounded()))
        {
        }
        var before = Snapshot();
        var streams = new List<SslStream>();
        var reads = new List<Task>();
        for (var i = 0; i < connections; i += Parallel)
        {
            var batch = Enumerable.Range(0, Math.Min(Parallel, connections - i)).Select(async _ =>
            {
                var client = await bare.ConnectAsync(Harness.Bounded());
                var server = await bare.AcceptAsync(Harness.Bounded());
                return (client, server);
            });
            foreach (var (client, server) in await Task.WhenAll(batch))
            {
                streams.Add(client);
                streams.Add(server);
                reads.Add(client.ReadAsync(Memory<byte>.Empty).AsTask());
                reads.Add(server.ReadAsync(Memory<byte>.Empty).AsTask());
            }
        }
        var after = await SettleAndSnapshotAsync();
        GC.KeepAlive(reads);
        foreach (var stream in streams)
        {
            await stream.DisposeAsync();
        }
        return PerConnection(before, after, connections);
    }

    private static async Task<(double Heap, double WorkingSet)> RunPinholeAsync(BenchIdentities identities, int connections)
    {
        await using var nodes = await PinholeNodes.StartAsync(identities);
        await using (var warmClient = await nodes.ConnectAsync(Harness.Bounded()))
        await using (var warmServer = await nodes.AcceptAsync(Harness.Bounded()))
        {
        }
        var before = Snapshot();
        var open = new List<PeerConnection>();
        for (var i = 0; i < connections; i += Parallel)
        {
            var batch = Enumerable.Range(0, Math.Min(Parallel, connections - i)).Select(async _ =>
            {
                var client = await nodes.ConnectAsync(Harness.Bounded());
                var server = await nodes.AcceptAsync(Harness.Bounded());
                return (client, server);
            });
            foreach (var (client, server) in await Task.WhenAll(batch))
            {
                open.Add(client);
                open.Add(server);
            }
        }
        var after = await SettleAndSnapshotAsync();
        foreach (var connection in open)
        {
            await connection.DisposeAsync();
        }
        return PerConnection(before, after, connections);
    }

    internal static async Task<(long Heap, long WorkingSet)> SettleAndSnapshotAsync()
    {
        // Let handshake leftovers (RTT pings, pooled buffers, thread-pool growth) finish.
        await Task.Delay(TimeSpan.FromSeconds(2));
        return Snapshot();
    }

    internal static (long Heap, long WorkingSet) Snapshot()
    {
        for (var i = 0; i < 3; i++)
        {
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
        }
        using var self = Process.GetCurrentProcess();
        self.Refresh();
        return (GC.GetTotalMemory(forceFullCollection: true), self.WorkingSet64);
    }

    internal static (double Heap, double WorkingSet) PerConnection((long Heap, long WorkingSet) before, (long Heap, long WorkingSet) after, int connections) =>
        ((after.Heap - before.Heap) / (double)connections, (after.WorkingSet - before.WorkingSet) / (double)connections);
}
