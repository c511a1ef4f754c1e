using Microsoft.Extensions.Time.Testing;
using Pinhole.Transport.Yamux;

namespace Pinhole.Core.Tests.Yamux;

public class YamuxFlowControlTests
{
    private const int SpecWindow = 256 * 1024;
    private static readonly TimeSpan Timeout = YamuxTestPair.Timeout;

    [Fact]
    public async Task SlowReader_BlocksSender_BoundsMemory_KeepsDataIntact()
    {
        await using var pair = YamuxTestPair.Start();
        var (opened, accepted) = await pair.OpenAsync(pair.Client);
        var payload = YamuxTestData.Pattern(8 * 1024 * 1024, seed: 1);

        var writing = opened.WriteAsync(payload).AsTask();
        await Eventually.TrueAsync(() => opened.SendWindow == 0, "sender exhausts the window");
        await Eventually.TrueAsync(() => accepted.ReceiveBuffered == SpecWindow, "receiver buffers one window");
        Assert.False(writing.IsCompleted);
        Assert.True(pair.Client.Writer.Buffered < 64 * 1024, "the sender queues nothing beyond the window");

        // Read slowly, in small pieces, and check the buffer never exceeds the window.
        var received = new byte[payload.Length];
        var offset = 0;
        while (offset < received.Length)
        {
            var read = await accepted.ReadAsync(received.AsMemory(offset, Math.Min(10_000, received.Length - offset))).AsTask().WaitAsync(Timeout);
            Assert.True(read > 0);
            offset += read;
            Assert.True(accepted.ReceiveBuffered <= accepted.ReceiveWindow, $"buffered {accepted.ReceiveBuffered} > window {accepted.ReceiveWindow}");
        }
        await writing.WaitAsync(Timeout);
        Assert.Equal(payload, received);
    }

    [Fact]
    public async Task LargerInitialWindow_IsAnnouncedWithTheAck()
    {
        var serverOptions = new YamuxSessionOptions { InitialStreamWindow = 1024 * 1024 };
        await using var pair = YamuxTestPair.Start(serverOptions: serverOptions);
        var (opened, accepted) = await pair.OpenAsync(pair.Client);
        // 1 MiB fits the announced window: the write completes with nobody reading.
        await opened.WriteAsync(new byte[1024 * 1024]).AsTask().WaitAsync(Timeout);
        await Eventually.TrueAsync(() => accepted.ReceiveBuffered == 1024 * 1024, "receiver buffers the whole megabyte");
        Assert.Equal(0, opened.SendWindow);
    }

    [Fact]
    public async Task FastReader_GrowsTheWindow()
    {
        // A clock that stands still: every window is consumed "within two round trips".
        var time = new FakeTimeProvider();
        var options = new YamuxSessionOptions { MaxStreamWindow = 4 * 1024 * 1024 };
        await using var pair = YamuxTestPair.Start(options, options, time);
        await Eventually.TrueAsync(() => pair.Server.LastRtt is not null && pair.Client.LastRtt is not null, "first RTT samples");
        var (opened, accepted) = await pair.OpenAsync(pair.Client);
        var payload = YamuxTestData.Pattern(16 * 1024 * 1024, seed: 2);

        var writing = opened.WriteAsync(payload).AsTask();
        var received = new byte[payload.Length];
        await accepted.ReadExactlyAsync(received).AsTask().WaitAsync(Timeout);
        await writing.WaitAsync(Timeout);

        Assert.Equal(payload, received);
        Assert.Equal(4 * 1024 * 1024, accepted.ReceiveWindow);
    }

    [Fact]
    public async Task WindowGrowth_StaysWithinTheSessionBudget()
    {
        var time = new FakeTimeProvider();
        var options = new YamuxSessionOptions { MaxStreamWindow = 4 * 1024 * 1024, MaxSessionReceiveWindow = 1024 * 1024 };
        await using var pair = YamuxTestPair.Start(options, options, time);
        await Eventually.TrueAsync(() => pair.Server.LastRtt is not null && pair.Client.LastRtt is not null, "first RTT samples");
        var (opened, accepted) = await pair.OpenAsync(pair.Client);
        var (_, idle) = await pair.OpenAsync(pair.Client); // holds 256 KiB of the budget

        var writing = opened.WriteAsync(new byte[8 * 1024 * 1024]).AsTask();
        await accepted.ReadExactlyAsync(new byte[8 * 1024 * 1024]).AsTask().WaitAsync(Timeout);
        await writing.WaitAsync(Timeout);

        // 256 KiB (idle) + 512 KiB fits in 1 MiB; doubling again to 1 MiB would not.
        Assert.Equal(512 * 1024, accepted.ReceiveWindow);
        Assert.Equal(SpecWindow, idle.ReceiveWindow);
    }

    [Fact]
    public async Task SlowReader_DoesNotGrowTheWindow()
    {
        var time = new FakeTimeProvider();
        await using var pair = YamuxTestPair.Start(time: time);
        await Eventually.TrueAsync(() => pair.Server.LastRtt is not null && pair.Client.LastRtt is not null, "first RTT samples");
        var (opened, accepted) = await pair.OpenAsync(pair.Client);
        var payload = YamuxTestData.Pattern(2 * 1024 * 1024, seed: 3);

        var writing = opened.WriteAsync(payload).AsTask();
        var received = new byte[payload.Length];
        for (var offset = 0; offset < received.Length; offset += 32 * 1024)
        {
            time.Advance(TimeSpan.FromMilliseconds(100)); // far longer than the (zero) RTT
            await accepted.ReadExactlyAsync(received.AsMemory(offset, 32 * 1024)).AsTask().WaitAsync(Timeout);
        }
        await writing.WaitAsync(Timeout);
        Assert.Equal(payload, received);
        Assert.Equal(SpecWindow, accepted.ReceiveWindow);
    }

    [Fact]
    public async Task ManyStreams_OneStalled_OthersProceed()
    {
        await using var pair = YamuxTestPair.Start();
        var (stalled, stalledAccepted) = await pair.OpenAsync(pair.Client);
        var stalledWrite = stalled.WriteAsync(new byte[4 * 1024 * 1024]).AsTask();
        await Eventually.TrueAsync(() => stalled.SendWindow == 0, "stalled stream fills its window");

        var (other, otherAccepted) = await pair.OpenAsync(pair.Client);
        var payload = YamuxTestData.Pattern(3 * 1024 * 1024, seed: 4);
        var reading = YamuxTestData.ReadToEndAsync(otherAccepted);
        await other.WriteAsync(payload).AsTask().WaitAsync(Timeout);
        other.CompleteWrites();
        Assert.Equal(payload, await reading.WaitAsync(Timeout));
        Assert.False(stalledWrite.IsCompleted);

        stalledAccepted.Abort();
        await Assert.ThrowsAsync<PeerException>(() => stalledWrite.WaitAsync(Timeout));
    }
}
