using System.Text.Json;
using Pinhole.Testing;

namespace Pinhole.Vpn.Tests;

/// <summary>Runs iperf3 between two namespaces and reads its JSON report.</summary>
internal static class Iperf
{
    internal sealed record Result(long Bytes, long SentBytes, double BitsPerSecond, long Retransmits, double LostPercent, string Json);

    /// <summary>
    /// One transfer of <paramref name="bytes"/> from <paramref name="client"/> to <paramref name="server"/> at
    /// <paramref name="address"/>; UDP at <paramref name="udpRate"/> (bits/s) when set.
    /// </summary>
    internal static async Task<Result> RunAsync(NetworkNamespace server, NetworkNamespace client, string address, long bytes, long? udpRate = null, int streams = 1, TimeSpan? timeout = null, int length = 0)
    {
        await using var listener = server.Start("iperf3", ["-s", "-1", "-p", "5201", "--forceflush"]);
        await listener.WaitForLineAsync(l => l.Contains("Server listening", StringComparison.Ordinal), TimeSpan.FromSeconds(20));
        var arguments = new List<string> { "-c", address, "-p", "5201", "-n", bytes.ToString(), "-J", "--connect-timeout", "10000", "-P", streams.ToString() };
        if (udpRate is { } rate)
        {
            arguments.AddRange(["-u", "-b", rate.ToString()]);
        }
        if (length > 0)
        {
            arguments.AddRange(["-l", length.ToString()]);
        }
        var run = await client.TryExecAsync(timeout ?? TimeSpan.FromSeconds(120), ["iperf3", .. arguments]);
        if (run.ExitCode != 0)
        {
            throw new InvalidOperationException($"iperf3 failed ({run.ExitCode}): {run.StandardOutput}{run.StandardError}");
        }
        using var json = JsonDocument.Parse(run.StandardOutput);
        JsonElement end = json.RootElement.GetProperty("end");
        if (udpRate is not null)
        {
            JsonElement sum = end.GetProperty("sum");
            return new Result(sum.GetProperty("bytes").GetInt64(), sum.GetProperty("bytes").GetInt64(), sum.GetProperty("bits_per_second").GetDouble(), 0, sum.GetProperty("lost_percent").GetDouble(), run.StandardOutput);
        }
        JsonElement received = end.GetProperty("sum_received");
        long retransmits = end.GetProperty("sum_sent").TryGetProperty("retransmits", out JsonElement r) ? r.GetInt64() : 0;
        return new Result(received.GetProperty("bytes").GetInt64(), end.GetProperty("sum_sent").GetProperty("bytes").GetInt64(), received.GetProperty("bits_per_second").GetDouble(), retransmits, 0, run.StandardOutput);
    }
}
