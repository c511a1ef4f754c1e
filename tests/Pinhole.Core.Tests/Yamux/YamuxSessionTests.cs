using Microsoft.Extensions.Time.Testing;
using Pinhole.Transport.Yamux;

namespace Pinhole.Core.Tests.Yamux;

public class YamuxSessionTests
{
    private static readonly TimeSpan Timeout = YamuxTestPair.Timeout;

    [Fact]
    public async Task Ping_ReturnsRtt()
    {
        await using var pair = YamuxTestPair.Start();
        var rtt = await pair.Client.PingAsync(CancellationToken.None).WaitAsync(Timeout);
        Assert.True(rtt >= TimeSpan.Zero);
        Assert.NotNull(pair.Client.LastRtt);
    }

    [Fact]
    public async Task Ping_IsAnsweredWithAckAndSameValue()
    {
        await using var peer = RawYamuxPeer.Start();
        await peer.SendAsync(YamuxFrameType.Ping, YamuxFlags.Syn, 0, 0xCAFE);
        var pong = await peer.ReadUntilAsync(h => h.Type == YamuxFrameType.Ping && h.Flags == YamuxFlags.Ack, "ping ACK");
        Assert.Equal(0xCAFEu, pong.Header.Length);
        Assert.Equal(0u, pong.Header.StreamId);
    }

    [Fact]
    public async Task PingTimeout_ClosesTheSession()
    {
        var time = new FakeTimeProvider();
        await using var peer = RawYamuxPeer.Start(new YamuxSessionOptions { KeepAliveInterval = TimeSpan.Zero }, time);
        var pendingAccept = peer.Session.AcceptStreamAsync(CancellationToken.None).AsTask();
        var ping = peer.Session.PingAsync(CancellationToken.None);
        await peer.ReadUntilAsync(h => h.Type == YamuxFrameType.Ping && h.Flags == YamuxFlags.Syn, "ping");

        time.Advance(TimeSpan.FromSeconds(16));

        // This ping or the session's first one times out first; either way the cause is a timeout.
        var ex = await Assert.ThrowsAsync<PeerException>(() => ping.WaitAsync(Timeout));
        Assert.True(ex.Error == PeerError.Timeout || (ex.InnerException as PeerException)?.Error == PeerError.Timeout, ex.ToString());
        var completion = await Assert.ThrowsAsync<PeerException>(() => peer.Session.Completion.WaitAsync(Timeout));
        Assert.Equal(PeerError.Timeout, completion.Error);
        var accept = await Assert.ThrowsAsync<PeerException>(() => pendingAccept.WaitAsync(Timeout));
        Assert.Equal(PeerError.ConnectionClosed, accept.Error);
    }

    [Fact]
    public async Task KeepAlive_SendsPings()
    {
        var time = new FakeTimeProvider();
        await using var peer = RawYamuxPeer.Start(new YamuxSessionOptions { KeepAliveInterval = TimeSpan.FromSeconds(30) }, time);
        await peer.AnswerFirstPingAsync();

        time.Advance(TimeSpan.FromSeconds(30));
        var keepAlive = await peer.ReadUntilAsync(h => h.Type == YamuxFrameType.Ping, "keepalive ping");
        Assert.Equal(YamuxFlags.Syn, keepAlive.Header.Flags);
        Assert.Equal(2u, keepAlive.Header.Length); // the second ping id
    }

    [Fact]
    public async Task IdleTimeout_SendsGoAwayNormalAndCloses()
    {
        var time = new FakeTimeProvider();
        var options = new YamuxSessionOptions { KeepAliveInterval = TimeSpan.Zero, IdleTimeout = TimeSpan.FromMinutes(5) };
        await using var peer = RawYamuxPeer.Start(options, time);
        await peer.AnswerFirstPingAsync();
        var pendingAccept = peer.Session.AcceptStreamAsync(CancellationToken.None).AsTask();
        time.Advance(TimeSpan.FromMinutes(4));
        Assert.False(peer.Session.Completion.IsCompleted);
        time.Advance(TimeSpan.FromMinutes(1));

        Assert.Equal(YamuxGoAwayCode.Normal, await peer.ReadGoAwayAsync());
        await peer.Session.Completion.WaitAsync(Timeout);
        var accept = await Assert.ThrowsAsync<PeerException>(() => pendingAccept.WaitAsync(Timeout));
        Assert.Equal(PeerError.IdleTimeout, Assert.IsType<PeerException>(accept.InnerException).Error);
    }

    [Fact]
    public async Task IdleTimeout_NotWhileAStreamIsOpen()
    {
        var time = new FakeTimeProvider();
        var options = new YamuxSessionOptions { KeepAliveInterval = TimeSpan.Zero, IdleTimeout = TimeSpan.FromMinutes(1) };
        await using var pair = YamuxTestPair.Start(options, options, time);
        await Eventually.TrueAsync(() => pair.Client.LastRtt is not null && pair.Server.LastRtt is not null, "first pings answered");
        var (opened, accepted) = await pair.OpenAsync(pair.Client);
        time.Advance(TimeSpan.FromMinutes(3));
        Assert.False(pair.Client.Completion.IsCompleted);
        Assert.False(pair.Server.Completion.IsCompleted);

        opened.CompleteWrites();
        accepted.CompleteWrites();
        await Eventually.TrueAsync(() => pair.Client.OpenStreamCount == 0 && pair.Server.OpenStreamCount == 0, "stream closed");
        time.Advance(TimeSpan.FromMinutes(2));
        await pair.Client.Completion.WaitAsync(Timeout);
        await pair.Server.Completion.WaitAsync(Timeout);
    }

    [Fact]
    public async Task CloseAsync_SendsGoAway_PeerRefusesNewStreamsAndEndsCleanly()
    {
        await using var pair = YamuxTestPair.Start();
        var (opened, accepted) = await pair.OpenAsync(pair.Client);
        var pendingAccept = pair.Server.AcceptStreamAsync(CancellationToken.None).AsTask();
        var pendingRead = accepted.ReadAsync(new byte[1]).AsTask();

        await pair.Client.CloseAsync(YamuxGoAwayCode.Normal).WaitAsync(Timeout);

        await pair.Client.Completion.WaitAsync(Timeout);
        await pair.Server.Completion.WaitAsync(Timeout); // GoAway(normal) then end of stream: a clean end
        Assert.Equal(YamuxGoAwayCode.Normal, pair.Server.RemoteGoAway);
        var open = await Assert.ThrowsAsync<PeerException>(async () => await pair.Server.OpenStreamAsync(CancellationToken.None));
        Assert.True(open.Error is PeerError.Refused or PeerError.ConnectionClosed);
        var accept = await Assert.ThrowsAsync<PeerException>(() => pendingAccept.WaitAsync(Timeout));
        Assert.Equal(PeerError.ConnectionClosed, accept.Error);
        var read = await Assert.ThrowsAsync<PeerException>(() => pendingRead.WaitAsync(Timeout));
        Assert.Equal(PeerError.ConnectionClosed, read.Error);
        var write = await Assert.ThrowsAsync<PeerException>(async () => await opened.WriteAsync(new byte[1]));
        Assert.Equal(PeerError.ConnectionClosed, write.Error);
    }

    [Fact]
    public async Task RemoteGoAway_StopsNewStreams_ExistingStreamsContinue()
    {
        await using var peer = RawYamuxPeer.Start();
        await peer.SendAsync(YamuxFrameType.WindowUpdate, YamuxFlags.Syn, 1, 0);
        var stream = await peer.Session.AcceptStreamAsync(CancellationToken.None).AsTask().WaitAsync(Timeout);
        await peer.SendAsync(YamuxFrameType.GoAway, YamuxFlags.None, 0, (uint)YamuxGoAwayCode.Normal);
        await Eventually.TrueAsync(() => peer.Session.RemoteGoAway is not null, "GoAway processed");

        var ex = await Assert.ThrowsAsync<PeerException>(async () => await peer.Session.OpenStreamAsync(CancellationToken.None));
        Assert.Equal(PeerError.Refused, ex.Error);

        await peer.SendAsync(YamuxFrameType.Data, YamuxFlags.Fin, 1, 3, [7, 8, 9]);
        Assert.Equal([7, 8, 9], await YamuxTestData.ReadToEndAsync(stream).WaitAsync(Timeout));
        await stream.WriteAsync(new byte[] { 1, 2 });
        var data = await peer.ReadUntilAsync(h => h.Type == YamuxFrameType.Data && h.StreamId == 1, "stream data");
        Assert.Equal([1, 2], data.Payload);
    }

    [Fact]
    public async Task InboundStreamAfterLocalClose_IsNotAccepted()
    {
        await using var peer = RawYamuxPeer.Start();
        await peer.Session.CloseAsync().WaitAsync(Timeout);
        Assert.Equal(YamuxGoAwayCode.Normal, await peer.ReadGoAwayAsync());
        var ex = await Assert.ThrowsAsync<PeerException>(async () => await peer.Session.AcceptStreamAsync(CancellationToken.None));
        Assert.Equal(PeerError.ConnectionClosed, ex.Error);
    }

    [Fact]
    public async Task ConnectionLoss_MidTransfer_FailsEverythingWithTheCause()
    {
        await using var pair = YamuxTestPair.Start();
        var (opened, accepted) = await pair.OpenAsync(pair.Client);
        var writing = Task.Run(async () =>
        {
            var chunk = new byte[64 * 1024];
            while (true)
            {
                await opened.WriteAsync(chunk);
            }
        });
        var buffer = new byte[64 * 1024];
        for (var i = 0; i < 10; i++)
        {
            await accepted.ReadAsync(buffer).AsTask().WaitAsync(Timeout);
        }
        var pendingAccept = pair.Server.AcceptStreamAsync(CancellationToken.None).AsTask();
        var pendingOpenRead = opened.ReadAsync(new byte[1]).AsTask();
        var cause = new IOException("cable cut");

        pair.ServerTransport.Break(cause);

        var readError = await ReadUntilErrorAsync(accepted);
        Assert.Equal(PeerError.ConnectionClosed, readError.Error);
        var writeError = await Assert.ThrowsAsync<PeerException>(() => writing.WaitAsync(Timeout));
        Assert.Equal(PeerError.ConnectionClosed, writeError.Error);
        var openReadError = await Assert.ThrowsAsync<PeerException>(() => pendingOpenRead.WaitAsync(Timeout));
        Assert.Equal(PeerError.ConnectionClosed, openReadError.Error);
        var acceptError = await Assert.ThrowsAsync<PeerException>(() => pendingAccept.WaitAsync(Timeout));
        Assert.Equal(PeerError.ConnectionClosed, acceptError.Error);
        Assert.True(HasCause(acceptError, cause), acceptError.ToString());

        var serverCompletion = await Assert.ThrowsAsync<PeerException>(() => pair.Server.Completion.WaitAsync(Timeout));
        Assert.Equal(PeerError.ConnectionClosed, serverCompletion.Error);
        var clientCompletion = await Assert.ThrowsAsync<PeerException>(() => pair.Client.Completion.WaitAsync(Timeout));
        Assert.Equal(PeerError.ConnectionClosed, clientCompletion.Error);
        await Assert.ThrowsAsync<PeerException>(async () => await pair.Client.OpenStreamAsync(CancellationToken.None));
        await Assert.ThrowsAsync<PeerException>(() => pair.Client.PingAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Abort_FailsPendingOperationsWithTheReason()
    {
        await using var pair = YamuxTestPair.Start();
        var (opened, _) = await pair.OpenAsync(pair.Client);
        var pendingRead = opened.ReadAsync(new byte[1]).AsTask();
        var pendingAccept = pair.Client.AcceptStreamAsync(CancellationToken.None).AsTask();
        var reason = new InvalidOperationException("shutting down");

        pair.Client.Abort(reason);

        var read = await Assert.ThrowsAsync<PeerException>(() => pendingRead.WaitAsync(Timeout));
        Assert.Equal(PeerError.ConnectionClosed, read.Error);
        Assert.True(HasCause(read, reason));
        var accept = await Assert.ThrowsAsync<PeerException>(() => pendingAccept.WaitAsync(Timeout));
        Assert.True(HasCause(accept, reason));
        await Assert.ThrowsAsync<PeerException>(() => pair.Client.Completion.WaitAsync(Timeout));
        // The server sees the connection go away.
        await Assert.ThrowsAsync<PeerException>(() => pair.Server.Completion.WaitAsync(Timeout));
    }

    [Fact]
    public async Task DataReceivedBeforeConnectionEnds_CanStillBeRead()
    {
        await using var peer = RawYamuxPeer.Start();
        await peer.SendAsync(YamuxFrameType.WindowUpdate, YamuxFlags.Syn, 1, 0);
        var stream = await peer.Session.AcceptStreamAsync(CancellationToken.None).AsTask().WaitAsync(Timeout);
        await peer.SendAsync(YamuxFrameType.Data, YamuxFlags.Fin, 1, 4, [1, 2, 3, 4]);
        peer.ShutdownOutput();
        await Assert.ThrowsAsync<PeerException>(() => peer.Session.Completion.WaitAsync(Timeout));
        Assert.Equal([1, 2, 3, 4], await YamuxTestData.ReadToEndAsync(stream).WaitAsync(Timeout));
    }

    private static async Task<PeerException> ReadUntilErrorAsync(Stream stream)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (await stream.ReadAsync(buffer).AsTask().WaitAsync(Timeout) > 0)
            {
            }
        }
        catch (PeerException ex)
        {
            return ex;
        }
        throw new Xunit.Sdk.XunitException("The stream ended without an error.");
    }

    private static bool HasCause(Exception ex, Exception cause)
    {
        for (Exception? e = ex; e is not null; e = e.InnerException)
        {
            if (ReferenceEquals(e, cause))
            {
                return true;
            }
        }
        return false;
    }
}
