using System.Buffers;
using System.IO.Pipelines;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging.Abstractions;
using Pinhole.Transport.Yamux;

namespace Pinhole.Benchmarks;

/// <summary>
/// 64 MiB through yamux over an in-memory pipe pair, on one stream and spread over 64 streams, against
/// writing the same bytes straight through the pipe pair (the baseline; the ratio column is the cost of yamux).
/// </summary>
[MemoryDiagnoser]
public class YamuxBenchmark
{
    private const int Total = 64 * 1024 * 1024;
    private const int Chunk = 256 * 1024;
    private readonly byte[] _chunk = new byte[Chunk];
    private InMemoryDuplex _rawLeft = null!;
    private InMemoryDuplex _rawRight = null!;
    private YamuxSession _client = null!;
    private YamuxSession _server = null!;

    [GlobalSetup]
    public void Setup()
    {
        new Random(1).NextBytes(_chunk);
        (_rawLeft, _rawRight) = InMemoryDuplex.CreatePair();
        var (left, right) = InMemoryDuplex.CreatePair();
        _client = new YamuxSession(left, isClient: true, new YamuxSessionOptions(), TimeProvider.System, NullLogger.Instance);
        _server = new YamuxSession(right, isClient: false, new YamuxSessionOptions(), TimeProvider.System, NullLogger.Instance);
        _client.Start();
        _server.Start();
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        await _client.DisposeAsync();
        await _server.DisposeAsync();
        await _rawLeft.DisposeAsync();
        await _rawRight.DisposeAsync();
    }

    [Benchmark(Baseline = true, Description = "raw pipe pair, 64 MiB")]
    public async Task RawPipe()
    {
        var reading = Task.Run(() => DrainAsync(_rawRight, Total));
        for (var sent = 0; sent < Total; sent += Chunk)
        {
            await _rawLeft.WriteAsync(_chunk);
        }
        await reading;
    }

    [Benchmark(Description = "yamux, 1 stream, 64 MiB")]
    public Task YamuxOneStream() => TransferAsync(streams: 1);

    [Benchmark(Description = "yamux, 64 streams x 1 MiB")]
    public Task Yamux64Streams() => TransferAsync(streams: 64);

    private async Task TransferAsync(int streams)
    {
        var perStream = Total / streams;
        var receiving = Task.Run(async () =>
        {
            var readers = new Task[streams];
            for (var i = 0; i < streams; i++)
            {
                var stream = await _server.AcceptStreamAsync(CancellationToken.None);
                readers[i] = Task.Run(async () =>
                {
                    await using (stream)
                    {
                        await DrainAsync(stream, perStream);
                    }
                });
            }
            await Task.WhenAll(readers);
        });
        var sending = new Task[streams];
        for (var i = 0; i < streams; i++)
        {
            sending[i] = Task.Run(async () =>
            {
                await using var stream = await _client.OpenStreamAsync(CancellationToken.None);
                for (var sent = 0; sent < perStream; sent += Math.Min(Chunk, perStream))
                {
                    await stream.WriteAsync(_chunk.AsMemory(0, Math.Min(Chunk, perStream)));
                }
                stream.CompleteWrites();
            });
        }
        await Task.WhenAll(sending);
        await receiving;
    }

    private static async Task DrainAsync(Stream stream, long expected)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(Chunk);
        long received = 0;
        while (received < expected)
        {
            var read = await stream.ReadAsync(buffer.AsMemory(0, Chunk));
            if (read == 0)
            {
                throw new InvalidOperationException($"Stream ended after {received} of {expected} bytes.");
            }
            received += read;
        }
        ArrayPool<byte>.Shared.Return(buffer);
    }

    /// <summary>One end of an in-memory connection made of two pipes.</summary>
    private sealed class InMemoryDuplex(PipeReader input, PipeWriter output) : Stream
    {
        public static (InMemoryDuplex, InMemoryDuplex) CreatePair()
        {
            var options = new PipeOptions(pauseWriterThreshold: 1024 * 1024, resumeWriterThreshold: 512 * 1024, useSynchronizationContext: false);
            var a = new Pipe(options);
            var b = new Pipe(options);
            return (new InMemoryDuplex(b.Reader, a.Writer), new InMemoryDuplex(a.Reader, b.Writer));
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var result = await input.ReadAsync(cancellationToken);
            var data = result.Buffer;
            var count = (int)Math.Min(data.Length, buffer.Length);
            data.Slice(0, count).CopyTo(buffer.Span);
            input.AdvanceTo(data.GetPosition(count));
            return count;
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
            await output.WriteAsync(buffer, cancellationToken);

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();
        public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                output.Complete();
                input.CancelPendingRead();
            }
            base.Dispose(disposing);
        }
    }
}
