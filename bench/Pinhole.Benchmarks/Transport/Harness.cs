namespace Pinhole.Benchmarks.Transport;

/// <summary>Shared timing settings and helpers of the transport scenarios.</summary>
internal static class Harness
{
    /// <summary>Every single wait is bounded so a broken run fails instead of hanging.</summary>
    public static TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Untimed run before each measurement (JIT tiering, window growth, pools).</summary>
    public static TimeSpan WarmUp { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>CPU time (user + system) this process has used so far.</summary>
    /// <remarks>From getrusage (microseconds), not Process.TotalProcessorTime: that reads /proc's clock ticks, 10 ms each,
    /// which is a tenth of a phase of a thousand 0.1 ms API calls.</remarks>
    public static TimeSpan CpuTime() => Environment.CpuUsage.TotalTime;

    public static CancellationToken Bounded() => new CancellationTokenSource(Timeout).Token;

    public static double Median(IReadOnlyList<double> values)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }
        var sorted = values.Order().ToArray();
        var middle = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }
}
