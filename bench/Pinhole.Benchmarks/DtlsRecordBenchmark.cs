using System.Buffers;
using System.Net;
using BenchmarkDotNet.Attributes;
using Pinhole.Dtls;

namespace Pinhole.Benchmarks;

/// <summary>
/// The DTLS record layer alone, no sockets: encrypting one 1400-byte packet (SSL_write + BIO_read under the
/// session lock) and encrypting plus decrypting it on the peer session (BIO_write + SSL_read). Shows what
/// OpenSSL costs per packet, apart from the kernel.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 10)]
public class DtlsRecordBenchmark
{
    private readonly byte[] _packet = new byte[1400];
    private NodeIdentity _a = null!;
    private NodeIdentity _b = null!;
    private DtlsEndpoint _server = null!;
    private DtlsEndpoint _client = null!;
    private DtlsConnection _sender = null!;
    private DtlsConnection _receiver = null!;

    [GlobalSetup]
    public void Setup()
    {
        var network = new MemoryDatagramNetwork();
        _a = NodeIdentity.Generate();
        _b = NodeIdentity.Generate();
        _server = DtlsEndpoint.Create(new DtlsEndpointOptions { Identity = _a, Bind = network.CreateBind(new IPEndPoint(IPAddress.Parse("10.0.0.1"), 1)) });
        _client = DtlsEndpoint.Create(new DtlsEndpointOptions { Identity = _b, Bind = network.CreateBind(new IPEndPoint(IPAddress.Parse("10.0.0.2"), 1)) });
        DtlsListener listener = _server.Listen();
        Task<DtlsConnection> accept = listener.AcceptAsync().AsTask();
        _sender = _client.ConnectAsync(_server.LocalEndPoint, _a.PeerId).GetAwaiter().GetResult();
        _receiver = accept.GetAwaiter().GetResult();
        _receiver.SetPacketHandler((_, _) => { });
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _client.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _server.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _a.Dispose();
        _b.Dispose();
    }

    [Benchmark]
    public int Encrypt()
    {
        byte[] datagram = _sender.Core.Encrypt(_packet, out int length);
        ArrayPool<byte>.Shared.Return(datagram);
        return length;
    }

    [Benchmark]
    public int EncryptDecrypt()
    {
        byte[] datagram = _sender.Core.Encrypt(_packet, out int length);
        _receiver.Core.OnDatagram(datagram.AsSpan(0, length));
        ArrayPool<byte>.Shared.Return(datagram);
        return length;
    }
}
