using BenchmarkDotNet.Attributes;
using Pinhole.Messaging;
using Pinhole.Messaging.MessagePack;

namespace Pinhole.Benchmarks;

/// <summary>
/// Request/reply round trips over TLS + yamux on loopback TCP, against a bare SslStream ping-pong of 64 bytes:
/// ping-pong on two long-lived channels, and RequestReply (each request carries a fresh reply channel,
/// which costs a new stream).
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 2, iterationCount: 6)]
public class MessagingLatencyBenchmark
{
    private const int RoundTrips = 200;
    private readonly byte[] _ping = new byte[64];
    private readonly byte[] _pong = new byte[64];
    private MessagingPeers _peers = null!;
    private Sender<int> _pings = null!;
    private Receiver<int> _pongs = null!;
    private Sender<Request<int, int>> _requests = null!;
    private Task _echo = null!;
    private Task _responder = null!;

    [GlobalSetup]
    public async Task Setup()
    {
        _peers = await MessagingPeers.CreateAsync();
        _pings = await _peers.ClientSession.OpenSenderAsync(MessageCodec.Int32);
        var serverPings = await _peers.ServerSession.AcceptReceiverAsync(MessageCodec.Int32);
        var serverPongs = await _peers.ServerSession.OpenSenderAsync(MessageCodec.Int32);
        _pongs = await _peers.ClientSession.AcceptReceiverAsync(MessageCodec.Int32);
        _echo = Task.Run(async () =>
        {
            await foreach (var ping in serverPings)
            {
                await serverPongs.WriteAsync(ping);
            }
        });
        var codec = RequestReply.Codec(MessageCodec.Int32, MessageCodec.Int32);
        _requests = await _peers.ClientSession.OpenSenderAsync(codec);
        var incoming = await _peers.ServerSession.AcceptReceiverAsync(codec);
        _responder = Task.Run(async () =>
        {
            await foreach (var request in incoming)
            {
                await request.ReplyAsync(request.Body + 1);
            }
        });
        _ = _peers.SslServer; // the SslStream echo runs inside the benchmark method
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        _pings.TryComplete();
        _requests.TryComplete();
        await _peers.DisposeAsync();
    }

    [Benchmark(Baseline = true, Description = "SslStream ping-pong x200")]
    public async Task SslPingPong()
    {
        var echo = Task.Run(async () =>
        {
            var buffer = new byte[64];
            for (int i = 0; i < RoundTrips; i++)
            {
                await _peers.SslServer.ReadExactlyAsync(buffer);
                await _peers.SslServer.WriteAsync(buffer);
            }
        });
        for (int i = 0; i < RoundTrips; i++)
        {
            await _peers.SslClient.WriteAsync(_ping);
            await _peers.SslClient.ReadExactlyAsync(_pong);
        }
        await echo;
    }

    [Benchmark(Description = "channel ping-pong x200")]
    public async Task ChannelPingPong()
    {
        for (int i = 0; i < RoundTrips; i++)
        {
            await _pings.WriteAsync(i);
            if (await _pongs.ReadAsync() != i)
            {
                throw new InvalidOperationException("out of order");
            }
        }
    }

    [Benchmark(Description = "RequestAsync (new reply channel) x200")]
    public async Task RequestReplyRoundTrips()
    {
        for (int i = 0; i < RoundTrips; i++)
        {
            if (await _requests.RequestAsync(i) != i + 1)
            {
                throw new InvalidOperationException("wrong reply");
            }
        }
    }
}
