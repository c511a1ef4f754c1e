using System.Diagnostics;
using System.Globalization;

namespace Pinhole.Benchmarks.Transport;

/// <summary>
/// <c>fixed SCENARIO MIB</c>: moves exactly MIB MiB once and exits, printing the CPU time used. The work is
/// the same on every run, so an instruction counter (<c>valgrind --tool=callgrind</c>) gives a figure that does
/// not depend on the machine's load; running two sizes and subtracting removes start-up, JIT and handshakes
/// (docs/performance.md, "Instruction counts"). Scenarios: bare1, pinhole1, bare64, pinhole64.
/// Under valgrind everything runs ~50-100 times slower, so every timer of the Pinhole side runs on a clock
/// slowed down by the same factor (<see cref="SlowTimeProvider"/>) and the harness's own bounds are an hour:
/// a keepalive or handshake timeout must not end the run.
/// Message scenarios take thousands of units instead of MiB: <c>fixed requests 10</c> makes 10,000
/// <c>RequestAsync</c> round trips (a new reply stream each), <c>fixed pingpong 10</c> 10,000 64-byte bare
/// SslStream round trips, <c>fixed small 100</c> sends 100,000 64-byte messages on one channel; with
/// <c>strace -f -c</c> or <c>perf stat -e context-switches</c> that gives system calls and thread switches per unit.
/// </summary>
internal static class FixedWorkScenario
{
    public const string Command = "fixed";

    public static int Run(string[] args)
    {
        if (args.Length != 2 || !int.TryParse(args[1], NumberStyles.None, CultureInfo.InvariantCulture, out var mib) || mib < 1)
        {
            Console.Error.WriteLine("Usage: fixed bare1|pinhole1|bare64|pinhole64 MIB, or fixed requests|pingpong|small THOUSANDS");
            return 2;
        }
        var bytes = (long)mib << 20;
        Harness.Timeout = TimeSpan.FromHours(1);
        using var identities = new BenchIdentities();
        var cpu = Harness.CpuTime();
        var clock = Stopwatch.StartNew();
        var task = args[0] switch
        {
            "bare1" => BareAsync(identities, 1, bytes),
            "bare64" => BareAsync(identities, 64, bytes),
            "pinhole1" => PinholeAsync(identities, 1, bytes),
            "pinhole64" => PinholeAsync(identities, 64, bytes),
            "requests" => FixedMessagingScenario.RequestsAsync(mib * 1000),
            "pingpong" => FixedMessagingScenario.PingPongAsync(mib * 1000),
            "small" => FixedMessagingScenario.SmallAsync(mib * 1000),
            _ => null,
        };
        if (task is null)
        {
            Console.Error.WriteLine($"Unknown scenario '{args[0]}'.");
            return 2;
        }
        task.GetAwaiter().GetResult();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{args[0]}: {mib} {(args[0] is "requests" or "pingpong" or "small" ? "thousand" : "MiB")} in {clock.Elapsed.TotalSeconds:F2} s, {(Harness.CpuTime() - cpu).TotalSeconds:F2} CPU s"));
        return 0;
    }

    private static async Task BareAsync(BenchIdentities identities, int connections, long bytes)
    {
        await using var bare = new BareTls(identities);
        var pairs = new List<(Stream Writer, Stream Reader)>();
        for (var i = 0; i < connections; i++)
        {
            var client = await bare.ConnectAsync(Harness.Bounded());
            pairs.Add((client, await bare.AcceptAsync(Harness.Bounded())));
        }
        await MoveAsync(pairs, bytes);
        foreach (var (writer, reader) in pairs)
        {
            await writer.DisposeAsync();
            await reader.DisposeAsync();
        }
    }

    private static async Task PinholeAsync(BenchIdentities identities, int streams, long bytes)
    {
        await using var nodes = await PinholeNodes.StartAsync(identities, static o =>
        {
            o.TimeProvider = SlowTimeProvider.Instance;
            o.HandshakeTimeout = TimeSpan.FromSeconds(10);
        });
        await using var client = await nodes.ConnectAsync(Harness.Bounded());
        await using var server = await nodes.AcceptAsync(Harness.Bounded());
        var pairs = new List<(Stream Writer, Stream Reader)>();
        for (var i = 0; i < streams; i++)
        {
            var outbound = await client.OpenStreamAsync("/pinhole-bench/sink/1.0.0", Harness.Bounded());
            pairs.Add((outbound, await server.AcceptStreamAsync(Harness.Bounded())));
        }
        await MoveAsync(pairs, bytes);
        foreach (var (writer, reader) in pairs)
        {
            await writer.DisposeAsync();
            await reader.DisposeAsync();
        }
    }

    /// <summary>Writes <paramref name="bytes"/> in total, split evenly over the pairs, in 64 KiB writes, and waits until all is read.</summary>
    private static async Task MoveAsync(List<(Stream Writer, Stream Reader)> pairs, long bytes)
    {
        var perPair = bytes / pairs.Count / ThroughputScenario.WriteSize * ThroughputScenario.WriteSize;
        var tasks = new List<Task>();
        foreach (var (writer, reader) in pairs)
        {
            tasks.Add(Task.Run(async () =>
            {
                var buffer = new byte[ThroughputScenario.WriteSize];
                new Random(1).NextBytes(buffer);
                for (long sent = 0; sent < perPair; sent += buffer.Length)
                {
                    await writer.WriteAsync(buffer);
                }
            }));
            tasks.Add(Task.Run(async () =>
            {
                var buffer = new byte[ThroughputScenario.WriteSize];
                for (long received = 0; received < perPair;)
                {
                    var n = await reader.ReadAsync(buffer);
                    if (n == 0)
                    {
                        throw new IOException("The stream ended early.");
                    }
                    received += n;
                }
            }));
        }
        await Task.WhenAll(tasks).WaitAsync(Harness.Timeout);
    }

    /// <summary>The system clock slowed down 200 times: timestamps advance and timers fire 200 times later.</summary>
    private sealed class SlowTimeProvider : TimeProvider
    {
        private const long Factor = 200;

        public static readonly SlowTimeProvider Instance = new();

        public override long GetTimestamp() => System.GetTimestamp() / Factor;

        public override long TimestampFrequency => System.TimestampFrequency;

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
            System.CreateTimer(callback, state, Scale(dueTime), Scale(period));

        private static TimeSpan Scale(TimeSpan value) =>
            value == global::System.Threading.Timeout.InfiniteTimeSpan ? value : value * Factor;
    }
}
