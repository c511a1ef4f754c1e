using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Pinhole.Benchmarks.Transport;

namespace Pinhole.Benchmarks.Relay;

/// <summary>
/// <c>relay [--seconds N] [--rounds N] [--clients N] [--only throughput,latency,memory]</c>: relayed connections
/// (circuit relay v2, end-to-end TLS + yamux inside the circuit) against direct ones in the same run
/// (docs/performance.md, "Relay"):
/// <list type="bullet">
/// <item>throughput of one stream, direct vs relayed through an in-process relay vs relayed through a relay in its own
/// process (whose CPU is counted apart), with CPU seconds per GiB;</item>
/// <item>time to first byte: dial + upgrade + a one-byte echo, direct vs through a relay the peers are already connected to;</item>
/// <item>the relay's memory per connection, per reservation and per idle circuit (a relay in its own process).</item>
/// </list>
/// </summary>
internal static class RelayHarness
{
    public const string Command = "relay";

    public static int Run(string[] args)
    {
        var seconds = 3.0;
        var rounds = 5;
        var clients = 200;
        var only = new HashSet<string>(["throughput", "latency", "memory"]);
        for (var i = 0; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : null;
            switch (args[i])
            {
                case "--seconds": seconds = double.Parse(value!, CultureInfo.InvariantCulture); i++; break;
                case "--rounds": rounds = int.Parse(value!, CultureInfo.InvariantCulture); i++; break;
                case "--clients": clients = int.Parse(value!, CultureInfo.InvariantCulture); i++; break;
                case "--only": only = [.. value!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)]; i++; break;
                default:
                    Console.Error.WriteLine($"Unknown option '{args[i]}'. Usage: relay [--seconds N] [--rounds N] [--clients N] [--only throughput,latency,memory]");
                    return 2;
            }
        }
        Console.WriteLine($"pinhole relay benchmark: {Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, {RuntimeInformation.FrameworkDescription}");
        return RunAsync(TimeSpan.FromSeconds(seconds), rounds, clients, only).GetAwaiter().GetResult();
    }

    private static async Task<int> RunAsync(TimeSpan duration, int rounds, int clients, HashSet<string> only)
    {
        var values = new Dictionary<string, List<double>>();
        void Add(int round, string name, double value, string unit)
        {
            if (round == 0)
            {
                return; // round 0 only warms up the JIT
            }
            (values.TryGetValue(name, out var list) ? list : values[name] = []).Add(value);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  round {round}: {name,-44} {value,10:F2} {unit}"));
        }
        for (var round = 0; round <= rounds; round++)
        {
            var run = round == 0 ? TimeSpan.FromSeconds(1) : duration;
            if (only.Contains("throughput"))
            {
                var direct = await ThroughputDirectAsync(run);
                Add(round, "throughput direct", direct.Gbits, "Gbit/s");
                Add(round, "cpu/GiB direct", direct.CpuPerGiB, "CPU s/GiB");
                var relayed = await ThroughputRelayedAsync(run, childRelay: false);
                Add(round, "throughput relayed (relay in process)", relayed.Gbits, "Gbit/s");
                Add(round, "cpu/GiB relayed (all three in process)", relayed.CpuPerGiB, "CPU s/GiB");
                Add(round, "ratio relayed/direct (relay in process)", relayed.Gbits / direct.Gbits, "");
                var separate = await ThroughputRelayedAsync(run, childRelay: true);
                Add(round, "throughput relayed (relay process)", separate.Gbits, "Gbit/s");
                Add(round, "cpu/GiB relayed, both peers", separate.CpuPerGiB, "CPU s/GiB");
                Add(round, "cpu/GiB relayed, relay process", separate.RelayCpuPerGiB, "CPU s/GiB");
                Add(round, "ratio relayed/direct (relay process)", separate.Gbits / direct.Gbits, "");
                // If the peers are CPU-bound and the relay has its own CPU, throughput scales with the peers' CPU per byte.
                Add(round, "bound relayed/direct, relay with its own CPU", direct.CpuPerGiB / separate.CpuPerGiB, "");
            }
            if (only.Contains("latency"))
            {
                var (direct, relayed) = await FirstByteAsync(run);
                Add(round, "first byte direct (median)", direct, "ms");
                Add(round, "first byte relayed (median)", relayed, "ms");
            }
        }
        if (only.Contains("memory"))
        {
            var (connection, reservation, circuit) = await MemoryAsync(clients);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  relay memory: {connection / 1024:F1} KiB heap per client connection, {reservation / 1024:F2} KiB per reservation, {circuit / 1024:F1} KiB per idle circuit"));
        }
        Console.WriteLine();
        Console.WriteLine("| metric | median |");
        Console.WriteLine("|---|---|");
        foreach (var (name, list) in values)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {Harness.Median(list):F2} |"));
        }
        return 0;
    }

    private sealed record Rate(double Gbits, double CpuPerGiB, double RelayCpuPerGiB = double.NaN);

    private static async Task<Rate> ThroughputDirectAsync(TimeSpan duration)
    {
        await using var a = await BenchNode.StartAsync(listen: false);
        await using var b = await BenchNode.StartAsync();
        var connection = await a.ConnectAsync(b.Identity.PeerId, b.Address, Harness.Bounded());
        return await MeasureAsync(connection, b, duration, null);
    }

    private static async Task<Rate> ThroughputRelayedAsync(TimeSpan duration, bool childRelay)
    {
        await using var child = childRelay ? await ChildRelay.StartAsync() : null;
        await using var inProcess = childRelay ? null : await BenchNode.StartAsync(relay: true);
        var (relayId, relayAddress) = childRelay ? (child!.Peer, child.Address) : (inProcess!.Identity.PeerId, inProcess.Address);
        await using var a = await BenchNode.StartAsync(listen: false, client: true);
        await using var b = await BenchNode.StartAsync(listen: false, client: true);
        var bToR = await b.ConnectAsync(relayId, relayAddress, Harness.Bounded());
        await b.Client!.ReserveAsync(bToR, Harness.Bounded());
        var aToR = await a.ConnectAsync(relayId, relayAddress, Harness.Bounded());
        var relayed = await a.Client!.ConnectAsync(aToR, b.Identity.PeerId, Harness.Bounded());
        a.Route(relayed);
        return await MeasureAsync(relayed, b, duration, child);
    }

    /// <summary>One stream, 64 KiB writes, for <paramref name="duration"/> after a warm-up.</summary>
    private static async Task<Rate> MeasureAsync(PeerConnection connection, BenchNode receiver, TimeSpan duration, ChildRelay? child)
    {
        var writer = await connection.OpenStreamAsync(BenchProtocols.Sink, Harness.Bounded());
        var reader = await receiver.Incoming.Reader.ReadAsync(Harness.Bounded());
        long received = 0;
        using var stop = new CancellationTokenSource();
        var write = Task.Run(async () =>
        {
            var buffer = new byte[64 * 1024];
            Random.Shared.NextBytes(buffer);
            try
            {
                while (!stop.IsCancellationRequested)
                {
                    await writer.WriteAsync(buffer, stop.Token);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or IOException)
            {
            }
        });
        var read = Task.Run(async () =>
        {
            var buffer = new byte[64 * 1024];
            try
            {
                int n;
                while ((n = await reader.ReadAsync(buffer, stop.Token)) > 0)
                {
                    Interlocked.Add(ref received, n);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or IOException)
            {
            }
        });
        await Task.Delay(Harness.WarmUp);
        var start = Interlocked.Read(ref received);
        var cpu = Harness.CpuTime();
        var childCpu = child?.CpuTime() ?? TimeSpan.Zero;
        var clock = Stopwatch.StartNew();
        await Task.Delay(duration);
        var bytes = Interlocked.Read(ref received) - start;
        var elapsed = clock.Elapsed.TotalSeconds;
        var gib = bytes / (double)(1 << 30);
        var rate = new Rate(
            bytes * 8 / elapsed / 1e9,
            (Harness.CpuTime() - cpu).TotalSeconds / gib,
            child is null ? double.NaN : (child.CpuTime() - childCpu).TotalSeconds / gib);
        await stop.CancelAsync();
        await Task.WhenAll(write, read).WaitAsync(Harness.Timeout);
        await writer.DisposeAsync();
        await reader.DisposeAsync();
        return rate;
    }

    /// <summary>Medians, in ms, of dial → upgrade → one echoed byte: direct, and through a relay both peers are connected to.</summary>
    private static async Task<(double Direct, double Relayed)> FirstByteAsync(TimeSpan duration)
    {
        await using var r = await BenchNode.StartAsync(relay: true);
        await using var a = await BenchNode.StartAsync(listen: false, client: true);
        await using var b = await BenchNode.StartAsync(client: true);
        var bToR = await b.ConnectAsync(r.Identity.PeerId, r.Address, Harness.Bounded());
        await b.Client!.ReserveAsync(bToR, Harness.Bounded());
        var aToR = await a.ConnectAsync(r.Identity.PeerId, r.Address, Harness.Bounded());
        var direct = new List<double>();
        var relayed = new List<double>();
        var end = Stopwatch.StartNew();
        while (end.Elapsed < duration || direct.Count < 5)
        {
            var clock = Stopwatch.StartNew();
            var connection = await a.ConnectAsync(b.Identity.PeerId, b.Address, Harness.Bounded());
            await EchoOneAsync(connection);
            direct.Add(clock.Elapsed.TotalMilliseconds);
            await connection.DisposeAsync();

            clock.Restart();
            var circuit = await a.Client!.ConnectAsync(aToR, b.Identity.PeerId, Harness.Bounded());
            await EchoOneAsync(circuit);
            relayed.Add(clock.Elapsed.TotalMilliseconds);
            await circuit.DisposeAsync();
        }
        return (Harness.Median(direct), Harness.Median(relayed));
    }

    private static async Task EchoOneAsync(PeerConnection connection)
    {
        await using var stream = await connection.OpenStreamAsync(BenchProtocols.Echo, Harness.Bounded());
        await stream.WriteAsync(new byte[] { 42 }, Harness.Bounded());
        var one = new byte[1];
        await stream.ReadExactlyAsync(one, Harness.Bounded());
    }

    /// <summary>The relay process's heap growth per client connection, per reservation on it, and per idle circuit.</summary>
    private static async Task<(double Connection, double Reservation, double Circuit)> MemoryAsync(int clients)
    {
        await using var child = await ChildRelay.StartAsync();
        var nodes = new List<BenchNode>();
        try
        {
            var (heap0, _, _, _) = await child.MemoryAsync();
            var links = new List<PeerConnection>();
            for (var i = 0; i < clients; i++)
            {
                var node = await BenchNode.StartAsync(listen: false, client: true);
                nodes.Add(node);
                links.Add(await node.ConnectAsync(child.Peer, child.Address, Harness.Bounded()));
            }
            var (heap1, _, _, _) = await child.MemoryAsync();
            for (var i = 0; i < clients; i++)
            {
                await nodes[i].Client!.ReserveAsync(links[i], Harness.Bounded());
            }
            var (heap2, _, reservations, _) = await child.MemoryAsync();
            var circuits = clients / 2;
            for (var i = 0; i < circuits; i++)
            {
                var relayed = await nodes[i].Client!.ConnectAsync(links[i], nodes[circuits + i].Identity.PeerId, Harness.Bounded());
                nodes[i].Route(relayed);
            }
            var (heap3, workingSet, _, open) = await child.MemoryAsync();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  relay process: heap {heap0 / 1024} KiB empty, {heap1 / 1024} KiB with {clients} connections, {heap2 / 1024} KiB with {reservations} reservations, {heap3 / 1024} KiB with {open} circuits (working set {workingSet / (1 << 20)} MiB)"));
            return ((heap1 - heap0) / (double)clients, (heap2 - heap1) / (double)clients, (heap3 - heap2) / (double)circuits);
        }
        finally
        {
            foreach (var node in nodes)
            {
                await node.DisposeAsync();
            }
        }
    }

    /// <summary>A <see cref="RelayChild"/> process started by this benchmark (killed by its PID when done).</summary>
    private sealed class ChildRelay : IAsyncDisposable
    {
        private readonly Process _process;

        private ChildRelay(Process process, Multiaddr address, PeerId peer)
        {
            _process = process;
            Address = address;
            Peer = peer;
        }

        public Multiaddr Address { get; }

        public PeerId Peer { get; }

        public static async Task<ChildRelay> StartAsync()
        {
            var info = new ProcessStartInfo(Environment.ProcessPath!)
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                UseShellExecute = false,
            };
            if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet")
            {
                info.ArgumentList.Add(typeof(RelayChild).Assembly.Location);
            }
            info.ArgumentList.Add(RelayChild.Command);
            var process = Process.Start(info)!;
            var ready = (await process.StandardOutput.ReadLineAsync().WaitAsync(Harness.Timeout))?.Split(' ')
                ?? throw new InvalidOperationException("the relay process ended before it was ready");
            return new ChildRelay(process, Multiaddr.Parse(ready[1]), PeerId.Parse(ready[2]));
        }

        public TimeSpan CpuTime()
        {
            _process.Refresh();
            return _process.TotalProcessorTime;
        }

        public async Task<(long Heap, long WorkingSet, int Reservations, int Circuits)> MemoryAsync()
        {
            await _process.StandardInput.WriteLineAsync("mem");
            await _process.StandardInput.FlushAsync();
            var line = (await _process.StandardOutput.ReadLineAsync().WaitAsync(Harness.Timeout))!.Split(' ');
            return (long.Parse(line[1], CultureInfo.InvariantCulture), long.Parse(line[2], CultureInfo.InvariantCulture),
                int.Parse(line[3], CultureInfo.InvariantCulture), int.Parse(line[4], CultureInfo.InvariantCulture));
        }

        public async ValueTask DisposeAsync()
        {
            _process.StandardInput.Close();
            using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await _process.WaitForExitAsync(grace.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: false);
            }
            _process.Dispose();
        }
    }
}
