using System.Globalization;
using System.Runtime.InteropServices;

namespace Pinhole.Benchmarks.Transport;

/// <summary>
/// <c>transport [--seconds N] [--rounds N] [--memory-rounds N] [--connections N] [--only throughput,handshake,latency,messaging,memory] [--delay-ms MS]</c>
/// (<c>--delay-ms</c>: the connect-to-first-byte runs go through a <see cref="DelayProxy"/> adding MS each way):
/// runs each bare-SslStream baseline and its Pinhole counterpart alternately, several rounds, and prints
/// the medians and Pinhole/baseline ratios against the targets of issue 2 (docs/performance.md).
/// </summary>
internal static class TransportHarness
{
    public const string Command = "transport";

    /// <summary>Runs only the measurements whose name contains this (for profiling one case).</summary>
    private static string? Filter { get; set; }

    private static bool s_warmingUp;

    // A detail of the last measurement printed after its value.
    private static string s_note = "";

    public static int Run(string[] args)
    {
        var seconds = 3.0;
        var rounds = 5;
        var memoryRounds = 3;
        var connections = 1000;
        var only = new HashSet<string>(["throughput", "handshake", "latency", "messaging", "memory"]);
        for (var i = 0; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : null;
            switch (args[i])
            {
                case "--seconds": seconds = double.Parse(value!, CultureInfo.InvariantCulture); i++; break;
                case "--rounds": rounds = int.Parse(value!, CultureInfo.InvariantCulture); i++; break;
                case "--memory-rounds": memoryRounds = int.Parse(value!, CultureInfo.InvariantCulture); i++; break;
                case "--connections": connections = int.Parse(value!, CultureInfo.InvariantCulture); i++; break;
                case "--warmup": Harness.WarmUp = TimeSpan.FromSeconds(double.Parse(value!, CultureInfo.InvariantCulture)); i++; break;
                case "--filter": Filter = value; i++; break;
                case "--delay-ms": HandshakeScenario.OneWayDelay = TimeSpan.FromMilliseconds(double.Parse(value!, CultureInfo.InvariantCulture)); i++; break;
                case "--only": only = [.. value!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)]; i++; break;
                default:
                    Console.Error.WriteLine($"Unknown option '{args[i]}'. Usage: transport [--seconds N] [--rounds N] [--memory-rounds N] [--connections N] [--warmup S] [--only throughput,handshake,latency,messaging,memory] [--filter NAME] [--delay-ms MS]");
                    return 2;
            }
        }
        Console.WriteLine($"pinhole transport benchmark: {Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, {RuntimeInformation.FrameworkDescription}");
        Console.WriteLine($"{rounds} rounds x {seconds} s per measurement (+{Harness.WarmUp.TotalSeconds} s warm-up), idle memory: {memoryRounds} rounds x {connections} connections");
        if (HandshakeScenario.OneWayDelay > TimeSpan.Zero)
        {
            Console.WriteLine($"connect to first byte through a delay proxy: {HandshakeScenario.OneWayDelay.TotalMilliseconds} ms each way");
        }
        var results = new Results();
        var duration = TimeSpan.FromSeconds(seconds);
        using (var identities = new BenchIdentities())
        {
            for (var round = 0; round <= rounds && (only.Contains("throughput") || only.Contains("handshake") || only.Contains("latency") || only.Contains("messaging")); round++)
            {
                // Round 0 is a short, discarded pass over every scenario so that tiered JIT compilation of the
                // whole path is done before anything is timed (the background JIT otherwise costs 10-20 % of a run).
                s_warmingUp = round == 0;
                duration = round == 0 ? TimeSpan.FromSeconds(Math.Min(seconds, 1)) : TimeSpan.FromSeconds(seconds);
                // Alternate which side goes first so slow drift (thermal, other load) hits both alike.
                var bareFirst = round % 2 == 1;
                if (only.Contains("throughput"))
                {
                    Pair(results, round, bareFirst,
                        ("throughput bare 1 conn", () => Cpu(results, "cpu/GiB bare 1 conn", ThroughputScenario.BareAsync(identities, 1, duration))),
                        ("throughput pinhole 1 stream", () => Cpu(results, "cpu/GiB pinhole 1 stream", ThroughputScenario.PinholeAsync(identities, 1, duration))));
                    Pair(results, round, bareFirst,
                        ("throughput bare 64 conns", () => Cpu(results, "cpu/GiB bare 64 conns", ThroughputScenario.BareAsync(identities, 64, duration))),
                        ("throughput pinhole 64 streams", () => Cpu(results, "cpu/GiB pinhole 64 streams", ThroughputScenario.PinholeAsync(identities, 64, duration))));
                    Record(results, round, "throughput pinhole 1 stream 16 MiB window", () => Cpu(results, "cpu/GiB pinhole 1 stream 16 MiB window", ThroughputScenario.PinholeAsync(identities, 1, duration, fixedWindow: true)));
                }
                if (only.Contains("handshake"))
                {
                    Pair(results, round, bareFirst,
                        ("handshakes bare", () => Cycles(results, "bare", HandshakeScenario.BareHandshakesAsync(identities, duration))),
                        ("handshakes pinhole", () => Cycles(results, "pinhole", HandshakeScenario.PinholeHandshakesAsync(identities, duration))));
                    Record(results, round, "handshakes bare, Pinhole's TLS settings", () => Cycles(results, "bare, Pinhole's TLS settings", HandshakeScenario.BareHandshakesAsync(identities, duration, pinholeTls: true)));
                    Record(results, round, "libp2p certificate check", () => Task.FromResult(HandshakeScenario.VerifyCostMicroseconds(identities)));
                }
                if (only.Contains("latency"))
                {
                    Pair(results, round, bareFirst,
                        ("first byte bare", () => FirstByteCpu(results, "cpu/cycle first byte bare", HandshakeScenario.BareFirstByteAsync(identities, duration))),
                        ("first byte pinhole", () => FirstByteCpu(results, "cpu/cycle first byte pinhole", HandshakeScenario.PinholeFirstByteAsync(identities, duration))));
                }
                if (only.Contains("messaging"))
                {
                    var peers = MessagingPeers.CreateAsync().GetAwaiter().GetResult();
                    try
                    {
                        Pair(results, round, bareFirst,
                            ("throughput msg bare 64 KiB writes", () => MessagingCpu(results, "cpu/GiB msg bare 64 KiB writes", MessagingScenario.BareBulkAsync(peers, duration), bits: true)),
                            ("throughput msg channel 64 KiB messages", () => MessagingCpu(results, "cpu/GiB msg channel 64 KiB messages", MessagingScenario.ChannelBulkAsync(peers, duration), bits: true)));
                        Record(results, round, "throughput msg channel 64 KiB messages, new array each", () => MessagingCpu(results, "cpu/GiB msg channel 64 KiB messages, new array each", MessagingScenario.ChannelBulkArraysAsync(peers, duration), bits: true));
                        Pair(results, round, bareFirst,
                            ("messages bare 64 B, pipe-batched", () => MessagingCpu(results, "cpu/msg bare 64 B, pipe-batched", MessagingScenario.BareSmallAsync(peers, duration))),
                            ("messages channel 64 B", () => MessagingCpu(results, "cpu/msg channel 64 B", MessagingScenario.ChannelSmallAsync(peers, duration))));
                        Pair(results, round, bareFirst,
                            ("round trip bare 64 B ping-pong", () => MessagingCpu(results, "cpu/rt bare 64 B ping-pong", MessagingScenario.BarePingPongAsync(peers, duration))),
                            ("round trip RequestAsync, new reply stream", () => MessagingCpu(results, "cpu/rt RequestAsync, new reply stream", MessagingScenario.RequestReplyAsync(peers, duration))));
                    }
                    finally
                    {
                        peers.DisposeAsync().AsTask().GetAwaiter().GetResult();
                    }
                }
            }
        }
        if (only.Contains("memory"))
        {
            for (var round = 1; round <= memoryRounds; round++)
            {
                var order = round % 2 == 1 ? new[] { "bare", "pinhole" } : ["pinhole", "bare"];
                foreach (var kind in order)
                {
                    var (heap, workingSet) = IdleMemoryScenario.Measure(kind, connections);
                    results.Add($"idle heap {kind}", heap);
                    results.Add($"idle working set {kind}", workingSet);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  round {round}: idle {kind,-8} heap {heap / 1024,8:F1} KiB/conn, working set {workingSet / 1024,8:F1} KiB/conn"));
                }
            }
        }
        results.PrintTable();
        return 0;
    }

    /// <summary>Keeps the connect-and-close cycle rate and its CPU cost as their own series and returns the handshake rate.</summary>
    private static async Task<double> Cycles(Results results, string kind, Task<(double Handshakes, double Cycles)> run)
    {
        var (handshakes, cycles) = await run;
        if (s_warmingUp)
        {
            return handshakes;
        }
        results.Add($"handshakes+close {kind}", cycles);
        results.Add($"cpu/cycle {kind}", HandshakeScenario.LastCpuMicrosecondsPerCycle);
        return handshakes;
    }

    /// <summary>Keeps the process CPU time per connect-to-first-byte cycle (close of both ends included) as its own series.</summary>
    private static async Task<double> FirstByteCpu(Results results, string name, Task<double> run)
    {
        var latency = await run;
        if (!s_warmingUp)
        {
            results.Add(name, HandshakeScenario.LastCpuMicrosecondsPerCycle);
        }
        return latency;
    }

    /// <summary>Keeps the CPU cost per unit of a messaging run as its own series; bulk rates are turned into bits per second.</summary>
    private static async Task<double> MessagingCpu(Results results, string name, Task<double> run, bool bits = false)
    {
        var rate = await run;
        if (!s_warmingUp)
        {
            results.Add(name, MessagingScenario.LastCpuPerUnit);
        }
        return bits ? rate * 8 : rate;
    }

    /// <summary>Keeps the CPU cost per GiB of a throughput run as its own series.</summary>
    private static async Task<double> Cpu(Results results, string name, Task<double> run)
    {
        var rate = await run;
        if (s_warmingUp)
        {
            return rate;
        }
        results.Add(name, ThroughputScenario.LastCpuSecondsPerGiB);
        if (name.Contains("pinhole", StringComparison.Ordinal))
        {
            var windows = ThroughputScenario.LastReceiveWindows;
            s_note = $" (receive windows reached {windows.Min() / 1024}-{windows.Max() / 1024} KiB)";
        }
        return rate;
    }

    private static void Pair(Results results, int round, bool bareFirst, (string Name, Func<Task<double>> Run) bare, (string Name, Func<Task<double>> Run) pinhole)
    {
        foreach (var (name, run) in bareFirst ? new[] { bare, pinhole } : [pinhole, bare])
        {
            Record(results, round, name, run);
        }
    }

    private static void Record(Results results, int round, string name, Func<Task<double>> run)
    {
        if (Filter is not null && !name.Contains(Filter, StringComparison.Ordinal))
        {
            return;
        }
        var value = run().GetAwaiter().GetResult();
        if (round == 0)
        {
            s_note = "";
            return;
        }
        results.Add(name, value);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  round {round}: {name,-32} {Results.Format(name, value)}{s_note}"));
        s_note = "";
    }
}
