namespace Pinhole.Core.Tests.Yamux;

/// <summary>The receive path: data delivered into a pending read, the rest buffered, cancellation.</summary>
public class YamuxReceivePathTests
{
    private static readonly TimeSpan Timeout = YamuxTestPair.Timeout;

    [Fact]
    public async Task PendingSmallRead_GetsFirstBytes_RestIsBufferedInOrder()
    {
        await using var pair = YamuxTestPair.Start();
        var (opened, accepted) = await pair.OpenAsync(pair.Client);
        var small = new byte[7];
        var pending = accepted.ReadAsync(small).AsTask();
        var data = YamuxTestData.Pattern(100_000, 3);
        await opened.WriteAsync(data).AsTask().WaitAsync(Timeout);
        opened.CompleteWrites();

        var first = await pending.WaitAsync(Timeout);
        Assert.InRange(first, 1, 7);
        var rest = await YamuxTestData.ReadToEndAsync(accepted).WaitAsync(Timeout);
        Assert.Equal(data, small.AsSpan(0, first).ToArray().Concat(rest).ToArray());
        Assert.Equal(0, accepted.ReceiveBuffered);
    }

    [Fact]
    public async Task CancelledPendingRead_Throws_AndLaterReadsGetAllData()
    {
        await using var pair = YamuxTestPair.Start();
        var (opened, accepted) = await pair.OpenAsync(pair.Client);
        using var cts = new CancellationTokenSource();
        var pending = accepted.ReadAsync(new byte[16], cts.Token).AsTask();
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending.WaitAsync(Timeout));

        var data = YamuxTestData.Pattern(300_000, 9); // more than the initial window: the writer waits for reads
        var writing = Task.Run(async () =>
        {
            await opened.WriteAsync(data);
            opened.CompleteWrites();
        });
        Assert.Equal(data, await YamuxTestData.ReadToEndAsync(accepted).WaitAsync(Timeout));
        await writing.WaitAsync(Timeout);
    }

    [Fact]
    public async Task PendingRead_CompletesWithZero_OnFin()
    {
        await using var pair = YamuxTestPair.Start();
        var (opened, accepted) = await pair.OpenAsync(pair.Client);
        var pending = accepted.ReadAsync(new byte[16]).AsTask();
        opened.CompleteWrites();
        Assert.Equal(0, await pending.WaitAsync(Timeout));
        Assert.Equal(0, await accepted.ReadAsync(new byte[16]).AsTask().WaitAsync(Timeout));
    }

    [Fact]
    public async Task PendingRead_FailsWithObjectDisposed_WhenDisposed()
    {
        await using var pair = YamuxTestPair.Start();
        var (_, accepted) = await pair.OpenAsync(pair.Client);
        var pending = accepted.ReadAsync(new byte[16]).AsTask();
        await accepted.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => pending.WaitAsync(Timeout));
    }

    [Fact]
    public async Task ManyWindowsThroughPendingReads_KeepsOrderAndCredit()
    {
        await using var pair = YamuxTestPair.Start();
        var (opened, accepted) = await pair.OpenAsync(pair.Client);
        var data = YamuxTestData.Pattern(8_000_000, 11);
        var writing = Task.Run(async () =>
        {
            await opened.WriteAsync(data);
            opened.CompleteWrites();
        });
        Assert.Equal(data, await YamuxTestData.ReadToEndAsync(accepted).WaitAsync(Timeout));
        await writing.WaitAsync(Timeout);
        Assert.Equal(0, accepted.ReceiveBuffered);
    }
}
