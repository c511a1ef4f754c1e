using System.Buffers;
using System.IO.Pipelines;
using BenchmarkDotNet.Attributes;
using Pinhole.Messaging;
using Pinhole.Messaging.MessagePack;

namespace Pinhole.Benchmarks;

/// <summary>
/// Bulk and small-message throughput on one channel over TLS + yamux on loopback TCP, against a bare SslStream:
/// 64 MiB as 64 KiB messages, and 200 000 messages of 64 bytes (the baseline batches them through a pipe).
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 2, iterationCount: 6)]
public class MessagingThroughputBenchmark
{
    private const int BulkSize = 64 * 1024;
    private const int BulkCount = 1024;
    private const int SmallSize = 64;
    private const int SmallCount = 200_000;
    private readonly byte[] _bulk = new byte[BulkSize];
    private readonly byte[] _small = new byte[SmallSize];
    private MessagingPeers _peers = null!;

    [GlobalSetup]
    public async Task Setup()
    {
        new Random(1).NextBytes(_bulk);
        new Random(2).NextBytes(_small);
        _peers = await MessagingPeers.CreateAsync();
    }

    [GlobalCleanup]
    public async Task Cleanup() => await _peers.DisposeAsync();

    [Benchmark(Description = "SslStream, 64 MiB in 64 KiB writes")]
    public async Task SslBulk()
    {
        var reading = DrainAsync(_peers.SslServer, (long)BulkSize * BulkCount);
        for (int i = 0; i < BulkCount; i++)
        {
            await _peers.SslClient.WriteAsync(_bulk);
        }
        await reading;
    }

    [Benchmark(Description = "channel, 1024 messages of 64 KiB")]
    public async Task ChannelBulk()
    {
        var sender = await _peers.ClientSession.OpenSenderAsync(MessageCodec.Memory);
        var receiver = await _peers.ServerSession.AcceptReceiverAsync(MessageCodec.Memory);
        var reading = CountAsync(receiver, BulkCount);
        for (int i = 0; i < BulkCount; i++)
        {
            await sender.WriteAsync(_bulk);
        }
        await sender.DisposeAsync();
        await reading;
        await receiver.DisposeAsync();
    }

    [Benchmark(Description = "channel, 1024 x 64 KiB, receiver skips the bytes")]
    public async Task ChannelBulkNoCopy()
    {
        var sender = await _peers.ClientSession.OpenSenderAsync(MessageCodec.Memory);
        var receiver = await _peers.ServerSession.AcceptReceiverAsync(LengthOnly);
        var reading = CountAsync(receiver, BulkCount);
        for (int i = 0; i < BulkCount; i++)
        {
            await sender.WriteAsync(_bulk);
        }
        await sender.DisposeAsync();
        await reading;
        await receiver.DisposeAsync();
    }

    /// <summary>Reads a bin value's length without copying it: what a consumer that processes in place costs.</summary>
    private static readonly IMessageCodec<long> LengthOnly = MessageCodec.Create(
        (ref MessagePackWriter w, long v) => throw new NotSupportedException(),
        (ref MessagePackReader r) => r.ReadBytes().Length);

    [Benchmark(Description = "SslStream + pipe batching, 200k x 64 B")]
    public async Task SslSmall()
    {
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 256 * 1024, resumeWriterThreshold: 128 * 1024, useSynchronizationContext: false));
        var pump = PumpAsync(pipe.Reader, _peers.SslClient);
        var reading = DrainAsync(_peers.SslServer, (long)SmallSize * SmallCount);
        for (int i = 0; i < SmallCount; i++)
        {
            pipe.Writer.Write(_small);
            var flush = pipe.Writer.FlushAsync();
            if (!flush.IsCompleted)
            {
                await flush;
            }
        }
        await pipe.Writer.CompleteAsync();
        await pump;
        await reading;
    }

    [Benchmark(Description = "channel, 200k messages of 64 B")]
    public async Task ChannelSmall()
    {
        var sender = await _peers.ClientSession.OpenSenderAsync(MessageCodec.Memory);
        var receiver = await _peers.ServerSession.AcceptReceiverAsync(MessageCodec.Memory);
        var reading = CountAsync(receiver, SmallCount);
        for (int i = 0; i < SmallCount; i++)
        {
            if (!sender.TryWrite(_small))
            {
                await sender.WriteAsync(_small);
            }
        }
        await sender.DisposeAsync();
        await reading;
        await receiver.DisposeAsync();
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
        await stream.FlushAsync();
        await reader.CompleteAsync();
    }

    private static async Task CountAsync<T>(Receiver<T> receiver, int expected)
    {
        int count = 0;
        while (count < expected && await receiver.WaitToReadAsync())
        {
            while (receiver.TryRead(out _))
            {
                count++;
            }
        }
        if (count != expected)
        {
            throw new InvalidOperationException($"Received {count} of {expected} messages.");
        }
    }

    private static async Task DrainAsync(Stream stream, long expected)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(256 * 1024);
        long received = 0;
        while (received < expected)
        {
            int n = await stream.ReadAsync(buffer);
            if (n == 0)
            {
                throw new InvalidOperationException("Stream ended early.");
            }
            received += n;
        }
        ArrayPool<byte>.Shared.Return(buffer);
    }
}
