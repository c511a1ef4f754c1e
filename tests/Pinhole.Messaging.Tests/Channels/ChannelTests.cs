using System.Threading.Channels;
using Pinhole.Messaging.MessagePack;
using Pinhole.Messaging.Tests.Support;

namespace Pinhole.Messaging.Tests.Channels;

public class ChannelTests
{
    private static readonly TimeSpan Timeout = SessionPair.Timeout;

    [Fact]
    public async Task Messages_arrive_in_order_and_graceful_close_ends_the_receiver()
    {
        await using var pair = SessionPair.Create();
        var sender = await pair.Left.OpenSenderAsync(MessageCodec.Int32);
        var receiver = await pair.Right.AcceptReceiverAsync(MessageCodec.Int32).AsTask().WaitAsync(Timeout);
        var writing = Task.Run(async () =>
        {
            for (int i = 0; i < 10_000; i++)
            {
                if (!sender.TryWrite(i))
                {
                    await sender.WriteAsync(i);
                }
            }
            sender.TryComplete();
        });
        int expected = 0;
        await foreach (var value in receiver.WithCancellation(new CancellationTokenSource(Timeout).Token))
        {
            Assert.Equal(expected++, value);
        }
        Assert.Equal(10_000, expected);
        await writing.WaitAsync(Timeout);
        await receiver.Completion.WaitAsync(Timeout);
        await sender.Closed.WaitAsync(Timeout);
    }

    [Fact]
    public async Task Bursts_pauses_and_large_messages_interleave_in_order_and_intact()
    {
        // Messages written after a pause go to the stream directly, those of a burst through the send pipe,
        // large ones straight after the pipe drains: whichever path each takes, order and bytes must hold.
        await using var pair = SessionPair.Create();
        var sender = await pair.Left.OpenSenderAsync(MessageCodec.Memory);
        var receiver = await pair.Right.AcceptReceiverAsync(MessageCodec.PooledMemory).AsTask().WaitAsync(Timeout);
        const int count = 600;
        static int SizeOf(int i) => i % 50 == 7 ? 40_000 + i : i % 3 == 0 ? 1 + (i % 200) : 64;
        static byte[] Payload(int i)
        {
            var payload = new byte[SizeOf(i)];
            for (int j = 0; j < payload.Length; j++)
            {
                payload[j] = (byte)(i * 31 + j);
            }
            return payload;
        }
        var writing = Task.Run(async () =>
        {
            for (int i = 0; i < count; i++)
            {
                if (i % 40 == 0)
                {
                    await sender.FlushAsync();
                    await Task.Delay(1); // let the pump and the connection go idle
                }
                if (i % 2 == 0 || !sender.TryWrite(Payload(i)))
                {
                    await sender.WriteAsync(Payload(i));
                }
            }
            sender.TryComplete();
        });
        int received = 0;
        await foreach (var lease in receiver.WithCancellation(new CancellationTokenSource(Timeout).Token))
        {
            using (lease)
            {
                Assert.Equal(Payload(received), lease.Memory.ToArray());
            }
            received++;
        }
        Assert.Equal(count, received);
        await writing.WaitAsync(Timeout);
        await sender.Closed.WaitAsync(Timeout);
    }

    [Fact]
    public async Task Close_with_error_delivers_messages_then_the_error()
    {
        await using var pair = SessionPair.Create();
        var sender = await pair.Left.OpenSenderAsync(MessageCodec.String);
        var receiver = await pair.Right.AcceptReceiverAsync(MessageCodec.String).AsTask().WaitAsync(Timeout);
        await sender.WriteAsync("one");
        await sender.WriteAsync("two");
        sender.TryComplete(new InvalidOperationException("disk full"));
        Assert.Equal("one", await receiver.ReadAsync().AsTask().WaitAsync(Timeout));
        Assert.Equal("two", await receiver.ReadAsync().AsTask().WaitAsync(Timeout));
        var e = await Assert.ThrowsAsync<ChannelAbortedException>(() => receiver.Completion.WaitAsync(Timeout));
        Assert.True(e.IsRemote);
        Assert.Equal("disk full", e.Message);
        await Assert.ThrowsAnyAsync<Exception>(async () => await receiver.ReadAsync().AsTask().WaitAsync(Timeout));
    }

    [Fact]
    public async Task Abort_resets_the_channel_on_both_sides()
    {
        await using var pair = SessionPair.Create();
        var sender = await pair.Left.OpenSenderAsync(MessageCodec.Int32);
        var receiver = await pair.Right.AcceptReceiverAsync(MessageCodec.Int32).AsTask().WaitAsync(Timeout);
        await sender.WriteAsync(1);
        Assert.Equal(1, await receiver.ReadAsync().AsTask().WaitAsync(Timeout));
        var pending = receiver.ReadAsync().AsTask();
        sender.Abort("gave up");
        var e = await Assert.ThrowsAnyAsync<Exception>(() => pending.WaitAsync(Timeout));
        Assert.IsType<PeerException>(e is ChannelClosedException { InnerException: { } inner } ? inner : e, exactMatch: false);
        await Assert.ThrowsAsync<ChannelAbortedException>(async () => await sender.WriteAsync(2));
    }

    [Fact]
    public async Task Disposing_the_receiver_stops_the_sender()
    {
        await using var pair = SessionPair.Create();
        var sender = await pair.Left.OpenSenderAsync(MessageCodec.Int32);
        var receiver = await pair.Right.AcceptReceiverAsync(MessageCodec.Int32).AsTask().WaitAsync(Timeout);
        await sender.WriteAsync(1);
        await receiver.DisposeAsync();
        var e = await Assert.ThrowsAsync<ChannelClosedException>(() => sender.Closed.WaitAsync(Timeout));
        Assert.Contains("receiver stopped", e.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ChannelClosedException>(async () => await sender.WriteAsync(2));
        Assert.False(sender.TryWrite(3));
    }

    [Fact]
    public async Task Channels_are_independent_and_accepted_in_order()
    {
        await using var pair = SessionPair.Create();
        var a = await pair.Left.OpenSenderAsync(MessageCodec.String);
        var b = await pair.Left.OpenSenderAsync(MessageCodec.String);
        await b.WriteAsync("b1");
        await a.WriteAsync("a1");
        var ra = await pair.Right.AcceptReceiverAsync(MessageCodec.String).AsTask().WaitAsync(Timeout);
        var rb = await pair.Right.AcceptReceiverAsync(MessageCodec.String).AsTask().WaitAsync(Timeout);
        Assert.Equal("a1", await ra.ReadAsync().AsTask().WaitAsync(Timeout));
        Assert.Equal("b1", await rb.ReadAsync().AsTask().WaitAsync(Timeout));
    }

    [Fact]
    public async Task A_message_over_the_size_limit_fails_the_write_only()
    {
        await using var pair = SessionPair.Create(new MessageSessionOptions { MaxMessageSize = 1024 });
        var sender = await pair.Left.OpenSenderAsync(MessageCodec.Bytes);
        var receiver = await pair.Right.AcceptReceiverAsync(MessageCodec.Bytes).AsTask().WaitAsync(Timeout);
        var e = await Assert.ThrowsAsync<PeerException>(async () => await sender.WriteAsync(new byte[2000]));
        Assert.Equal(PeerError.LimitExceeded, e.Error);
        await sender.WriteAsync(new byte[10]);
        Assert.Equal(10, (await receiver.ReadAsync().AsTask().WaitAsync(Timeout))!.Length);
    }

    [Fact]
    public async Task Malformed_messages_fail_the_receiver_with_a_protocol_violation()
    {
        await using var pair = SessionPair.Create();
        // The sender encodes strings, the receiver expects ints: a decoding error, not a crash.
        var sender = await pair.Left.OpenSenderAsync(MessageCodec.String);
        var receiver = await pair.Right.AcceptReceiverAsync(MessageCodec.Int32).AsTask().WaitAsync(Timeout);
        await sender.WriteAsync("not a number");
        var e = await Assert.ThrowsAsync<PeerException>(() => receiver.Completion.WaitAsync(Timeout));
        Assert.Equal(PeerError.ProtocolViolation, e.Error);
        Assert.IsType<MessagePackException>(e.InnerException);
        // The sender learns the stream was reset.
        await Assert.ThrowsAnyAsync<Exception>(() => sender.Closed.WaitAsync(Timeout));
    }
}
