using System.Threading.Channels;
using Pinhole.Messaging.MessagePack;
using Pinhole.Messaging.Tests.Support;

namespace Pinhole.Messaging.Tests.Channels;

public class FailureAndBackPressureTests
{
    private static readonly TimeSpan Timeout = SessionPair.Timeout;

    [Fact]
    public async Task Connection_loss_fails_every_pending_operation()
    {
        await using var pair = SessionPair.Create(maxStreamWindow: 256 * 1024);
        var bytes = MessageCodec.Bytes;
        // A sender blocked by back-pressure (nobody reads its receiver).
        var blocked = await pair.Left.OpenSenderAsync(bytes);
        var blockedReceiver = await pair.Right.AcceptReceiverAsync(bytes).AsTask().WaitAsync(Timeout);
        var blockedWrites = Task.Run(async () =>
        {
            while (true)
            {
                await blocked.WriteAsync(new byte[64 * 1024]);
            }
        });
        // A receiver waiting for a message that will never come.
        var idle = await pair.Right.OpenSenderAsync(MessageCodec.Int32);
        var idleReceiver = await pair.Left.AcceptReceiverAsync(MessageCodec.Int32).AsTask().WaitAsync(Timeout);
        var pendingRead = idleReceiver.ReadAsync().AsTask();
        // A nested channel whose stream is still pending, and an accept with nothing to accept.
        var pendingAccept = pair.Left.AcceptReceiverAsync(MessageCodec.Int32).AsTask();
        var (nestedSender, nestedReceiver) = MessageChannel.CreatePipe<int>();
        var withNested = await pair.Left.OpenSenderAsync(ChannelCodec.Sender(MessageCodec.Int32));
        await withNested.WriteAsync(nestedSender);
        var nestedOnRight = await (await pair.Right.AcceptReceiverAsync(ChannelCodec.Sender(MessageCodec.Int32)).AsTask().WaitAsync(Timeout)).ReadAsync().AsTask().WaitAsync(Timeout);
        Assert.False(blockedWrites.IsCompleted);

        await pair.LeftConnection.DisposeAsync(); // the connection dies under everyone

        await Assert.ThrowsAnyAsync<IOException>(() => blockedWrites.WaitAsync(Timeout));
        await AssertFailsWithIOException(pendingRead, "pendingRead");
        await AssertFailsWithIOException(pendingAccept, "pendingAccept");
        await AssertFailsWithIOException(blocked.Closed, "blocked.Closed");
        // Messages already buffered can still be read; then the loss surfaces.
        await AssertFailsWithIOException(Task.Run(async () =>
        {
            await foreach (var _ in blockedReceiver)
            {
            }
        }), "reading blockedReceiver");
        await AssertFailsWithIOException(idle.Closed, "idle.Closed");
        await AssertFailsWithIOException(nestedReceiver.Completion, "nestedReceiver.Completion");
        await Assert.ThrowsAnyAsync<Exception>(async () => await nestedOnRight.WriteAsync(1).AsTask().WaitAsync(Timeout));
        await Assert.ThrowsAnyAsync<Exception>(async () => await pair.Left.OpenSenderAsync(MessageCodec.Int32).AsTask().WaitAsync(Timeout));
    }

    private static async Task AssertFailsWithIOException(Task task, string what)
    {
        var e = await Assert.ThrowsAnyAsync<Exception>(() => task.WaitAsync(Timeout));
        var cause = e is ChannelClosedException { InnerException: { } inner } ? inner : e;
        Assert.True(cause is IOException, $"{what}: {cause.GetType().Name}: {cause.Message}");
    }

    [Fact]
    public async Task A_slow_receiver_slows_the_sender_with_bounded_buffering()
    {
        const int MessageSize = 64 * 1024;
        const int Window = 256 * 1024;
        var options = new MessageSessionOptions { SendBufferSize = 256 * 1024, ReceiveCapacity = 4 };
        await using var pair = SessionPair.Create(options, maxStreamWindow: Window);
        var sender = await pair.Left.OpenSenderAsync(MessageCodec.Bytes);
        var receiver = await pair.Right.AcceptReceiverAsync(MessageCodec.Bytes).AsTask().WaitAsync(Timeout);
        int written = 0;
        var writer = Task.Run(async () =>
        {
            for (int i = 0; i < 2000; i++) // 125 MiB if nothing pushed back
            {
                var message = new byte[MessageSize];
                BitConverter.TryWriteBytes(message, i);
                await sender.WriteAsync(message);
                Interlocked.Increment(ref written);
            }
            sender.TryComplete();
        });
        // Wait until the writer stalls: no progress while nobody reads.
        int last = -1;
        for (int attempt = 0; attempt < 100 && Volatile.Read(ref written) != last; attempt++)
        {
            last = Volatile.Read(ref written);
            await Task.Delay(100);
        }
        Assert.False(writer.IsCompleted);
        // What can be in flight: the send buffer, the stream window, the receiver's pipe read buffer and its queue.
        long bound = options.SendBufferSize + Window + 64 * 1024 + (options.ReceiveCapacity + 2) * (long)MessageSize;
        Assert.InRange((long)written * MessageSize, 0, bound + MessageSize);
        // Reading drains it all, in order.
        int expected = 0;
        await foreach (var message in receiver.WithCancellation(new CancellationTokenSource(Timeout).Token))
        {
            Assert.Equal(expected++, BitConverter.ToInt32(message!));
        }
        Assert.Equal(2000, expected);
        await writer.WaitAsync(Timeout);
    }

    [Fact]
    public async Task A_message_naming_a_stream_that_never_comes_fails_instead_of_hanging()
    {
        var options = new MessageSessionOptions { AttachmentTimeout = TimeSpan.FromMilliseconds(300) };
        await using var pair = SessionPair.Create(options);
        // A hostile or broken peer: an ext 4 (Sender) value with an id for which it opens no stream.
        var forged = MessageCodec.Create((ref MessagePackWriter w, int id) => w.WriteExtension(4, [(byte)id]), (ref MessagePackReader r) => 0);
        var sender = await pair.Left.OpenSenderAsync(forged);
        var receiver = await pair.Right.AcceptReceiverAsync(ChannelCodec.Sender(MessageCodec.Int32)).AsTask().WaitAsync(Timeout);
        await sender.WriteAsync(99);
        var dangling = await receiver.ReadAsync().AsTask().WaitAsync(Timeout);
        var e = await Assert.ThrowsAsync<PeerException>(() => dangling.Closed.WaitAsync(Timeout));
        Assert.Equal(PeerError.Timeout, e.Error);
        await Assert.ThrowsAsync<PeerException>(async () => await dangling.WriteAsync(1).AsTask().WaitAsync(Timeout));
    }
}
