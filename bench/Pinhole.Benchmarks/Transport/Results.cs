using System.Globalization;

namespace Pinhole.Benchmarks.Transport;

/// <summary>Per-round values by name, and the summary table of medians and ratios.</summary>
internal sealed class Results
{
    private readonly Dictionary<string, List<double>> _values = [];

    public void Add(string name, double value)
    {
        if (!_values.TryGetValue(name, out var list))
        {
            _values[name] = list = [];
        }
        list.Add(value);
    }

    public static string Format(string name, double value) => name switch
    {
        _ when name.StartsWith("throughput", StringComparison.Ordinal) => string.Create(CultureInfo.InvariantCulture, $"{value / 1e9:F2} Gbit/s"),
        _ when name.StartsWith("handshakes", StringComparison.Ordinal) => string.Create(CultureInfo.InvariantCulture, $"{value:F0} /s"),
        _ when name.StartsWith("first byte", StringComparison.Ordinal) => string.Create(CultureInfo.InvariantCulture, $"{value:F0} µs"),
        _ when name.StartsWith("cpu/GiB", StringComparison.Ordinal) => string.Create(CultureInfo.InvariantCulture, $"{value:F2} CPU s/GiB"),
        _ when name.StartsWith("libp2p", StringComparison.Ordinal) => string.Create(CultureInfo.InvariantCulture, $"{value:F0} µs"),
        _ when name.StartsWith("cpu/cycle", StringComparison.Ordinal) => string.Create(CultureInfo.InvariantCulture, $"{value:F0} CPU µs"),
        _ when name.StartsWith("cpu/msg", StringComparison.Ordinal) || name.StartsWith("cpu/rt", StringComparison.Ordinal) => string.Create(CultureInfo.InvariantCulture, $"{value:F2} CPU µs"),
        _ when name.StartsWith("messages", StringComparison.Ordinal) => string.Create(CultureInfo.InvariantCulture, $"{value / 1e6:F2} M/s"),
        _ when name.StartsWith("round trip", StringComparison.Ordinal) => string.Create(CultureInfo.InvariantCulture, $"{value:F1} µs"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{value / 1024:F1} KiB/conn"),
    };

    private double? Median(string name) => _values.TryGetValue(name, out var list) ? Harness.Median(list) : null;

    /// <summary>Prints a Markdown table: metric, baseline median, Pinhole median, ratios, target (judged on the per-round ratio).</summary>
    public void PrintTable()
    {
        Console.WriteLine();
        Console.WriteLine("| metric | bare SslStream (median) | Pinhole (median) | ratio of medians | median of per-round ratios | target | met |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        Row("one stream throughput, 64 KiB writes", "throughput bare 1 conn", "throughput pinhole 1 stream", ">=", 0.95);
        Row("64 streams on one connection vs one bare connection", "throughput bare 1 conn", "throughput pinhole 64 streams", ">=", 0.90);
        Row("(info) 64 streams vs 64 bare connections", "throughput bare 64 conns", "throughput pinhole 64 streams", null, 0);
        Row("(info) one stream, window fixed at 16 MiB (no auto-tuning)", "throughput bare 1 conn", "throughput pinhole 1 stream 16 MiB window", null, 0);
        Row("CPU per GiB, one stream (lower is better)", "cpu/GiB bare 1 conn", "cpu/GiB pinhole 1 stream", "<=", 1.05);
        Row("(info) CPU per GiB, 64 streams vs one bare connection", "cpu/GiB bare 1 conn", "cpu/GiB pinhole 64 streams", null, 0);
        Row("mutual handshakes per second, one at a time", "handshakes bare", "handshakes pinhole", ">=", 0.90);
        Row("(info) handshakes vs bare with Pinhole's TLS settings (ALPN, libp2p check)", "handshakes bare, Pinhole's TLS settings", "handshakes pinhole", null, 0);
        Row("(info) connect-and-close cycles per second", "handshakes+close bare", "handshakes+close pinhole", null, 0);
        Row("(info) CPU per connect-and-close cycle (lower is better)", "cpu/cycle bare", "cpu/cycle pinhole", null, 0);
        Row("(info) CPU per cycle vs bare with Pinhole's TLS settings", "cpu/cycle bare, Pinhole's TLS settings", "cpu/cycle pinhole", null, 0);
        if (Median("libp2p certificate check") is { } verify)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| (info) one libp2p certificate check (Libp2pCertificate.VerifyKey, median call) | | {verify:F0} µs | | | | |"));
        }
        Row("connect to first byte (lower is better)", "first byte bare", "first byte pinhole", "<=", 1.05);
        Row("(info) CPU per connect-to-first-byte cycle, close included (lower is better)", "cpu/cycle first byte bare", "cpu/cycle first byte pinhole", null, 0);
        Row("64 KiB messages on one channel", "throughput msg bare 64 KiB writes", "throughput msg channel 64 KiB messages", ">=", 0.80);
        Row("(info) CPU per GiB, 64 KiB messages (lower is better)", "cpu/GiB msg bare 64 KiB writes", "cpu/GiB msg channel 64 KiB messages", null, 0);
        Row("(info) 64 KiB messages, each received into a new array (MessageCodec.Memory)", "throughput msg bare 64 KiB writes", "throughput msg channel 64 KiB messages, new array each", null, 0);
        Row("(info) CPU per GiB, 64 KiB messages into new arrays (lower is better)", "cpu/GiB msg bare 64 KiB writes", "cpu/GiB msg channel 64 KiB messages, new array each", null, 0);
        Row("64-byte messages on one channel vs pipe-batched bare", "messages bare 64 B, pipe-batched", "messages channel 64 B", ">=", 0.50);
        Row("(info) CPU per 64-byte message (lower is better)", "cpu/msg bare 64 B, pipe-batched", "cpu/msg channel 64 B", null, 0);
        Row("request/reply, new reply stream each time, vs bare ping-pong (lower is better)", "round trip bare 64 B ping-pong", "round trip RequestAsync, new reply stream", "<=", 2.0);
        Row("(info) CPU per round trip (lower is better)", "cpu/rt bare 64 B ping-pong", "cpu/rt RequestAsync, new reply stream", null, 0);
        Row("idle connection, managed heap (both ends)", "idle heap bare", "idle heap pinhole", "<=", 1.2);
        Row("idle connection, working set (both ends)", "idle working set bare", "idle working set pinhole", "<=", 1.2);
    }

    private void Row(string label, string bareName, string pinholeName, string? comparison, double target)
    {
        if (Median(bareName) is not { } bare || Median(pinholeName) is not { } pinhole)
        {
            return;
        }
        var ratio = pinhole / bare;
        // Each round measures both sides back to back, so the per-round ratio cancels drift in the machine's load.
        var bareRounds = _values[bareName];
        var pinholeRounds = _values[pinholeName];
        var paired = Harness.Median([.. Enumerable.Range(0, Math.Min(bareRounds.Count, pinholeRounds.Count)).Select(i => pinholeRounds[i] / bareRounds[i])]);
        var met = comparison switch
        {
            ">=" => paired >= target ? "yes" : "NO",
            "<=" => paired <= target ? "yes" : "NO",
            _ => "",
        };
        var targetText = comparison is null ? "" : string.Create(CultureInfo.InvariantCulture, $"{comparison} {target:F2}");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {label} | {Format(bareName, bare)} | {Format(pinholeName, pinhole)} | {ratio:F2} | {paired:F2} | {targetText} | {met} |"));
    }
}
