namespace Pinhole.Core.Tests.Yamux;

/// <summary>Many streams at once in both directions, with resets mixed in: nothing may hang or leak.</summary>
public class YamuxStressTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task BothSidesOpenManyShortStreams()
    {
        await using var pair = YamuxTestPair.Start();
        var serveClient = ServeAsync(pair.Client);
        var serveServer = ServeAsync(pair.Server);

        var fromClient = Enumerable.Range(0, 200).Select(i => RequestAsync(pair.Client, i));
        var fromServer = Enumerable.Range(0, 200).Select(i => RequestAsync(pair.Server, 1000 + i));
        await Task.WhenAll(fromClient.Concat(fromServer)).WaitAsync(Timeout);

        await Eventually.TrueAsync(() => pair.Client.OpenStreamCount == 0 && pair.Server.OpenStreamCount == 0, "every stream closed");
        Assert.False(serveClient.IsFaulted || serveServer.IsFaulted);
    }

    [Fact]
    public async Task ResetsMidTransfer_NeverHang()
    {
        await using var pair = YamuxTestPair.Start();
        var random = new Random(7);
        var tasks = new List<Task>();
        for (var i = 0; i < 60; i++)
        {
            var (opened, accepted) = await pair.OpenAsync(pair.Client);
            var abortOpener = random.Next(2) == 0;
            var delayMs = random.Next(0, 20);
            tasks.Add(Task.Run(async () =>
            {
                var writing = Task.Run(async () =>
                {
                    var chunk = new byte[32 * 1024];
                    while (true)
                    {
                        await opened.WriteAsync(chunk);
                    }
                });
                var reading = Task.Run(async () =>
                {
                    var buffer = new byte[16 * 1024];
                    while (await accepted.ReadAsync(buffer) > 0)
                    {
                    }
                });
                await Task.Delay(delayMs);
                (abortOpener ? opened : accepted).Abort();
                var writeError = await Assert.ThrowsAsync<PeerException>(() => writing.WaitAsync(Timeout));
                Assert.Equal(PeerError.StreamAborted, writeError.Error);
                var readError = await Assert.ThrowsAsync<PeerException>(() => reading.WaitAsync(Timeout));
                Assert.Equal(PeerError.StreamAborted, readError.Error);
            }));
        }
        await Task.WhenAll(tasks).WaitAsync(Timeout);
        await Eventually.TrueAsync(() => pair.Client.OpenStreamCount == 0 && pair.Server.OpenStreamCount == 0, "every stream forgotten");

        // The session still works.
        var (again, againAccepted) = await pair.OpenAsync(pair.Client);
        await again.WriteAsync(new byte[] { 42 });
        again.CompleteWrites();
        Assert.Equal([42], await YamuxTestData.ReadToEndAsync(againAccepted).WaitAsync(Timeout));
    }

    private static async Task RequestAsync(Pinhole.Transport.Yamux.YamuxSession session, int seed)
    {
        var request = YamuxTestData.Pattern(1 + seed % 5000, seed);
        await using var stream = await session.OpenStreamAsync(CancellationToken.None);
        await stream.WriteAsync(request);
        stream.CompleteWrites();
        Assert.Equal(request, await YamuxTestData.ReadToEndAsync(stream));
    }

    private static async Task ServeAsync(Pinhole.Transport.Yamux.YamuxSession session)
    {
        try
        {
            while (true)
            {
                var stream = await session.AcceptStreamAsync(CancellationToken.None);
                _ = Task.Run(async () =>
                {
                    await using (stream)
                    {
                        await stream.CopyToAsync(stream);
                        stream.CompleteWrites();
                    }
                });
            }
        }
        catch (PeerException)
        {
            // the session closed at the end of the test
        }
    }
}
