using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using Pinhole.Messaging;
using Pinhole.Messaging.MessagePack;

namespace Pinhole.Benchmarks.Transport;

/// <summary>
/// Message channels (issue 5's targets) in the per-round harness, against a bare SslStream pair in the same
/// process (<see cref="MessagingPeers"/>): 64 KiB messages vs 64 KiB SslStream writes, 64-byte messages vs
/// 64-byte records batched through a pipe, and request/reply with a new reply channel (a new stream) per request
/// vs a 64-byte SslStream ping-pong. Each figure comes with the process CPU time per unit of work.
/// </summary>
internal static class MessagingScenario
{
    private const int BulkSize = 64 * 1024;
    private const int SmallSize = 64;

    /// <summary>CPU seconds per GiB (bulk), or CPU µs per message / per round trip, of the last measurement.</summary>
    public static double LastCpuPerUnit { get; private set; }

    /// <summary>Bytes per second: 64 KiB SslStream writes.</summary>
    public static Task<double> BareBulkAsync(MessagingPeers peers, TimeSpan duration) =>
        MeasureAsync(duration, perGiB: true, async (count, stop) =>
        {
            var buffer = Payload(BulkSize);
            var reading = DrainAsync(peers.SslServer, count, BulkSize);
            long written = 0;
            while (!stop.IsCancellationRequested)
            {
                await peers.SslClient.WriteAsync(buffer, CancellationToken.None);
                written += BulkSize;
            }
            // Announced before the last block goes out, so the reader knows when it has everything.
            Volatile.Write(ref count.Total, written + BulkSize);
            await peers.SslClient.WriteAsync(buffer, CancellationToken.None);
            await reading;
        });

    /// <summary>Bytes per second: 64 KiB messages on one channel, received as pooled leases
    /// (<see cref="MessageCodec.PooledMemory"/>, the codec meant for bulk payloads; each lease is disposed once counted).</summary>
    public static Task<double> ChannelBulkAsync(MessagingPeers peers, TimeSpan duration) =>
        ChannelAsync(peers, duration, BulkSize, perGiB: true, MessageCodec.PooledMemory,
            payload => new ArrayLease(payload), static lease => { var length = lease.Memory.Length; lease.Dispose(); return length; });

    /// <summary>Bytes per second: 64 KiB messages on one channel, each received into a new array (<see cref="MessageCodec.Memory"/>).</summary>
    public static Task<double> ChannelBulkArraysAsync(MessagingPeers peers, TimeSpan duration) =>
        ChannelAsync(peers, duration, BulkSize, perGiB: true, MessageCodec.Memory, static payload => payload, static message => message.Length);

    /// <summary>Messages per second: 64-byte records through a pipe into SslStream (the pump batches them).</summary>
    public static Task<double> BareSmallAsync(MessagingPeers peers, TimeSpan duration) =>
        MeasureAsync(duration, perGiB: false, async (count, stop) =>
        {
            var payload = Payload(SmallSize);
            var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 256 * 1024, resumeWriterThreshold: 128 * 1024, useSynchronizationContext: false));
            var pump = PumpAsync(pipe.Reader, peers.SslClient);
            var reading = DrainAsync(peers.SslServer, count, SmallSize);
            long written = 0;
            while (!stop.IsCancellationRequested)
            {
                pipe.Writer.Write(payload);
                written += SmallSize;
                var flush = pipe.Writer.FlushAsync(CancellationToken.None);
                if (!flush.IsCompleted)
                {
                    await flush;
                }
            }
            Volatile.Write(ref count.Total, written + SmallSize);
            pipe.Writer.Write(payload);
            await pipe.Writer.CompleteAsync();
            await pump;
            await reading;
        });

    /// <summary>Messages per second: 64-byte messages on one channel.</summary>
    public static Task<double> ChannelSmallAsync(MessagingPeers peers, TimeSpan duration) =>
        ChannelAsync(peers, duration, SmallSize, perGiB: false, MessageCodec.Memory, static payload => payload, static message => message.Length);

    /// <summary>Microseconds per round trip: 64 bytes out and back on the bare SslStream pair.</summary>
    public static async Task<double> BarePingPongAsync(MessagingPeers peers, TimeSpan duration)
    {
        var rate = await MeasureAsync(duration, perGiB: false, async (count, stop) =>
        {
            var echo = Task.Run(async () =>
            {
                var buffer = new byte[SmallSize];
                while (true)
                {
                    await peers.SslServer.ReadExactlyAsync(buffer);
                    await peers.SslServer.WriteAsync(buffer);
                    if (buffer[0] == 1)
                    {
                        return;
                    }
                }
            }, CancellationToken.None);
            var ping = new byte[SmallSize];
            while (true)
            {
                ping[0] = stop.IsCancellationRequested ? (byte)1 : (byte)0;
                await peers.SslClient.WriteAsync(ping, CancellationToken.None);
                await peers.SslClient.ReadExactlyAsync(ping, CancellationToken.None);
                Interlocked.Increment(ref count.Value);
                if (ping[0] == 1)
                {
                    break;
                }
            }
            await echo;
        });
        return 1e6 / rate;
    }

    /// <summary>Microseconds per round trip: <see cref="RequestReply.RequestAsync{TRequest, TResponse}"/>, a new reply channel (stream) each time.</summary>
    public static async Task<double> RequestReplyAsync(MessagingPeers peers, TimeSpan duration)
    {
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
        var rate = await MeasureAsync(duration, perGiB: false, async (count, stop) =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                if (await requests.RequestAsync(i, CancellationToken.None) != i + 1)
                {
                    throw new InvalidOperationException("Wrong reply.");
                }
                Interlocked.Increment(ref count.Value);
            }
        });
        requests.TryComplete();
        await requests.DisposeAsync();
        await responder.WaitAsync(Harness.Timeout);
        await incoming.DisposeAsync();
        return 1e6 / rate;
    }

    private static async Task<double> ChannelAsync<T>(MessagingPeers peers, TimeSpan duration, int size, bool perGiB,
        IMessageCodec<T> codec, Func<byte[], T> message, Func<T, int> consume)
    {
        var sender = await peers.ClientSession.OpenSenderAsync(codec);
        var receiver = await peers.ServerSession.AcceptReceiverAsync(codec);
        try
        {
            return await MeasureAsync(duration, perGiB, async (count, stop) =>
            {
                var payload = message(Payload(size));
                var reading = Task.Run(async () =>
                {
                    while (await receiver.WaitToReadAsync())
                    {
                        while (receiver.TryRead(out var received))
                        {
                            var length = consume(received);
                            Interlocked.Add(ref count.Value, perGiB ? length : 1);
                        }
                    }
                }, CancellationToken.None);
                while (!stop.IsCancellationRequested)
                {
                    if (!sender.TryWrite(payload))
                    {
                        await sender.WriteAsync(payload, CancellationToken.None);
                    }
                }
                await sender.DisposeAsync();
                await reading.WaitAsync(Harness.Timeout, CancellationToken.None);
            });
        }
        finally
        {
            await receiver.DisposeAsync();
        }
    }

    private static byte[] Payload(int size)
    {
        var payload = new byte[size];
        new Random(size).NextBytes(payload);
        return payload;
    }

    /// <summary>The sender's payload as a lease (the codec only reads it; never disposed).</summary>
    private sealed class ArrayLease(byte[] array) : IMemoryOwner<byte>
    {
        public Memory<byte> Memory => array;

        public void Dispose()
        {
        }
    }

    private sealed class Counter
    {
        public long Value;

        /// <summary>Bytes the bare writer sent in all, once it has stopped; -1 before.</summary>
        public long Total = -1;
    }

    /// <summary>Runs <paramref name="work"/> (which counts units into the counter until stopped) for a warm-up and
    /// <paramref name="duration"/>; returns units per second over the measured part and records the CPU per unit.</summary>
    private static async Task<double> MeasureAsync(TimeSpan duration, bool perGiB, Func<Counter, CancellationToken, Task> work)
    {
        var count = new Counter();
        using var stop = new CancellationTokenSource();
        var running = Task.Run(() => work(count, stop.Token));
        await Task.Delay(Harness.WarmUp);
        var start = Interlocked.Read(ref count.Value);
        var cpu = Harness.CpuTime();
        var clock = Stopwatch.StartNew();
        await Task.Delay(duration);
        var units = Interlocked.Read(ref count.Value) - start;
        var seconds = clock.Elapsed.TotalSeconds;
        var cpuSeconds = (Harness.CpuTime() - cpu).TotalSeconds;
        LastCpuPerUnit = perGiB ? cpuSeconds / (units / (double)(1 << 30)) : cpuSeconds * 1e6 / units;
        await stop.CancelAsync();
        await running.WaitAsync(Harness.Timeout);
        return units / seconds;
    }

    /// <summary>Reads until the writer has stopped and everything it sent has arrived; counts bytes (bulk) or records of <paramref name="unit"/> bytes.</summary>
    private static async Task DrainAsync(Stream stream, Counter count, int unit)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(256 * 1024);
        long received = 0;
        try
        {
            while (true)
            {
                var n = await stream.ReadAsync(buffer);
                if (n == 0)
                {
                    throw new IOException("The bare stream ended early.");
                }
                received += n;
                Interlocked.Exchange(ref count.Value, unit == BulkSize ? received : received / unit);
                var total = Volatile.Read(ref count.Total);
                if (total >= 0 && received >= total)
                {
                    return;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static async Task PumpAsync(PipeReader reader, Stream stream)
    {
        while (true)
        {
            var result = await reader.ReadAsync();
            foreach (var segment in result.Buffer)
            {
                await stream.WriteAsync(segment);
            }
            reader.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                break;
            }
        }
        await reader.CompleteAsync();
    }
}
