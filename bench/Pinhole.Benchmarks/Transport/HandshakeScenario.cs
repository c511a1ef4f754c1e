using System.Diagnostics;

namespace Pinhole.Benchmarks.Transport;

/// <summary>
/// Connection set-up, one at a time (never two handshakes in flight):
/// <list type="bullet">
/// <item>handshakes: from the start of the dial until the connection is established on both sides
/// (the listener handed it out); handshakes per second = count / time spent in those spans. Both ends are then
/// closed, outside the timed span; the full cycle rate (with the close) is reported as well;</item>
/// <item>first byte: from the start of the dial until the client reads the server's first byte of a
/// one-byte request/response (Pinhole: on a fresh stream, so the stream's protocol negotiation is counted).</item>
/// </list>
/// </summary>
internal static class HandshakeScenario
{
    private const string EchoProtocol = "/pinhole-bench/echo/1.0.0";

    /// <summary>One-way delay added to the first-byte runs by a <see cref="DelayProxy"/> (zero: plain loopback).</summary>
    public static TimeSpan OneWayDelay { get; set; }

    /// <summary>(handshakes per second, full connect-and-close cycles per second).</summary>
    public static async Task<(double Handshakes, double Cycles)> BareHandshakesAsync(BenchIdentities identities, TimeSpan duration, bool pinholeTls = false)
    {
        var loop = await RunBareAsync(identities, duration, pinholeTls, firstByte: false);
        return (loop.Count / loop.MeasuredSeconds, loop.Count / loop.TotalSeconds);
    }

    /// <summary>Median microseconds from dial to the first byte of the answer.</summary>
    public static async Task<double> BareFirstByteAsync(BenchIdentities identities, TimeSpan duration) =>
        Harness.Median((await RunBareAsync(identities, duration, pinholeTls: false, firstByte: true)).Spans);

    /// <summary>(handshakes per second, full connect-and-close cycles per second).</summary>
    public static async Task<(double Handshakes, double Cycles)> PinholeHandshakesAsync(BenchIdentities identities, TimeSpan duration)
    {
        var loop = await RunPinholeAsync(identities, duration, firstByte: false);
        return (loop.Count / loop.MeasuredSeconds, loop.Count / loop.TotalSeconds);
    }

    /// <summary>Median microseconds from dial to the first byte of the answer.</summary>
    public static async Task<double> PinholeFirstByteAsync(BenchIdentities identities, TimeSpan duration) =>
        Harness.Median((await RunPinholeAsync(identities, duration, firstByte: true)).Spans);

    private static async Task<LoopResult> RunBareAsync(BenchIdentities identities, TimeSpan duration, bool pinholeTls, bool firstByte)
    {
        await using var bare = new BareTls(identities, pinholeTls);
        await using var proxy = firstByte && OneWayDelay > TimeSpan.Zero ? new DelayProxy(bare.EndPoint, OneWayDelay) : null;
        return await LoopAsync(duration, async () =>
        {
            var clock = Stopwatch.StartNew();
            var client = await bare.ConnectAsync(Harness.Bounded(), proxy?.EndPoint);
            await using (client)
            {
                var server = await bare.AcceptAsync(Harness.Bounded());
                await using (server)
                {
                    if (!firstByte)
                    {
                        return clock.Elapsed.TotalMicroseconds;
                    }
                    var echo = EchoOneByteAsync(server);
                    var latency = await RequestOneByteAsync(client, clock);
                    await echo;
                    return latency;
                }
            }
        });
    }

    private static async Task<LoopResult> RunPinholeAsync(BenchIdentities identities, TimeSpan duration, bool firstByte)
    {
        await using var nodes = await PinholeNodes.StartAsync(identities);
        await using var proxy = firstByte && OneWayDelay > TimeSpan.Zero ? new DelayProxy(nodes.EndPoint, OneWayDelay) : null;
        return await LoopAsync(duration, async () =>
        {
            var clock = Stopwatch.StartNew();
            var client = await nodes.ConnectAsync(Harness.Bounded(), proxy?.EndPoint);
            await using (client)
            {
                var server = await nodes.AcceptAsync(Harness.Bounded());
                await using (server)
                {
                    if (!firstByte)
                    {
                        return clock.Elapsed.TotalMicroseconds;
                    }
                    var echo = Task.Run(async () =>
                    {
                        await using var inbound = await server.AcceptStreamAsync(Harness.Bounded());
                        await EchoOneByteAsync(inbound);
                    });
                    // Optimistic open: the one-byte request follows the protocol proposal (no round trip for the echo).
                    await using var outbound = await client.OpenStreamAsync(EchoProtocol, optimistic: true, Harness.Bounded());
                    var latency = await RequestOneByteAsync(outbound, clock);
                    await echo;
                    return latency;
                }
            }
        });
    }

    private static async Task<double> RequestOneByteAsync(Stream stream, Stopwatch clock)
    {
        var one = new byte[1];
        await stream.WriteAsync(one, Harness.Bounded());
        await stream.FlushAsync(Harness.Bounded());
        if (await stream.ReadAsync(one, Harness.Bounded()) != 1)
        {
            throw new IOException("The echo side closed before answering.");
        }
        return clock.Elapsed.TotalMicroseconds;
    }

    private static async Task EchoOneByteAsync(Stream stream)
    {
        var one = new byte[1];
        if (await stream.ReadAsync(one, Harness.Bounded()) != 1)
        {
            throw new IOException("The client closed before sending its byte.");
        }
        await stream.WriteAsync(one, Harness.Bounded());
        await stream.FlushAsync(Harness.Bounded());
    }

    /// <summary>Median time of one <see cref="Libp2pCertificate.VerifyKey"/> call, in µs (each handshake makes two: one
    /// per side). Each call is timed alone and the median taken, so preemption by other load is filtered out.</summary>
    public static double VerifyCostMicroseconds(BenchIdentities identities)
    {
        using var certificate = Libp2pCertificate.Create(identities.Client);
        var samples = new List<double>();
        for (var i = 0; i < 500; i++)
        {
            var clock = Stopwatch.StartNew();
            Libp2pCertificate.VerifyKey(certificate);
            samples.Add(clock.Elapsed.TotalMicroseconds);
        }
        return Harness.Median(samples);
    }

    /// <summary>Process CPU time per connect-and-close cycle in the last loop, in µs.</summary>
    public static double LastCpuMicrosecondsPerCycle { get; private set; }

    private sealed record LoopResult(List<double> Spans, double TotalSeconds)
    {
        public int Count => Spans.Count;

        public double MeasuredSeconds => Spans.Sum() / 1e6;
    }

    /// <summary>Repeats <paramref name="once"/> (which returns its timed span in µs) for a warm-up, then for <paramref name="duration"/>.</summary>
    private static async Task<LoopResult> LoopAsync(TimeSpan duration, Func<Task<double>> once)
    {
        var warm = Stopwatch.StartNew();
        while (warm.Elapsed < Harness.WarmUp)
        {
            await once();
        }
        var spans = new List<double>();
        var cpu = Harness.CpuTime();
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < duration)
        {
            spans.Add(await once());
        }
        LastCpuMicrosecondsPerCycle = (Harness.CpuTime() - cpu).TotalMicroseconds / spans.Count;
        return new LoopResult(spans, clock.Elapsed.TotalSeconds);
    }
}
