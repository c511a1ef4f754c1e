using System.Net;
using System.Net.Sockets;
using BenchmarkDotNet.Attributes;
using Pinhole.Dtls;

namespace Pinhole.Benchmarks;

/// <summary>
/// 1400-byte packets per second, one way over 127.0.0.1: plain UDP sockets vs one DTLS session on the same
/// kind of socket (UdpDatagramBind uses the same SendToAsync/ReceiveFromAsync calls as the baseline). The
/// sender keeps at most <see cref="Window"/> packets in flight so that the kernel never drops any; every
/// operation is one packet delivered. [IterationSetup] makes BenchmarkDotNet run one invocation
/// (20,000 packets) per iteration for every method alike.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 20)]
[MedianColumn]
public class DtlsBenchmark
{
    private const int PacketSize = 1400;
    private const int Packets = 20_000;
    private const int Window = 256;

    private readonly byte[] _packet = new byte[PacketSize];
    private SemaphoreSlim _inFlight = null!;

    // Plain UDP.
    private Socket _plainSender = null!;
    private Socket _plainReceiver = null!;
    private SocketAddress _plainTarget = null!;
    private CancellationTokenSource _stop = null!;

    // DTLS.
    private NodeIdentity _serverIdentity = null!;
    private NodeIdentity _clientIdentity = null!;
    private DtlsEndpoint _server = null!;
    private DtlsEndpoint _client = null!;
    private DtlsEndpoint _queueClient = null!;
    private DtlsConnection _clientConnection = null!;
    private DtlsConnection _queueConnection = null!;

    [GlobalSetup]
    public void Setup()
    {
        Random.Shared.NextBytes(_packet);
        _inFlight = new SemaphoreSlim(Window, Window);
        _stop = new CancellationTokenSource();

        _plainReceiver = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveBufferSize = 4 << 20 };
        _plainReceiver.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _plainSender = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { SendBufferSize = 4 << 20 };
        _plainSender.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _plainTarget = _plainReceiver.LocalEndPoint!.Serialize();
        _ = Task.Run(PlainReceiveLoopAsync);

        _serverIdentity = NodeIdentity.Generate();
        _clientIdentity = NodeIdentity.Generate();
        _server = DtlsEndpoint.Create(new DtlsEndpointOptions { Identity = _serverIdentity, Bind = UdpDatagramBind.Bind(new IPEndPoint(IPAddress.Loopback, 0)) });
        _client = DtlsEndpoint.Create(new DtlsEndpointOptions { Identity = _clientIdentity, Bind = UdpDatagramBind.Bind(new IPEndPoint(IPAddress.Loopback, 0)) });
        _queueClient = DtlsEndpoint.Create(new DtlsEndpointOptions { Identity = _clientIdentity, Bind = UdpDatagramBind.Bind(new IPEndPoint(IPAddress.Loopback, 0)) });
        DtlsListener listener = _server.Listen();

        // Session 1: packets go to a handler on the receive loop (like the plain receive loop).
        Task<DtlsConnection> accept = listener.AcceptAsync().AsTask();
        _clientConnection = _client.ConnectAsync(_server.LocalEndPoint, _serverIdentity.PeerId).GetAwaiter().GetResult();
        accept.GetAwaiter().GetResult().SetPacketHandler((_, _) => _inFlight.Release());

        // Session 2: packets are queued and read with ReceiveAsync by another task.
        accept = listener.AcceptAsync().AsTask();
        _queueConnection = _queueClient.ConnectAsync(_server.LocalEndPoint, _serverIdentity.PeerId).GetAwaiter().GetResult();
        DtlsConnection queued = accept.GetAwaiter().GetResult();
        _ = Task.Run(async () =>
        {
            byte[] buffer = new byte[2048];
            while (true)
            {
                await queued.ReceiveAsync(buffer);
                _inFlight.Release();
            }
        });
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _stop.Cancel();
        _plainSender.Dispose();
        _plainReceiver.Dispose();
        _client.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _queueClient.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _server.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _serverIdentity.Dispose();
        _clientIdentity.Dispose();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Packets)]
    public async Task PlainUdp()
    {
        for (int i = 0; i < Packets; i++)
        {
            await AcquireAsync();
            await _plainSender.SendToAsync(_packet, SocketFlags.None, _plainTarget);
        }
        await DrainAsync();
    }

    [Benchmark(OperationsPerInvoke = Packets)]
    public async Task DtlsHandler()
    {
        for (int i = 0; i < Packets; i++)
        {
            await AcquireAsync();
            await _clientConnection.SendAsync(_packet);
        }
        await DrainAsync();
    }

    [Benchmark(OperationsPerInvoke = Packets)]
    public async Task DtlsReceiveAsync()
    {
        for (int i = 0; i < Packets; i++)
        {
            await AcquireAsync();
            await _queueConnection.SendAsync(_packet);
        }
        await DrainAsync();
    }

    // No per-wait timeout (a timed WaitAsync allocates a timer each time and would tax whichever side waits
    // more); a lost packet instead fails the invocation after 30 s rather than hanging it.
    private CancellationToken _deadline;

    [IterationSetup]
    public void Deadline() => _deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token;

    private ValueTask AcquireAsync()
        => _inFlight.Wait(0) ? ValueTask.CompletedTask : new ValueTask(_inFlight.WaitAsync(_deadline));

    private async Task DrainAsync()
    {
        // Wait until every packet of this invocation has arrived (all permits back).
        for (int i = 0; i < Window; i++)
        {
            await _inFlight.WaitAsync(_deadline);
        }
        _inFlight.Release(Window);
    }

    private async Task PlainReceiveLoopAsync()
    {
        byte[] buffer = new byte[65536];
        SocketAddress from = new IPEndPoint(IPAddress.Any, 0).Serialize();
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await _plainReceiver.ReceiveFromAsync(buffer, SocketFlags.None, from, _stop.Token);
                _inFlight.Release();
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
        }
    }
}
