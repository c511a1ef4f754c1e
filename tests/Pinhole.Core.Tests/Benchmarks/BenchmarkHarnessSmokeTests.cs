namespace Pinhole.Core.Tests.Benchmarks;

/// <summary>
/// The benchmark harness (bench/Pinhole.Benchmarks) still runs end to end: one short round of every scenario.
/// Its figures are not checked: on a shared CI machine they are noise (docs/performance.md records real runs).
/// What is checked is that every scenario completes and every row of the summary table is printed.
/// </summary>
public sealed class BenchmarkHarnessSmokeTests
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromMinutes(10);

    /// <summary>The harness built next to this test assembly (same configuration; the project reference builds it).</summary>
    private static string HarnessPath()
    {
        var configuration = new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)).Parent!.Name;
        var path = RepoPaths.InRepo("bench", "Pinhole.Benchmarks", "bin", configuration, "net10.0", "Pinhole.Benchmarks.dll");
        Assert.True(File.Exists(path), $"The benchmark harness is not built at {path} (build the solution or this test project).");
        return path;
    }

    [Fact]
    public async Task EveryTransportAndMessagingScenarioRunsAndIsReported()
    {
        var result = (await ExternalProcess.RunAsync("dotnet",
            [HarnessPath(), "transport", "--seconds", "1", "--rounds", "1", "--warmup", "0.2", "--memory-rounds", "1", "--connections", "20"],
            HangGuard)).EnsureSuccess();
        foreach (var row in new[]
        {
            "| one stream throughput, 64 KiB writes |",
            "| 64 streams on one connection vs one bare connection |",
            "| CPU per GiB, one stream (lower is better) |",
            "| mutual handshakes per second, one at a time |",
            "| connect to first byte (lower is better) |",
            "| (info) CPU per connect-to-first-byte cycle, close included (lower is better) |",
            "| 64 KiB messages on one channel |",
            "| (info) 64 KiB messages, each received into a new array (MessageCodec.Memory) |",
            "| 64-byte messages on one channel vs pipe-batched bare |",
            "| request/reply, new reply stream each time, vs bare ping-pong (lower is better) |",
            "| idle connection, managed heap (both ends) |",
        })
        {
            Assert.Contains(row, result.StandardOutput, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task TheConnectToFirstByteRunsWorkThroughTheDelayProxy()
    {
        var result = (await ExternalProcess.RunAsync("dotnet",
            [HarnessPath(), "transport", "--only", "latency", "--seconds", "1", "--rounds", "1", "--warmup", "0.2", "--delay-ms", "1"],
            HangGuard)).EnsureSuccess();
        Assert.Contains("through a delay proxy: 1 ms each way", result.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("| connect to first byte (lower is better) |", result.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("| (info) CPU per connect-to-first-byte cycle, close included (lower is better) |", result.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FixedWorkModeMovesItsBytesAndExits()
    {
        var result = (await ExternalProcess.RunAsync("dotnet", [HarnessPath(), "fixed", "pinhole64", "4"], HangGuard)).EnsureSuccess();
        Assert.Contains("pinhole64: 4 MiB", result.StandardOutput, StringComparison.Ordinal);
        var bare = (await ExternalProcess.RunAsync("dotnet", [HarnessPath(), "fixed", "bare1", "4"], HangGuard)).EnsureSuccess();
        Assert.Contains("bare1: 4 MiB", bare.StandardOutput, StringComparison.Ordinal);
        var requests = (await ExternalProcess.RunAsync("dotnet", [HarnessPath(), "fixed", "requests", "1"], HangGuard)).EnsureSuccess();
        Assert.Contains("requests: 1 thousand", requests.StandardOutput, StringComparison.Ordinal);
    }
}
