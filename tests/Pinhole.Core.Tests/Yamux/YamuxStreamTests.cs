using System.Text;

namespace Pinhole.Core.Tests.Yamux;

public class YamuxStreamTests
{
    private static readonly TimeSpan Timeout = YamuxTestPair.Timeout;

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task OpenAccept_Echo_BothDirections(bool clientOpens)
    {
        await using var pair = YamuxTestPair.Start();
        var opener = clientOpens ? pair.Client : pair.Server;
        var (opened, accepted) = await pair.OpenAsync(opener);
        Assert.Equal(clientOpens ? 1L : 2L, opened.Id);
        Assert.Equal(opened.Id, accepted.Id);

        await opened.WriteAsync(Encoding.UTF8.GetBytes("hello"));
        opened.CompleteWrites();
        var request = await YamuxTestData.ReadToEndAsync(accepted).WaitAsync(Timeout);
        Assert.Equal("hello", Encoding.UTF8.GetString(request));

        await accepted.WriteAsync(Encoding.UTF8.GetBytes("world"));
        accepted.CompleteWrites();
        var reply = await YamuxTestData.ReadToEndAsync(opened).WaitAsync(Timeout);
        Assert.Equal("world", Encoding.UTF8.GetString(reply));

        await opened.ReadsClosed.WaitAsync(Timeout);
        await opened.WritesClosed.WaitAsync(Timeout);
        await accepted.ReadsClosed.WaitAsync(Timeout);
        await Eventually.TrueAsync(() => pair.Client.OpenStreamCount == 0 && pair.Server.OpenStreamCount == 0, "both sides forget the closed stream");
    }

    [Fact]
    public async Task ManyConcurrentStreams_CarryTheirOwnContent()
    {
        await using var pair = YamuxTestPair.Start();
        const int streams = 100;
        var serverTask = Task.Run(async () =>
        {
            var echoes = new List<Task>();
            for (var i = 0; i < streams; i++)
            {
                var stream = await pair.Server.AcceptStreamAsync(CancellationToken.None);
                echoes.Add(Task.Run(async () =>
                {
                    await using (stream)
                    {
                        await stream.CopyToAsync(stream);
                        stream.CompleteWrites();
                    }
                }));
            }
            await Task.WhenAll(echoes);
        });

        var clients = Enumerable.Range(0, streams).Select(i => Task.Run(async () =>
        {
            var payload = YamuxTestData.Pattern(50_000 + i * 1_000, seed: i);
            await using var stream = await pair.Client.OpenStreamAsync(CancellationToken.None);
            var reading = YamuxTestData.ReadToEndAsync(stream);
            // Uneven chunks interleave frames of different streams on the wire.
            for (var offset = 0; offset < payload.Length; offset += 7_777)
            {
                await stream.WriteAsync(payload.AsMemory(offset, Math.Min(7_777, payload.Length - offset)));
            }
            stream.CompleteWrites();
            Assert.Equal(payload, await reading);
        })).ToArray();

        await Task.WhenAll(clients).WaitAsync(Timeout);
        await serverTask.WaitAsync(Timeout);
        await Eventually.TrueAsync(() => pair.Client.OpenStreamCount == 0 && pair.Server.OpenStreamCount == 0, "all streams forgotten");
    }

    [Fact]
    public async Task HalfClose_PeerReadsEndThenStillWrites()
    {
        await using var pair = YamuxTestPair.Start();
        var (opened, accepted) = await pair.OpenAsync(pair.Client);
        await opened.WriteAsync(new byte[] { 1, 2, 3 });
        opened.CompleteWrites();
        await opened.WritesClosed.WaitAsync(Timeout);
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await opened.WriteAsync(new byte[] { 4 }));

        Assert.Equal([1, 2, 3], await YamuxTestData.ReadToEndAsync(accepted).WaitAsync(Timeout));
        await accepted.ReadsClosed.WaitAsync(Timeout);
        Assert.Equal(0, await accepted.ReadAsync(new byte[10]).AsTask().WaitAsync(Timeout));

        // The other direction is still open.
        var big = YamuxTestData.Pattern(1_000_000, 5);
        var reading = YamuxTestData.ReadToEndAsync(opened);
        await accepted.WriteAsync(big).AsTask().WaitAsync(Timeout);
        accepted.CompleteWrites();
        Assert.Equal(big, await reading.WaitAsync(Timeout));
        await Eventually.TrueAsync(() => pair.Client.OpenStreamCount == 0 && pair.Server.OpenStreamCount == 0, "stream removed after both FINs");
    }

    [Fact]
    public async Task Abort_ResetsBothEnds()
    {
        await using var pair = YamuxTestPair.Start();
        var (opened, accepted) = await pair.OpenAsync(pair.Client);
        var pendingRemoteRead = accepted.ReadAsync(new byte[10]).AsTask();
        var pendingLocalRead = opened.ReadAsync(new byte[10]).AsTask();

        opened.Abort();

        var local = await Assert.ThrowsAsync<PeerException>(() => pendingLocalRead.WaitAsync(Timeout));
        Assert.Equal(PeerError.StreamAborted, local.Error);
        var remote = await Assert.ThrowsAsync<PeerException>(() => pendingRemoteRead.WaitAsync(Timeout));
        Assert.Equal(PeerError.StreamAborted, remote.Error);
        var write = await Assert.ThrowsAsync<PeerException>(async () => await accepted.WriteAsync(new byte[] { 1 }));
        Assert.Equal(PeerError.StreamAborted, write.Error);
        var localWrite = await Assert.ThrowsAsync<PeerException>(async () => await opened.WriteAsync(new byte[] { 1 }));
        Assert.Equal(PeerError.StreamAborted, localWrite.Error);
        await Assert.ThrowsAsync<PeerException>(() => accepted.ReadsClosed.WaitAsync(Timeout));
        await Assert.ThrowsAsync<PeerException>(() => accepted.WritesClosed.WaitAsync(Timeout));
        await Eventually.TrueAsync(() => pair.Client.OpenStreamCount == 0 && pair.Server.OpenStreamCount == 0, "reset stream forgotten");

        // The session is unaffected.
        var (again, againAccepted) = await pair.OpenAsync(pair.Client);
        await again.WriteAsync(new byte[] { 9 });
        var one = new byte[1];
        await againAccepted.ReadExactlyAsync(one).AsTask().WaitAsync(Timeout);
        Assert.Equal(9, one[0]);
    }

    [Fact]
    public async Task Abort_ByAcceptor_FailsBlockedWriter()
    {
        await using var pair = YamuxTestPair.Start();
        var (opened, accepted) = await pair.OpenAsync(pair.Client);
        // More than the window: the writer blocks until the reset arrives.
        var writing = opened.WriteAsync(new byte[2 * 1024 * 1024]).AsTask();
        await Eventually.TrueAsync(() => opened.SendWindow == 0, "sender exhausts the window");
        accepted.Abort();
        var ex = await Assert.ThrowsAsync<PeerException>(() => writing.WaitAsync(Timeout));
        Assert.Equal(PeerError.StreamAborted, ex.Error);
    }

    [Fact]
    public async Task Dispose_WithUnreadData_SendsFinAndCreditsWindow()
    {
        await using var pair = YamuxTestPair.Start();
        var (opened, accepted) = await pair.OpenAsync(pair.Client);
        var writing = opened.WriteAsync(new byte[1024 * 1024]).AsTask();
        await Eventually.TrueAsync(() => opened.SendWindow == 0, "sender exhausts the window");
        await accepted.DisposeAsync();
        // The acceptor no longer reads, but credits what it discards, so the writer finishes.
        await writing.WaitAsync(Timeout);
        Assert.Equal(0, await opened.ReadAsync(new byte[1]).AsTask().WaitAsync(Timeout));
        opened.CompleteWrites();
        await Eventually.TrueAsync(() => pair.Client.OpenStreamCount == 0 && pair.Server.OpenStreamCount == 0, "closed stream forgotten");
    }

    [Fact]
    public async Task SetProtocol_IsVisible()
    {
        await using var pair = YamuxTestPair.Start();
        var (opened, _) = await pair.OpenAsync(pair.Client);
        Assert.Equal("", opened.Protocol);
        opened.SetProtocol("/ipfs/ping/1.0.0");
        Assert.Equal("/ipfs/ping/1.0.0", opened.Protocol);
    }
}
