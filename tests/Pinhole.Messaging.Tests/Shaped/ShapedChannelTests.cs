using System.Security.Cryptography;
using Pinhole.Messaging.MessagePack;
using Pinhole.Messaging.Tests.Support;

namespace Pinhole.Messaging.Tests.Shaped;

/// <summary>Sender&lt;T&gt;/Receiver&lt;T&gt; of [GenerateShape] types, and channels and streams inside them, over a session.</summary>
public class ShapedChannelTests
{
    private static readonly TimeSpan Timeout = SessionPair.Timeout;

    [Fact]
    public async Task Channels_of_shaped_types_need_no_codec()
    {
        await using var pair = SessionPair.Create();
        var sender = await pair.Left.OpenSenderAsync<Point>();
        var receiver = await pair.Right.AcceptReceiverAsync<Point>().AsTask().WaitAsync(Timeout);
        for (int i = 0; i < 100; i++)
        {
            await sender.WriteAsync(new Point(i, -i));
        }
        sender.TryComplete();
        int n = 0;
        await foreach (var point in receiver.WithCancellation(new CancellationTokenSource(Timeout).Token))
        {
            Assert.Equal(new Point(n, -n), point);
            n++;
        }
        Assert.Equal(100, n);
    }

    [Fact]
    public async Task Senders_receivers_and_streams_inside_a_shaped_message_become_attached_channels()
    {
        await using var pair = SessionPair.Create();
        var requests = await pair.Left.OpenSenderAsync<JobRequest>();
        var incoming = await pair.Right.AcceptReceiverAsync<JobRequest>().AsTask().WaitAsync(Timeout);

        var (progressSender, progress) = MessageChannel.CreatePipe<Progress>();
        var (lineSender, lines) = MessageChannel.CreatePipe<string>();
        var data = RandomNumberGenerator.GetBytes(300_000);
        await requests.WriteAsync(new JobRequest("render", progressSender, lines, new MemoryStream(data, writable: false), null));
        await lineSender.WriteAsync("first");
        await lineSender.WriteAsync("second");
        lineSender.TryComplete();

        var job = await incoming.ReadAsync().AsTask().WaitAsync(Timeout);
        Assert.Equal("render", job.Name);
        Assert.Null(job.Optional);
        // The Receiver inside the message reads what the requester writes...
        var received = new List<string>();
        await foreach (var line in job.Lines.WithCancellation(new CancellationTokenSource(Timeout).Token))
        {
            received.Add(line);
        }
        Assert.Equal(["first", "second"], received);
        // ...the Stream carries the bytes (read-only here, so the peer can only read)...
        Assert.True(job.Data.CanRead);
        Assert.False(job.Data.CanWrite);
        using var copy = new MemoryStream();
        await job.Data.CopyToAsync(copy).WaitAsync(Timeout);
        Assert.Equal(data, copy.ToArray());
        // ...and the Sender delivers into the requester's local channel, in order, closing when the job does.
        for (int p = 0; p <= 100; p += 50)
        {
            await job.Progress.WriteAsync(new Progress(p, $"{p}%"));
        }
        job.Progress.TryComplete();
        var seen = new List<int>();
        await foreach (var update in progress.WithCancellation(new CancellationTokenSource(Timeout).Token))
        {
            seen.Add(update.Percent);
        }
        Assert.Equal([0, 50, 100], seen);
    }

    [Fact]
    public async Task A_shaped_message_and_a_hand_written_codec_agree_on_the_wire()
    {
        // KeyedHello is positional ([name, ext 4]), as MessageCodec.Record writes it: either side may use either.
        var handWritten = MessageCodec.Record((KeyedHello h) => h.Name, h => h.Reply, (n, r) => new KeyedHello(n, r), MessageCodec.Text, ChannelCodec.Sender(MessageCodec.Text));
        await using var pair = SessionPair.Create();
        var shapedSender = await pair.Left.OpenSenderAsync<KeyedHello>();
        var handReceiver = await pair.Right.AcceptReceiverAsync(handWritten).AsTask().WaitAsync(Timeout);
        var handSender = await pair.Right.OpenSenderAsync(handWritten);
        var shapedReceiver = await pair.Left.AcceptReceiverAsync<KeyedHello>().AsTask().WaitAsync(Timeout);

        var (replyToLeft, leftReplies) = MessageChannel.CreatePipe<string>();
        await shapedSender.WriteAsync(new KeyedHello("from shaped", replyToLeft));
        var hello = await handReceiver.ReadAsync().AsTask().WaitAsync(Timeout);
        Assert.Equal("from shaped", hello.Name);
        await hello.Reply.WriteAsync("answered by hand-written");
        Assert.Equal("answered by hand-written", await leftReplies.ReadAsync().AsTask().WaitAsync(Timeout));

        var (replyToRight, rightReplies) = MessageChannel.CreatePipe<string>();
        await handSender.WriteAsync(new KeyedHello("from hand-written", replyToRight));
        var back = await shapedReceiver.ReadAsync().AsTask().WaitAsync(Timeout);
        Assert.Equal("from hand-written", back.Name);
        await back.Reply.WriteAsync("answered by shaped");
        Assert.Equal("answered by shaped", await rightReplies.ReadAsync().AsTask().WaitAsync(Timeout));
    }

    [Fact]
    public async Task A_malformed_shaped_message_fails_that_channel_only()
    {
        await using var pair = SessionPair.Create();
        // The peer sends ints on a channel the receiver expects Points on: a protocol violation for that channel.
        var wrong = await pair.Left.OpenSenderAsync(MessageCodec.Int32);
        var points = await pair.Right.AcceptReceiverAsync<Point>().AsTask().WaitAsync(Timeout);
        var good = await pair.Left.OpenSenderAsync<Point>();
        var goodPoints = await pair.Right.AcceptReceiverAsync<Point>().AsTask().WaitAsync(Timeout);
        await wrong.WriteAsync(42);
        var e = await Assert.ThrowsAsync<PeerException>(() => points.Completion.WaitAsync(Timeout));
        Assert.Equal(PeerError.ProtocolViolation, e.Error);
        Assert.IsType<MessagePackException>(e.InnerException);
        await good.WriteAsync(new Point(1, 1));
        Assert.Equal(new Point(1, 1), await goodPoints.ReadAsync().AsTask().WaitAsync(Timeout));
    }

    [Fact]
    public async Task A_shaped_message_over_the_receivers_limit_is_refused_before_it_is_decoded()
    {
        // The sender allows big messages, the receiver does not: its frame check refuses the frame unread.
        var (left, right) = MemoryNetwork.CreatePair(new PeerConnectionOptions { Identity = NodeIdentity.Generate() }, new PeerConnectionOptions { Identity = NodeIdentity.Generate() });
        await using var leftSession = MessageSession.Start(left, new MessageSessionOptions { MaxMessageSize = 1 << 20 }, ownsConnection: true);
        await using var rightSession = MessageSession.Start(right, new MessageSessionOptions { MaxMessageSize = 4096 }, ownsConnection: true);
        var sender = await leftSession.OpenSenderAsync<Numbers>();
        var receiver = await rightSession.AcceptReceiverAsync<Numbers>().AsTask().WaitAsync(Timeout);
        await sender.WriteAsync(new Numbers([.. Enumerable.Range(0, 10_000)]));
        var e = await Assert.ThrowsAsync<PeerException>(() => receiver.Completion.WaitAsync(Timeout));
        Assert.Equal(PeerError.LimitExceeded, e.Error);
    }
}
