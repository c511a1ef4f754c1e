using System.Diagnostics;

namespace Pinhole.Benchmarks.Transport;

/// <summary>
/// Bulk transfer on loopback: writers send 64 KiB buffers as fast as they can, readers drain into
/// 64 KiB buffers; the figure is what the readers received per second after a warm-up.
/// </summary>
internal static class ThroughputScenario
{
    public const int WriteSize = 64 * 1024;
    private const string Protocol = "/pinhole-bench/sink/1.0.0";

    /// <summary>CPU seconds per GiB of the last measurement (less sensitive to other load on the machine than the rate).</summary>
    public static double LastCpuSecondsPerGiB { get; private set; }

    /// <summary>The receive windows auto-tuning reached on the reading streams of the last Pinhole run.</summary>
    public static int[] LastReceiveWindows { get; private set; } = [];

    /// <summary>One bare SslStream connection: the baseline.</summary>
    public static async Task<double> BareAsync(BenchIdentities identities, int connections, TimeSpan duration)
    {
        await using var bare = new BareTls(identities);
        var pairs = new List<(Stream Writer, Stream Reader)>();
        try
        {
            for (var i = 0; i < connections; i++)
            {
                var client = await bare.ConnectAsync(Harness.Bounded());
                pairs.Add((client, await bare.AcceptAsync(Harness.Bounded())));
            }
            return await MeasureAsync(pairs, duration);
        }
        finally
        {
            foreach (var (writer, reader) in pairs)
            {
                await writer.DisposeAsync();
                await reader.DisposeAsync();
            }
        }
    }

    /// <summary><paramref name="streams"/> yamux streams on one Pinhole connection.</summary>
    /// <param name="identities">Both nodes.</param>
    /// <param name="streams">Parallel streams on the one connection.</param>
    /// <param name="duration">Measured time after the warm-up.</param>
    /// <param name="fixedWindow">Diagnostic: start every stream at the largest window (16 MiB) instead of auto-tuning from 256 KiB.</param>
    public static async Task<double> PinholeAsync(BenchIdentities identities, int streams, TimeSpan duration, bool fixedWindow = false)
    {
        await using var nodes = await PinholeNodes.StartAsync(identities, fixedWindow ? static o => o.InitialStreamWindow = o.MaxStreamWindow : null);
        var client = await nodes.ConnectAsync(Harness.Bounded());
        var server = await nodes.AcceptAsync(Harness.Bounded());
        var pairs = new List<(Stream Writer, Stream Reader)>();
        try
        {
            for (var i = 0; i < streams; i++)
            {
                var outbound = await client.OpenStreamAsync(Protocol, Harness.Bounded());
                pairs.Add((outbound, await server.AcceptStreamAsync(Harness.Bounded())));
            }
            var rate = await MeasureAsync(pairs, duration);
            LastReceiveWindows = [.. pairs.Select(p => ((Pinhole.Transport.Yamux.YamuxStream)p.Reader).ReceiveWindow)];
            return rate;
        }
        finally
        {
            await client.DisposeAsync();
            await server.DisposeAsync();
            foreach (var (writer, reader) in pairs)
            {
                await writer.DisposeAsync();
                await reader.DisposeAsync();
            }
        }
    }

    /// <summary>Runs every pair until <paramref name="duration"/> after a warm-up; returns bits per second received
    /// and the process CPU time spent per GiB moved (both ends are in this process).</summary>
    private static async Task<double> MeasureAsync(List<(Stream Writer, Stream Reader)> pairs, TimeSpan duration)
    {
        long received = 0;
        using var stop = new CancellationTokenSource();
        var tasks = new List<Task>();
        foreach (var (writer, reader) in pairs)
        {
            tasks.Add(Task.Run(async () =>
            {
                var buffer = new byte[WriteSize];
                Random.Shared.NextBytes(buffer);
                try
                {
                    while (!stop.IsCancellationRequested)
                    {
                        await writer.WriteAsync(buffer, stop.Token);
                    }
                }
                catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException)
                {
                }
            }));
            tasks.Add(Task.Run(async () =>
            {
                var buffer = new byte[WriteSize];
                try
                {
                    while (true)
                    {
                        var n = await reader.ReadAsync(buffer, stop.Token);
                        if (n == 0)
                        {
                            return;
                        }
                        Interlocked.Add(ref received, n);
                    }
                }
                catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException)
                {
                }
            }));
        }
        await Task.Delay(Harness.WarmUp);
        var start = Interlocked.Read(ref received);
        var cpu = Harness.CpuTime();
        var clock = Stopwatch.StartNew();
        await Task.Delay(duration);
        var bytes = Interlocked.Read(ref received) - start;
        var seconds = clock.Elapsed.TotalSeconds;
        LastCpuSecondsPerGiB = (Harness.CpuTime() - cpu).TotalSeconds / (bytes / (double)(1 << 30));
        await stop.CancelAsync();
        // Cancelled SslStream/yamux operations end promptly; the caller disposes the rest.
        await Task.WhenAll(tasks).WaitAsync(Harness.Timeout);
        return bytes * 8 / seconds;
    }
}
