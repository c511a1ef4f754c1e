using System.Security.Cryptography;
using Pinhole.Messaging.MessagePack;
using Pinhole.Messaging.Tests.Support;

namespace Pinhole.Messaging.Tests.Channels;

public class NestedChannelTests
{
    private static readonly TimeSpan Timeout = SessionPair.Timeout;

    // Level 3: a line of text with a Sender for its acknowledgement.
    private sealed record Line(string Text, Sender<string> Ack);

    // Level 2: a Receiver of lines.
    private sealed record Lines(Receiver<Line> Stream);

    // Level 1: a Sender on which the peer sends back its level-2 message.
    private sealed record Hello(string Name, Sender<Lines> ReplyTo);

    private static readonly IMessageCodec<Line> LineCodec = MessageCodec.Record((Line l) => l.Text, l => l.Ack, (t, a) => new Line(t, a), codec2: ChannelCodec.Sender(MessageCodec.Text));
    private static readonly IMessageCodec<Lines> LinesCodec = MessageCodec.Record((Lines l) => l.Stream, r => new Lines(r), ChannelCodec.Receiver(LineCodec));
    private static readonly IMessageCodec<Hello> HelloCodec = MessageCodec.Record((Hello h) => h.Name, h => h.ReplyTo, (n, r) => new Hello(n, r), codec2: ChannelCodec.Sender(LinesCodec));

    [Fact]
    public async Task Channels_nest_three_levels_deep_in_both_directions()
    {
        await using var pair = SessionPair.Create();
        // Left opens a channel and sends a Sender<Lines> in a message.
        var top = await pair.Left.OpenSenderAsync(HelloCodec);
        var (replySender, replies) = MessageChannel.CreatePipe<Lines>();
        await top.WriteAsync(new Hello("left", replySender));

        // Right receives it and answers through the nested Sender with a Receiver<Line>.
        var inbound = await pair.Right.AcceptReceiverAsync(HelloCodec).AsTask().WaitAsync(Timeout);
        var hello = await inbound.ReadAsync().AsTask().WaitAsync(Timeout);
        Assert.Equal("left", hello.Name);
        var (lineSender, lineReceiver) = MessageChannel.CreatePipe<Line>();
        await hello.ReplyTo.WriteAsync(new Lines(lineReceiver));
        hello.ReplyTo.TryComplete();

        // Right sends lines on its level-2 channel, each with a level-3 ack Sender.
        var acks = new List<Receiver<string>>();
        for (int i = 0; i < 3; i++)
        {
            var (ackSender, ackReceiver) = MessageChannel.CreatePipe<string>();
            acks.Add(ackReceiver);
            await lineSender.WriteAsync(new Line($"line {i}", ackSender));
        }
        lineSender.TryComplete();

        // Left reads them through two levels of nesting and acknowledges through the third.
        var lines = await replies.ReadAsync().AsTask().WaitAsync(Timeout);
        int n = 0;
        await foreach (var line in lines.Stream.WithCancellation(new CancellationTokenSource(Timeout).Token))
        {
            Assert.Equal($"line {n++}", line.Text);
            await line.Ack.WriteAsync("ok " + line.Text);
            line.Ack.TryComplete();
        }
        Assert.Equal(3, n);
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal($"ok line {i}", await acks[i].ReadAsync().AsTask().WaitAsync(Timeout));
            await acks[i].Completion.WaitAsync(Timeout);
        }
        // The reply pipe closes when the peer completed its Sender.
        await replies.Completion.WaitAsync(Timeout);
    }

    [Fact]
    public async Task Nested_channels_outlive_their_parent_channel()
    {
        await using var pair = SessionPair.Create();
        var top = await pair.Left.OpenSenderAsync(ChannelCodec.Receiver(MessageCodec.Int32));
        var (inner, innerReceiver) = MessageChannel.CreatePipe<int>();
        await top.WriteAsync(innerReceiver);
        top.TryComplete();
        var inbound = await pair.Right.AcceptReceiverAsync(ChannelCodec.Receiver(MessageCodec.Int32)).AsTask().WaitAsync(Timeout);
        var nested = await inbound.ReadAsync().AsTask().WaitAsync(Timeout);
        await inbound.Completion.WaitAsync(Timeout); // the parent is closed...
        await inner.WriteAsync(42);                  // ...and the child still works.
        Assert.Equal(42, await nested.ReadAsync().AsTask().WaitAsync(Timeout));
        inner.TryComplete(new InvalidOperationException("child failed"));
        var e = await Assert.ThrowsAsync<ChannelAbortedException>(() => nested.Completion.WaitAsync(Timeout));
        Assert.Equal("child failed", e.Message);
    }

    [Fact]
    public async Task Request_reply_matches_replies_and_carries_failures()
    {
        await using var pair = SessionPair.Create();
        var codec = RequestReply.Codec(MessageCodec.Int32, MessageCodec.Text);
        var requests = await pair.Left.OpenSenderAsync(codec);
        var served = pair.Right.AcceptReceiverAsync(codec).AsTask().ContinueWith(async t =>
        {
            await foreach (var request in t.Result)
            {
                if (request.Body < 0)
                {
                    request.Fail("negative");
                }
                else
                {
                    await request.ReplyAsync($"#{request.Body * 2}");
                }
            }
        }, TaskScheduler.Default).Unwrap();
        var answers = await Task.WhenAll(Enumerable.Range(0, 50).Select(i => requests.RequestAsync(i))).WaitAsync(Timeout);
        Assert.Equal(Enumerable.Range(0, 50).Select(i => $"#{i * 2}"), answers);
        var e = await Assert.ThrowsAsync<ChannelAbortedException>(() => requests.RequestAsync(-1).WaitAsync(Timeout));
        Assert.Equal("negative", e.Message);
        requests.TryComplete();
        await served.WaitAsync(Timeout);
    }

    [Fact]
    public async Task Request_reply_works_in_process_and_reports_a_missing_reply()
    {
        var (requests, incoming) = MessageChannel.CreatePipe<Request<int, string>>();
        var served = Task.Run(async () =>
        {
            await foreach (var request in incoming)
            {
                if (request.Body == 0)
                {
                    request.Reply.TryComplete(); // no reply at all
                }
                else
                {
                    await request.ReplyAsync($"#{request.Body}");
                }
            }
        });
        Assert.Equal("#7", await requests.RequestAsync(7).WaitAsync(Timeout));
        var e = await Assert.ThrowsAsync<ChannelAbortedException>(() => requests.RequestAsync(0).WaitAsync(Timeout));
        Assert.Contains("without replying", e.Message, StringComparison.Ordinal);
        requests.TryComplete();
        await served.WaitAsync(Timeout);
    }

    [Fact]
    public async Task Request_reply_over_a_peer_reports_a_missing_reply_and_survives_a_forwarding_hop()
    {
        await using var pair = SessionPair.Create();
        var codec = RequestReply.Codec(MessageCodec.Int32, MessageCodec.Text);
        var remote = await pair.Left.OpenSenderAsync(codec);
        var served = pair.Right.AcceptReceiverAsync(codec).AsTask().ContinueWith(async t =>
        {
            await foreach (var request in t.Result)
            {
                if (request.Body == 0)
                {
                    request.Reply.TryComplete();
                }
                else
                {
                    await request.ReplyAsync($"#{request.Body}");
                }
            }
        }, TaskScheduler.Default).Unwrap();
        var e = await Assert.ThrowsAsync<ChannelAbortedException>(() => remote.RequestAsync(0).WaitAsync(Timeout));
        Assert.Contains("without replying", e.Message, StringComparison.Ordinal);

        // The request is written into an in-process pipe first and only later encoded for the peer by a forwarder:
        // the requester is already waiting when the reply stream appears.
        var (local, toForward) = MessageChannel.CreatePipe<Request<int, string>>();
        var forwarding = Task.Run(async () =>
        {
            await foreach (var request in toForward)
            {
                await Task.Yield();
                await remote.WriteAsync(request);
            }
        });
        var answers = await Task.WhenAll(Enumerable.Range(1, 20).Select(i => local.RequestAsync(i))).WaitAsync(Timeout);
        Assert.Equal(Enumerable.Range(1, 20).Select(i => $"#{i}"), answers);
        local.TryComplete();
        await forwarding.WaitAsync(Timeout);
        remote.TryComplete();
        await served.WaitAsync(Timeout);
    }

    [Fact]
    public async Task Byte_streams_of_hundreds_of_megabytes_arrive_intact()
    {
        const long Size = 256L * 1024 * 1024;
        await using var pair = SessionPair.Create();
        var top = await pair.Left.OpenSenderAsync(ChannelCodec.Stream);
        using var source = new PatternStream(Size, seed: 7);
        await top.WriteAsync(source);
        var inbound = await pair.Right.AcceptReceiverAsync(ChannelCodec.Stream).AsTask().WaitAsync(Timeout);
        await using var received = await inbound.ReadAsync().AsTask().WaitAsync(Timeout);
        Assert.True(received.CanRead);
        Assert.False(received.CanWrite);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[256 * 1024];
        long total = 0;
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        int n;
        while ((n = await received.ReadAsync(buffer, cts.Token)) > 0)
        {
            hash.AppendData(buffer, 0, n);
            total += n;
        }
        Assert.Equal(Size, total);
        Assert.Equal(PatternStream.Sha256(Size, seed: 7), hash.GetHashAndReset());
    }

    [Fact]
    public async Task Writable_and_duplex_streams_carry_data_back()
    {
        await using var pair = SessionPair.Create();
        var top = await pair.Left.OpenSenderAsync(ChannelCodec.Stream);
        var sink = new MemoryStream();
        var writeOnly = new WriteOnlyStream(sink);
        await top.WriteAsync(writeOnly);
        var inbound = await pair.Right.AcceptReceiverAsync(ChannelCodec.Stream).AsTask().WaitAsync(Timeout);
        var remote = await inbound.ReadAsync().AsTask().WaitAsync(Timeout);
        Assert.True(remote.CanWrite);
        Assert.False(remote.CanRead);
        await remote.WriteAsync("hello back"u8.ToArray());
        await remote.DisposeAsync();
        // The copy into the local stream finishes when the peer half-closes.
        for (int i = 0; i < 300 && sink.Length < 10; i++)
        {
            await Task.Delay(10);
        }
        Assert.Equal("hello back"u8.ToArray(), sink.ToArray());
    }

    [Fact]
    public async Task An_attachment_in_an_unencodable_place_is_a_clear_error()
    {
        var (sender, _) = MessageChannel.CreatePipe<int>();
        var e = Assert.Throws<InvalidOperationException>(() => MessageCodec.Serialize(ChannelCodec.Sender(MessageCodec.Int32), sender));
        Assert.Contains("MessageSession", e.Message, StringComparison.Ordinal);
        await Task.CompletedTask;
    }

    private sealed class WriteOnlyStream(Stream inner) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);
    }
}
