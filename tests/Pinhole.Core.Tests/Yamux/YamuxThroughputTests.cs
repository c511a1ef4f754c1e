using System.Diagnostics;
using Xunit.Abstractions;

namespace Pinhole.Core.Tests.Yamux;

/// <summary>Throughput sanity checks: data must arrive intact; speed is printed, never asserted.</summary>
public class YamuxThroughputTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task OneStream_256MiB()
    {
        const long total = 256L * 1024 * 1024;
        await using var pair = YamuxTestPair.Start();
        var (opened, accepted) = await pair.OpenAsync(pair.Client);
        var chunk = YamuxTestData.Pattern(1024 * 1024, seed: 9);
        var stopwatch = Stopwatch.StartNew();

        var writing = Task.Run(async () =>
        {
            for (long sent = 0; sent < total; sent += chunk.Length)
            {
                await opened.WriteAsync(chunk);
            }
            opened.CompleteWrites();
        });
        var buffer = new byte[256 * 1024];
        long received = 0;
        var position = 0;
        int read;
        while ((read = await accepted.ReadAsync(buffer).AsTask().WaitAsync(Timeout)) > 0)
        {
            // Verify content against the repeating pattern.
            for (var i = 0; i < read; i += 4099)
            {
                Assert.Equal(chunk[(position + i) % chunk.Length], buffer[i]);
            }
            position = (int)((position + read) % chunk.Length);
            received += read;
        }
        await writing.WaitAsync(Timeout);
        stopwatch.Stop();

        Assert.Equal(total, received);
        output.WriteLine($"1 stream: {total / (1024 * 1024)} MiB in {stopwatch.Elapsed.TotalMilliseconds:F0} ms = {total / stopwatch.Elapsed.TotalSeconds / (1024 * 1024):F0} MiB/s; " +
            $"final receive window {accepted.ReceiveWindow / 1024} KiB, RTT {pair.Server.LastRtt?.TotalMicroseconds:F0} us");
    }

    [Fact]
    public async Task SixtyFourStreams_4MiBEach()
    {
        const int streams = 64;
        const int perStream = 4 * 1024 * 1024;
        await using var pair = YamuxTestPair.Start();
        var chunk = YamuxTestData.Pattern(64 * 1024, seed: 10);
        var stopwatch = Stopwatch.StartNew();

        var receivers = Task.Run(async () =>
        {
            var tasks = new List<Task<long>>();
            for (var i = 0; i < streams; i++)
            {
                var stream = await pair.Server.AcceptStreamAsync(CancellationToken.None);
                tasks.Add(Task.Run(async () =>
                {
                    var buffer = new byte[64 * 1024];
                    long count = 0;
                    int read;
                    while ((read = await stream.ReadAsync(buffer)) > 0)
                    {
                        count += read;
                    }
                    await stream.DisposeAsync();
                    return count;
                }));
            }
            return await Task.WhenAll(tasks);
        });
        var senders = Enumerable.Range(0, streams).Select(_ => Task.Run(async () =>
        {
            await using var stream = await pair.Client.OpenStreamAsync(CancellationToken.None);
            for (var sent = 0; sent < perStream; sent += chunk.Length)
            {
                await stream.WriteAsync(chunk);
            }
            stream.CompleteWrites();
        })).ToArray();

        await Task.WhenAll(senders).WaitAsync(Timeout);
        var counts = await receivers.WaitAsync(Timeout);
        stopwatch.Stop();

        Assert.All(counts, c => Assert.Equal(perStream, c));
        var total = (long)streams * perStream;
        output.WriteLine($"{streams} streams: {total / (1024 * 1024)} MiB in {stopwatch.Elapsed.TotalMilliseconds:F0} ms = {total / stopwatch.Elapsed.TotalSeconds / (1024 * 1024):F0} MiB/s");
    }
}
