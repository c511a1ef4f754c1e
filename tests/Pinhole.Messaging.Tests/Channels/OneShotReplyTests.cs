using Pinhole.Messaging.MessagePack;
using Pinhole.Messaging.Tests.Support;

namespace Pinhole.Messaging.Tests.Channels;

/// <summary>
/// The one-shot reply path of <see cref="RequestReply.RequestAsync{TRequest, TResponse}"/> (the requester reads its
/// reply straight from the reply stream): what a requester sees when the responder's reply stream carries
/// something other than one good reply. The responder here is a raw connection that writes chosen bytes.
/// </summary>
public sealed class OneShotReplyTests
{
    private static readonly TimeSpan Timeout = SessionPair.Timeout;
    private static readonly IMessageCodec<Request<int, string>> Codec = RequestReply.Codec(MessageCodec.Int32, MessageCodec.Text);

    /// <summary>A message session on the left, a raw connection (no session) on the right.</summary>
    private sealed class RawResponder : IAsyncDisposable
    {
        private readonly List<PeerStream> _channels = [];

        private RawResponder(PeerConnection left, PeerConnection right, MessageSessionOptions? options)
        {
            Left = left;
            Right = right;
            Session = MessageSession.Start(left, options);
        }

        public PeerConnection Left { get; }

        public PeerConnection Right { get; }

        public MessageSession Session { get; }

        public static RawResponder Create(MessageSessionOptions? options = null)
        {
            var (left, right) = MemoryNetwork.CreatePair(
                new PeerConnectionOptions { Identity = NodeIdentity.Generate() },
                new PeerConnectionOptions { Identity = NodeIdentity.Generate() });
            return new RawResponder(left, right, options);
        }

        /// <summary>The next attachment stream the requester opened (a reply stream), its stream header read;
        /// top-level channel streams are kept open unread.</summary>
        public async Task<PeerStream> AcceptReplyStreamAsync()
        {
            while (true)
            {
                var stream = await Right.AcceptStreamAsync().AsTask().WaitAsync(Timeout);
                var one = new byte[1];
                await stream.ReadExactlyAsync(one).AsTask().WaitAsync(Timeout);
                if (one[0] == 0)
                {
                    _channels.Add(stream);
                    continue;
                }
                do
                {
                    await stream.ReadExactlyAsync(one).AsTask().WaitAsync(Timeout);
                }
                while ((one[0] & 0x80) != 0);
                return stream;
            }
        }

        public async ValueTask DisposeAsync()
        {
            await Session.DisposeAsync();
            foreach (var channel in _channels)
            {
                await channel.DisposeAsync();
            }
            await Left.DisposeAsync();
            await Right.DisposeAsync();
        }
    }

    /// <summary>Sends a request, then writes <paramref name="reply"/> on its reply stream and closes it.</summary>
    private static async Task<Exception?> ReplyWithAsync(byte[] reply, MessageSessionOptions? options = null)
    {
        await using var peers = RawResponder.Create(options);
        var requests = await peers.Session.OpenSenderAsync(Codec);
        var request = requests.RequestAsync(1);
        var stream = await peers.AcceptReplyStreamAsync();
        await stream.WriteAsync(reply).AsTask().WaitAsync(Timeout);
        stream.CompleteWrites();
        var failure = await Record.ExceptionAsync(() => request.WaitAsync(Timeout));
        await stream.DisposeAsync();
        return failure;
    }

    [Fact]
    public async Task A_good_reply_from_a_raw_responder_is_read()
    {
        var body = MessageCodec.Serialize(MessageCodec.Text, "#1");
        await using var peers = RawResponder.Create();
        var requests = await peers.Session.OpenSenderAsync(Codec);
        var request = requests.RequestAsync(1);
        var stream = await peers.AcceptReplyStreamAsync();
        await stream.WriteAsync((byte[])[(byte)(body.Length + 1), 0, .. body]).AsTask().WaitAsync(Timeout);
        stream.CompleteWrites();
        Assert.Equal("#1", await request.WaitAsync(Timeout));
        await stream.DisposeAsync();
    }

    [Theory]
    [InlineData(new byte[] { 2, 7, 0xc0 }, "Unknown channel frame type")] // frame type 7 does not exist
    [InlineData(new byte[] { 2, 2, 0xc0 }, "Unexpected Stop frame")] // a Stop frame goes the other way
    [InlineData(new byte[] { 2, 0, 0xc1 }, "Malformed message")] // 0xc1 is never used in MessagePack
    [InlineData(new byte[] { 5, 0, 0xa3 }, "ended inside a frame")] // the stream ends 3 bytes short
    public async Task A_malformed_reply_is_a_protocol_violation(byte[] reply, string expected)
    {
        var e = Assert.IsType<PeerException>(await ReplyWithAsync(reply));
        Assert.Equal(PeerError.ProtocolViolation, e.Error);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_reply_above_the_message_limit_is_refused_before_it_is_buffered()
    {
        // Announces 5,000 bytes (uvarint 0x88 0x27) against a limit of 1,024.
        var e = Assert.IsType<PeerException>(await ReplyWithAsync([0x88, 0x27, 0], new MessageSessionOptions { MaxMessageSize = 1024 }));
        Assert.Equal(PeerError.LimitExceeded, e.Error);
    }

    [Fact]
    public async Task An_error_frame_is_the_responders_reason()
    {
        var reason = MessageCodec.Serialize(MessageCodec.String, "no such thing");
        var e = Assert.IsType<ChannelAbortedException>(await ReplyWithAsync([(byte)(reason.Length + 1), 1, .. reason]));
        Assert.Equal("no such thing", e.Message);
        Assert.True(e.IsRemote);
    }

    [Fact]
    public async Task An_end_without_a_reply_is_reported()
    {
        var e = Assert.IsType<ChannelAbortedException>(await ReplyWithAsync([]));
        Assert.Contains("without replying", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_reset_reply_stream_fails_the_request_with_a_peer_exception()
    {
        await using var peers = RawResponder.Create();
        var requests = await peers.Session.OpenSenderAsync(Codec);
        var request = requests.RequestAsync(1);
        var stream = await peers.AcceptReplyStreamAsync();
        stream.Abort();
        await Assert.ThrowsAnyAsync<PeerException>(() => request.WaitAsync(Timeout));
        await stream.DisposeAsync();
    }

    [Fact]
    public async Task A_lost_connection_fails_a_waiting_request()
    {
        await using var peers = RawResponder.Create();
        var requests = await peers.Session.OpenSenderAsync(Codec);
        var request = requests.RequestAsync(1);
        _ = await peers.AcceptReplyStreamAsync();
        await peers.Right.DisposeAsync();
        await Assert.ThrowsAnyAsync<PeerException>(() => request.WaitAsync(Timeout));
    }

    [Fact]
    public async Task A_cancelled_request_tells_the_responder_to_stop()
    {
        await using var peers = RawResponder.Create();
        var requests = await peers.Session.OpenSenderAsync(Codec);
        using var cancel = new CancellationTokenSource();
        var request = requests.RequestAsync(1, cancel.Token);
        var stream = await peers.AcceptReplyStreamAsync();
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => request.WaitAsync(Timeout));
        // What the requester sent back on the reply stream: one Stop frame, then its end.
        var received = new MemoryStream();
        await stream.CopyToAsync(received).WaitAsync(Timeout);
        var bytes = received.ToArray();
        Assert.True(bytes.Length >= 2, $"expected a Stop frame, got {bytes.Length} bytes");
        Assert.Equal(bytes.Length - 1, bytes[0]);
        Assert.Equal(2, bytes[1]); // ChannelFrameType.Stop
        await stream.DisposeAsync();
    }

    [Fact]
    public async Task Replies_larger_than_the_first_read_buffer_and_many_in_a_row_arrive_intact()
    {
        await using var pair = SessionPair.Create();
        var requests = await pair.Left.OpenSenderAsync(Codec);
        var served = pair.Right.AcceptReceiverAsync(Codec).AsTask().ContinueWith(async t =>
        {
            await foreach (var request in t.Result)
            {
                await request.ReplyAsync(new string((char)('a' + (request.Body % 26)), request.Body));
            }
        }, TaskScheduler.Default).Unwrap();
        foreach (var size in new[] { 0, 1, 300, 511, 512, 513, 4096, 100_000, 1_000_000 })
        {
            Assert.Equal(new string((char)('a' + (size % 26)), size), await requests.RequestAsync(size).WaitAsync(Timeout));
        }
        for (int i = 0; i < 200; i++)
        {
            Assert.Equal(new string((char)('a' + (i % 26)), i), await requests.RequestAsync(i).WaitAsync(Timeout));
        }
        requests.TryComplete();
        await served.WaitAsync(Timeout);
    }
}
