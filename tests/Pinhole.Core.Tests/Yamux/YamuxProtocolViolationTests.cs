using Pinhole.Transport.Yamux;

namespace Pinhole.Core.Tests.Yamux;

public class YamuxProtocolViolationTests
{
    private static readonly TimeSpan Timeout = YamuxTestPair.Timeout;

    public static TheoryData<string, byte[]> BadInput => new()
    {
        { "version 1", [1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0] },
        { "unknown type", [0, 9, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0] },
        { "garbage", [0x47, 0x45, 0x54, 0x20, 0x2F, 0x20, 0x48, 0x54, 0x54, 0x50, 0x2F, 0x31, 0x2E, 0x31, 0x0D, 0x0A] },
        { "data on stream 0", [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0] },
        { "SYN with our parity", [0, 1, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0] },
    };

    [Theory]
    [MemberData(nameof(BadInput))]
    public async Task BadInput_SendsGoAwayProtocolError_AndFailsPendingOperations(string name, byte[] bytes)
    {
        await using var peer = RawYamuxPeer.Start();
        var session = peer.Session;
        // An outbound stream with a pending read, and a pending accept.
        var stream = await session.OpenStreamAsync(CancellationToken.None);
        var pendingRead = stream.ReadAsync(new byte[10]).AsTask();
        var pendingAccept = session.AcceptStreamAsync(CancellationToken.None).AsTask();

        await peer.SendRawAsync(bytes);

        Assert.Equal(YamuxGoAwayCode.ProtocolError, await peer.ReadGoAwayAsync());
        await peer.ReadToEndAsync(); // the session closes the transport
        var completion = await Assert.ThrowsAsync<PeerException>(() => session.Completion.WaitAsync(Timeout));
        Assert.Equal(PeerError.ProtocolViolation, completion.Error);
        var read = await Assert.ThrowsAsync<PeerException>(() => pendingRead.WaitAsync(Timeout));
        Assert.Equal(PeerError.ConnectionClosed, read.Error);
        var accept = await Assert.ThrowsAsync<PeerException>(() => pendingAccept.WaitAsync(Timeout));
        Assert.Equal(PeerError.ConnectionClosed, accept.Error);
        Assert.Equal(PeerError.ProtocolViolation, Assert.IsType<PeerException>(accept.InnerException).Error);
        var open = await Assert.ThrowsAsync<PeerException>(async () => await session.OpenStreamAsync(CancellationToken.None));
        Assert.Equal(PeerError.ConnectionClosed, open.Error);
        Assert.NotNull(name);
    }

    [Fact]
    public async Task DataBeyondWindow_IsRejectedFromTheHeaderAlone()
    {
        await using var peer = RawYamuxPeer.Start();
        await peer.SendAsync(YamuxFrameType.WindowUpdate, YamuxFlags.Syn, 1, 0);
        // The header claims one byte more than the 256 KiB window; no payload is ever sent.
        await peer.SendAsync(YamuxFrameType.Data, YamuxFlags.None, 1, 256 * 1024 + 1);

        Assert.Equal(YamuxGoAwayCode.ProtocolError, await peer.ReadGoAwayAsync());
        var completion = await Assert.ThrowsAsync<PeerException>(() => peer.Session.Completion.WaitAsync(Timeout));
        Assert.Equal(PeerError.ProtocolViolation, completion.Error);
        Assert.Contains("window", completion.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DataWithinWindowInSeveralFrames_ThenOverflow_IsRejected()
    {
        await using var peer = RawYamuxPeer.Start();
        await peer.SendAsync(YamuxFrameType.WindowUpdate, YamuxFlags.Syn, 1, 0);
        var chunk = new byte[100 * 1024];
        await peer.SendAsync(YamuxFrameType.Data, YamuxFlags.None, 1, (uint)chunk.Length, chunk);
        await peer.SendAsync(YamuxFrameType.Data, YamuxFlags.None, 1, (uint)chunk.Length, chunk);
        // 200 KiB used, nobody reads: 56 KiB left, 100 KiB more is a violation.
        await peer.SendAsync(YamuxFrameType.Data, YamuxFlags.None, 1, (uint)chunk.Length, chunk);
        Assert.Equal(YamuxGoAwayCode.ProtocolError, await peer.ReadGoAwayAsync());
    }

    [Fact]
    public async Task DuplicateSyn_IsAProtocolError()
    {
        await using var peer = RawYamuxPeer.Start();
        await peer.SendAsync(YamuxFrameType.WindowUpdate, YamuxFlags.Syn, 1, 0);
        await peer.SendAsync(YamuxFrameType.WindowUpdate, YamuxFlags.Syn, 1, 0);
        Assert.Equal(YamuxGoAwayCode.ProtocolError, await peer.ReadGoAwayAsync());
    }

    [Fact]
    public async Task FramesForUnknownStreams_AreIgnored()
    {
        await using var peer = RawYamuxPeer.Start();
        await peer.SendAsync(YamuxFrameType.Data, YamuxFlags.None, 41, 5, [1, 2, 3, 4, 5]);
        await peer.SendAsync(YamuxFrameType.WindowUpdate, YamuxFlags.None, 43, 1000);
        await peer.SendAsync(YamuxFrameType.WindowUpdate, YamuxFlags.Rst, 45, 0);
        // Still alive and in sync: a ping is answered.
        await peer.SendAsync(YamuxFrameType.Ping, YamuxFlags.Syn, 0, 77);
        var pong = await peer.ReadUntilAsync(h => h.Type == YamuxFrameType.Ping && (h.Flags & YamuxFlags.Ack) != 0, "ping ACK");
        Assert.Equal(77u, pong.Header.Length);
        Assert.False(peer.Session.Completion.IsCompleted);
    }

    [Fact]
    public async Task TruncatedFrameAtEndOfStream_FaultsWithConnectionClosed()
    {
        await using var peer = RawYamuxPeer.Start();
        await peer.SendRawAsync([0, 0, 0]);
        peer.ShutdownOutput();
        var ex = await Assert.ThrowsAsync<PeerException>(() => peer.Session.Completion.WaitAsync(Timeout));
        Assert.Equal(PeerError.ConnectionClosed, ex.Error);
        Assert.Contains("middle of a frame", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PingFlood_WithoutReading_ClosesTheSession()
    {
        // A short ping timeout also bounds how long the session tries to deliver its GoAway to a peer that does not read.
        var options = new YamuxSessionOptions { MaxWriteBufferSize = 64 * 1024, MaxDataFrameSize = 1024, PingTimeout = TimeSpan.FromSeconds(1) };
        await using var peer = RawYamuxPeer.Start(options);
        await peer.AnswerFirstPingAsync(); // so that the short ping timeout cannot end the session first
        var flood = new byte[400_000 * YamuxFrameHeader.Size];
        for (var i = 0; i < 400_000; i++)
        {
            new YamuxFrameHeader(YamuxFrameType.Ping, YamuxFlags.Syn, 0, (uint)i).Write(flood.AsSpan(i * YamuxFrameHeader.Size));
        }
        // Nobody reads the replies while the pings go in.
        await peer.SendRawAsync(flood);
        var completion = await Assert.ThrowsAsync<PeerException>(() => peer.Session.Completion.WaitAsync(Timeout));
        Assert.Equal(PeerError.ProtocolViolation, completion.Error);
        Assert.Contains("not reading", completion.Message, StringComparison.Ordinal);
        await peer.ReadToEndAsync();
    }
}
