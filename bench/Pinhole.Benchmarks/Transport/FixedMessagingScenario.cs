using Pinhole.Messaging;
using Pinhole.Messaging.MessagePack;

namespace Pinhole.Benchmarks.Transport;

/// <summary>Fixed amounts of message work for <c>fixed requests|pingpong|small</c> (see <see cref="FixedWorkScenario"/>).</summary>
internal static class FixedMessagingScenario
{
    /// <summary><paramref name="count"/> request/reply round trips, each with a new reply channel (stream).</summary>
    public static async Task RequestsAsync(int count)
    {
        await using var peers = await MessagingPeers.CreateAsync();
        var codec = RequestReply.Codec(MessageCodec.Int32, MessageCodec.Int32);
        var requests = await peers.ClientSession.OpenSenderAsync(codec);
        var incoming = await peers.ServerSession.AcceptReceiverAsync(codec);
        var responder = Task.Run(async () =>
        {
            await foreach (var request in incoming)
            {
                await request.ReplyAsync(request.Body + 1);
            }
        });
        for (var i = 0; i < count; i++)
        {
            if (await requests.RequestAsync(i) != i + 1)
            {
                throw new InvalidOperationException("Wrong reply.");
            }
        }
        requests.TryComplete();
        await requests.DisposeAsync();
        await responder.WaitAsync(Harness.Timeout);
        await incoming.DisposeAsync();
    }

    /// <summary><paramref name="count"/> 64-byte round trips on the bare SslStream pair.</summary>
    public static async Task PingPongAsync(int count)
    {
        await using var peers = await MessagingPeers.CreateAsync();
        var echo = Task.Run(async () =>
        {
            var buffer = new byte[64];
            for (var i = 0; i < count; i++)
            {
                await peers.SslServer.ReadExactlyAsync(buffer);
                await peers.SslServer.WriteAsync(buffer);
            }
        });
        var ping = new byte[64];
        for (var i = 0; i < count; i++)
        {
            await peers.SslClient.WriteAsync(ping);
            await peers.SslClient.ReadExactlyAsync(ping);
        }
        await echo.WaitAsync(Harness.Timeout);
    }

    /// <summary><paramref name="count"/> 64-byte messages on one channel, read as they come.</summary>
    public static async Task SmallAsync(int count)
    {
        await using var peers = await MessagingPeers.CreateAsync();
        var sender = await peers.ClientSession.OpenSenderAsync(MessageCodec.Memory);
        var receiver = await peers.ServerSession.AcceptReceiverAsync(MessageCodec.Memory);
        var reading = Task.Run(async () =>
        {
            var received = 0;
            while (received < count && await receiver.WaitToReadAsync())
            {
                while (receiver.TryRead(out _))
                {
                    received++;
                }
            }
        });
        ReadOnlyMemory<byte> payload = new byte[64];
        for (var i = 0; i < count; i++)
        {
            if (!sender.TryWrite(payload))
            {
                await sender.WriteAsync(payload);
            }
        }
        await sender.DisposeAsync();
        await reading.WaitAsync(Harness.Timeout);
        await receiver.DisposeAsync();
    }
}
