using System.Diagnostics;
using System.Globalization;
using Pinhole.Messaging.MessagePack;

namespace Pinhole.Benchmarks.Messaging;

/// <summary>
/// <c>messaging [--rounds N] [--scale F]</c>: one channel over a real Pinhole connection (TCP loopback, TLS 1.3,
/// yamux; both ends in this process), messages per second and process CPU per message, for the codecs users pick
/// between; and the codecs alone (encode + decode, no transport). Rounds alternate the order of the scenarios;
/// medians are printed (docs/performance.md, "Messaging"). <c>--codec-only NAME --ops N</c> runs one codec scenario
/// N times and nothing else, for counting instructions under valgrind on a machine too busy for timings.
/// </summary>
internal static partial class MessagingHarness
{
    public const string Command = "messaging";

    /// <summary>An order as a 3-field positional record (about 40 bytes encoded).</summary>
    internal sealed record OrderRecord(string Symbol, int Quantity, long PriceMicros);

    internal static readonly IMessageCodec<OrderRecord> OrderRecordCodec = MessageCodec.Record(
        (OrderRecord o) => o.Symbol, o => o.Quantity, o => o.PriceMicros, (s, q, p) => new OrderRecord(s, q, p));

    private sealed record Scenario(string Name, int Messages, Func<MessagingPeers, int, Task> Run);

    private sealed record CodecScenario(string Name, Func<int, long> Run);

    // The variants only one build has (MessagingHarness.Shaped.cs): a partial method keeps this file buildable alone.
    static partial void AddScenarios(List<Scenario> channels, List<CodecScenario> codecs);

    public static int Run(string[] args)
    {
        var rounds = 5;
        var scale = 1.0;
        string? codecOnly = null;
        var ops = 0;
        for (var i = 0; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : null;
            switch (args[i])
            {
                case "--rounds": rounds = int.Parse(value!, CultureInfo.InvariantCulture); i++; break;
                case "--scale": scale = double.Parse(value!, CultureInfo.InvariantCulture); i++; break;
                // For instruction counts (valgrind --tool=callgrind): one codec scenario, a fixed number of operations.
                case "--codec-only": codecOnly = value; i++; break;
                case "--ops": ops = int.Parse(value!, CultureInfo.InvariantCulture); i++; break;
                default:
                    Console.Error.WriteLine($"Unknown option '{args[i]}'. Usage: messaging [--rounds N] [--scale F] [--codec-only NAME-PART --ops N]");
                    return 2;
            }
        }
        var small = new byte[64];
        var bulk = new byte[64 * 1024];
        new Random(1).NextBytes(small);
        new Random(2).NextBytes(bulk);
        var order = new OrderRecord("PNHL", 100, 123_456_789);
        var channels = new List<Scenario>
        {
            new("64 B messages (MessageCodec.Memory)", (int)(200_000 * scale), (peers, n) => SendAsync(peers, MessageCodec.Memory, (ReadOnlyMemory<byte>)small, n)),
            new("64 KiB messages (MessageCodec.Memory)", (int)(2048 * scale), (peers, n) => SendAsync(peers, MessageCodec.Memory, (ReadOnlyMemory<byte>)bulk, n)),
            new("3-field record (MessageCodec.Record)", (int)(200_000 * scale), (peers, n) => SendAsync(peers, OrderRecordCodec, order, n)),
        };
        var codecs = new List<CodecScenario>
        {
            new("3-field record (MessageCodec.Record), encode + decode", n => EncodeDecode(OrderRecordCodec, order, n)),
        };
        AddScenarios(channels, codecs);
        if (codecOnly is not null)
        {
            var scenario = codecs.Single(c => c.Name.Contains(codecOnly, StringComparison.Ordinal));
            Console.WriteLine($"{scenario.Name}: {ops} operations, {scenario.Run(ops)} bytes");
            return 0;
        }

        Console.WriteLine($"pinhole messaging benchmark: {Environment.ProcessorCount} cores, {rounds} rounds, scale {scale}");
        var rate = new Dictionary<string, List<double>>();
        var cpu = new Dictionary<string, List<double>>();
        var allocated = new Dictionary<string, List<double>>();
        var peers = MessagingPeers.CreateAsync().GetAwaiter().GetResult();
        try
        {
            // Round 0 warms up (tiered JIT) and is discarded.
            for (var round = 0; round <= rounds; round++)
            {
                var order1 = round % 2 == 0 ? channels : [.. Enumerable.Reverse(channels)];
                foreach (var scenario in order1)
                {
                    var count = round == 0 ? Math.Max(1, scenario.Messages / 10) : scenario.Messages;
                    var (elapsed, cpuTime) = Measure(() => scenario.Run(peers, count).GetAwaiter().GetResult());
                    if (round > 0)
                    {
                        Add(rate, scenario.Name, count / elapsed.TotalSeconds);
                        Add(cpu, scenario.Name, cpuTime.TotalMicroseconds / count);
                    }
                }
                var order2 = round % 2 == 0 ? codecs : [.. Enumerable.Reverse(codecs)];
                foreach (var scenario in order2)
                {
                    var count = round == 0 ? 100_000 : (int)(1_000_000 * scale);
                    long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
                    var (elapsed, cpuTime) = Measure(() => scenario.Run(count));
                    long allocatedBytes = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
                    if (round > 0)
                    {
                        Add(rate, scenario.Name, count / elapsed.TotalSeconds);
                        Add(cpu, scenario.Name, cpuTime.TotalNanoseconds / count);
                        Add(allocated, scenario.Name, (double)allocatedBytes / count);
                    }
                }
            }
        }
        finally
        {
            peers.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
        Console.WriteLine();
        Console.WriteLine("| scenario | messages/s (median) | CPU per message (median, both ends) | allocated per message |");
        Console.WriteLine("|---|---|---|---|");
        foreach (var scenario in channels)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| channel: {scenario.Name} | {Median(rate[scenario.Name]):N0} | {Median(cpu[scenario.Name]):F2} µs | |"));
        }
        foreach (var scenario in codecs)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| codec only: {scenario.Name} | {Median(rate[scenario.Name]):N0} | {Median(cpu[scenario.Name]):F0} ns | {Median(allocated[scenario.Name]):F0} B |"));
        }
        return 0;
    }

    private static async Task SendAsync<T>(MessagingPeers peers, IMessageCodec<T> codec, T message, int count)
    {
        var sender = await peers.ClientSession.OpenSenderAsync(codec);
        var receiver = await peers.ServerSession.AcceptReceiverAsync(codec);
        var reading = Task.Run(async () =>
        {
            var n = 0;
            while (n < count && await receiver.WaitToReadAsync())
            {
                while (receiver.TryRead(out _))
                {
                    n++;
                }
            }
            return n;
        });
        for (var i = 0; i < count; i++)
        {
            if (!sender.TryWrite(message))
            {
                await sender.WriteAsync(message);
            }
        }
        await sender.DisposeAsync();
        if (await reading != count)
        {
            throw new InvalidOperationException("Messages were lost.");
        }
        await receiver.DisposeAsync();
    }

    internal static long EncodeDecode<T>(IMessageCodec<T> codec, T value, int count)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
        long bytes = 0;
        for (var i = 0; i < count; i++)
        {
            buffer.ResetWrittenCount();
            var writer = new MessagePackWriter(buffer);
            codec.Write(ref writer, value);
            var reader = new MessagePackReader(buffer.WrittenMemory);
            _ = codec.Read(ref reader);
            bytes += buffer.WrittenCount;
        }
        return bytes;
    }

    private static (TimeSpan Elapsed, TimeSpan Cpu) Measure(Action action)
    {
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        var stopwatch = Stopwatch.StartNew();
        action();
        stopwatch.Stop();
        return (stopwatch.Elapsed, Process.GetCurrentProcess().TotalProcessorTime - cpu0);
    }

    private static void Add(Dictionary<string, List<double>> values, string name, double value)
    {
        if (!values.TryGetValue(name, out var list))
        {
            values[name] = list = [];
        }
        list.Add(value);
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }
}
