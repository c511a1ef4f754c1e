using Pinhole.Transport.Yamux;

namespace Pinhole.Core.Tests.Yamux;

public class YamuxLimitsTests
{
    private static readonly TimeSpan Timeout = YamuxTestPair.Timeout;

    [Fact]
    public async Task MaxStreams_LocalOpenThrowsLimitExceeded()
    {
        await using var pair = YamuxTestPair.Start(clientOptions: new YamuxSessionOptions { MaxStreams = 2 });
        await pair.OpenAsync(pair.Client);
        await pair.OpenAsync(pair.Client);
        var ex = await Assert.ThrowsAsync<PeerException>(async () => await pair.Client.OpenStreamAsync(CancellationToken.None));
        Assert.Equal(PeerError.LimitExceeded, ex.Error);
    }

    [Fact]
    public async Task MaxStreams_CountsInboundToo_AndResetsExtraSyns()
    {
        await using var pair = YamuxTestPair.Start(serverOptions: new YamuxSessionOptions { MaxStreams = 3 });
        await pair.OpenAsync(pair.Server); // one outbound stream on the server counts as well
        await pair.OpenAsync(pair.Client);
        await pair.OpenAsync(pair.Client);
        Assert.Equal(3, pair.Server.OpenStreamCount);

        var refused = await pair.Client.OpenStreamAsync(CancellationToken.None).AsTask().WaitAsync(Timeout);
        var ex = await Assert.ThrowsAsync<PeerException>(() => refused.ReadAsync(new byte[1]).AsTask().WaitAsync(Timeout));
        Assert.Equal(PeerError.StreamAborted, ex.Error);
        Assert.Equal(3, pair.Server.OpenStreamCount);
    }

    [Fact]
    public async Task MaxPendingInbound_ResetsStreamsNobodyAccepts()
    {
        await using var pair = YamuxTestPair.Start(serverOptions: new YamuxSessionOptions { MaxPendingInboundStreams = 2 });
        var first = await pair.Client.OpenStreamAsync(CancellationToken.None);
        var second = await pair.Client.OpenStreamAsync(CancellationToken.None);
        var third = await pair.Client.OpenStreamAsync(CancellationToken.None);

        var ex = await Assert.ThrowsAsync<PeerException>(() => third.ReadAsync(new byte[1]).AsTask().WaitAsync(Timeout));
        Assert.Equal(PeerError.StreamAborted, ex.Error);

        var accepted1 = await pair.Server.AcceptStreamAsync(CancellationToken.None).AsTask().WaitAsync(Timeout);
        var accepted2 = await pair.Server.AcceptStreamAsync(CancellationToken.None).AsTask().WaitAsync(Timeout);
        Assert.Equal(first.Id, accepted1.Id);
        Assert.Equal(second.Id, accepted2.Id);

        // With the queue drained, new streams are accepted again.
        var (fourth, accepted4) = await pair.OpenAsync(pair.Client);
        Assert.Equal(fourth.Id, accepted4.Id);
    }

    [Fact]
    public async Task AckBacklog_OpenWaitsUntilThePeerAccepts()
    {
        await using var pair = YamuxTestPair.Start(clientOptions: new YamuxSessionOptions { MaxUnacknowledgedOutboundStreams = 2 });
        await pair.Client.OpenStreamAsync(CancellationToken.None);
        await pair.Client.OpenStreamAsync(CancellationToken.None);
        var third = pair.Client.OpenStreamAsync(CancellationToken.None).AsTask();
        await Task.Delay(100);
        Assert.False(third.IsCompleted, "a third stream waits for an ACK");

        await pair.Server.AcceptStreamAsync(CancellationToken.None).AsTask().WaitAsync(Timeout);
        var stream = await third.WaitAsync(Timeout);
        Assert.Equal(5, stream.Id);
    }

    [Fact]
    public async Task AckBacklog_WaitHonoursCancellation()
    {
        await using var pair = YamuxTestPair.Start(clientOptions: new YamuxSessionOptions { MaxUnacknowledgedOutboundStreams = 1 });
        await pair.Client.OpenStreamAsync(CancellationToken.None);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await pair.Client.OpenStreamAsync(cts.Token));
    }
}
