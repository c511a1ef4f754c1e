using System.Diagnostics;

namespace Pinhole.Benchmarks.Transport;

/// <summary>
/// Connection set-up, one at a time (never two handshakes in flight):
/// <list type="bullet">
/// <item>handshakes: dial, handshake, accepted on the other side, then both closed; connections per second;</item>
/// <item>first byte: from the start of the dial until the client reads the server's first byte of a
/// one-byte request/response (Pinhole: on a fresh stream, so the stream's protocol negotiation is counted).</item>
/// </list>
/// </summary>
internal static class HandshakeScenario
{
    private const string EchoProtocol = "/pinhole-bench/echo/1.0.0";

    public static Task<double> BareHandshakesAsync(BenchIdentities identities, TimeSpan duration, bool verifyLibp2p = false) =>
        RunBareAsync(identities, duration, verifyLibp2p, firstByte: false);

    public static Task<double> BareFirstByteAsync(BenchIdentities identities, TimeSpan duration) =>
        RunBareAsync(identities, duration, verifyLibp2p: false, firstByte: true);

    public static Task<double> PinholeHandshakesAsync(BenchIdentities identities, TimeSpan duration) =>
        RunPinholeAsync(identities, duration, firstByte: false);

    public static Task<double> PinholeFirstByteAsync(BenchIdentities identities, TimeSpan duration) =>
        RunPinholeAsync(identities, duration, firstByte: true);

    /// <returns>Handshakes per second, or the median first-byte latency in microseconds.</returns>
    private static async Task<double> RunBareAsync(BenchIdentities identities, TimeSpan duration, bool verifyLibp2p, bool firstByte)
    {
        await using var bare = new BareTls(identities, verifyLibp2p);
        return await LoopAsync(duration, firstByte, async () =>
        {
            var clock = Stopwatch.StartNew();
            var client = await bare.ConnectAsync(Harness.Bounded());
            await using (client)
            {
                var server = await bare.AcceptAsync(Harness.Bounded());
                await using (server)
                {
                    if (!firstByte)
                    {
                        return 0;
                    }
                    var echo = EchoOneByteAsync(server);
                    var latency = await RequestOneByteAsync(client, clock);
                    await echo;
                    return latency;
                }
            }
        });
    }

    private static async Task<double> RunPinholeAsync(BenchIdentities identities, TimeSpan duration, bool firstByte)
    {
        await using var nodes = await PinholeNodes.StartAsync(identities);
        return await LoopAsync(duration, firstByte, async () =>
        {
            var clock = Stopwatch.StartNew();
            var client = await nodes.ConnectAsync(Harness.Bounded());
            await using (client)
            {
                var server = await nodes.AcceptAsync(Harness.Bounded());
                await using (server)
                {
                    if (!firstByte)
                    {
                        return 0;
                    }
                    var echo = Task.Run(async () =>
                    {
                        await using var inbound = await server.AcceptStreamAsync(Harness.Bounded());
                        await EchoOneByteAsync(inbound);
                    });
                    await using var outbound = await client.OpenStreamAsync(EchoProtocol, Harness.Bounded());
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

    /// <summary>Repeats <paramref name="once"/> for a warm-up, then for <paramref name="duration"/>.</summary>
    private static async Task<double> LoopAsync(TimeSpan duration, bool firstByte, Func<Task<double>> once)
    {
        var warm = Stopwatch.StartNew();
        while (warm.Elapsed < Harness.WarmUp)
        {
            await once();
        }
        var latencies = new List<double>();
        var clock = Stopwatch.StartNew();
        var count = 0;
        while (clock.Elapsed < duration)
        {
            latencies.Add(await once());
            count++;
        }
        var seconds = clock.Elapsed.TotalSeconds;
        return firstByte ? Harness.Median(latencies) : count / seconds;
    }
}
