using System.Net;
using System.Net.Sockets;

namespace Pinhole.Reliability.Tests.Support;

/// <summary>What a hostile TCP client does once connected.</summary>
public enum AttackKind
{
    /// <summary>Connects and sends nothing.</summary>
    Silent,
    /// <summary>Sends the multistream-select header one byte at a time, slowly.</summary>
    Slowloris,
    /// <summary>Sends random bytes, then holds the connection.</summary>
    Garbage,
    /// <summary>Negotiates /tls/1.0.0 properly, then a TLS record header claiming 65,535 bytes, then nothing.</summary>
    OversizedRecord,
    /// <summary>Negotiates /tls/1.0.0, then a valid 16 KiB record header and a few bytes of it, then nothing.</summary>
    StalledRecord,
    /// <summary>Negotiates /tls/1.0.0, sends a real TLS 1.3 ClientHello, then never answers the server's flight.</summary>
    StalledAfterHello,
    /// <summary>The OCapN tcp-tls dialer's part: connects, reads the PEM preamble, sends nothing.</summary>
    SilentAfterPreamble,
    /// <summary>Every kind above except the OCapN one, in turn across the connections.</summary>
    Mixed,
}

/// <summary>
/// Many hostile connections against one listener, from many loopback source addresses (any 127.x.y.z is this
/// host). Each connection slot reconnects when the server closes it, so the attack keeps up its pressure until
/// disposed. Everything is bounded: slot count, reconnect pause, lifetime (the test's).
/// </summary>
public sealed class Attack : IAsyncDisposable
{
    private static readonly byte[] Header = Convert.FromHexString("132f6d756c746973747265616d2f312e302e300a");
    private static readonly byte[] TlsProposal = Convert.FromHexString("0b2f746c732f312e302e300a");

    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _slots = [];
    private int _open;
    private long _connects;
    private long _closedByServer;
    private long _failedConnects;
    private bool _multistream;

    private Attack()
    {
    }

    /// <summary>Attacker sockets connected right now.</summary>
    public int Open => Volatile.Read(ref _open);

    /// <summary>Connections made so far.</summary>
    public long Connects => Interlocked.Read(ref _connects);

    /// <summary>Times the server closed or reset an attacker connection.</summary>
    public long ClosedByServer => Interlocked.Read(ref _closedByServer);

    /// <summary>Attack slots still running: each keeps one hostile connection open or reconnecting until disposed.</summary>
    public int SlotsRunning => _slots.Count(t => !t.IsCompleted);

    /// <summary>Connect attempts that failed (backlog full, refused).</summary>
    public long FailedConnects => Interlocked.Read(ref _failedConnects);

    /// <summary>The source address of slot <paramref name="index"/> among <paramref name="addresses"/>: 127.1.x.y.</summary>
    public static IPAddress SourceAddress(int index, int addresses)
    {
        var a = index % addresses;
        return new IPAddress([127, 1, (byte)(a / 250), (byte)(a % 250 + 1)]);
    }

    /// <summary>Starts <paramref name="connections"/> hostile connections spread over <paramref name="addresses"/> source addresses.</summary>
    /// <param name="target">The listener.</param>
    /// <param name="kind">What each connection does.</param>
    /// <param name="connections">Connection slots (each reconnects when closed).</param>
    /// <param name="addresses">Source addresses the slots are spread over.</param>
    /// <param name="seed">For the garbage bytes.</param>
    /// <param name="multistream">False for a listener that speaks TLS at once (OCapN tcp-tls): no multistream prefix.</param>
    public static Attack Start(IPEndPoint target, AttackKind kind, int connections, int addresses, int seed = 1, bool multistream = true)
    {
        var attack = new Attack { _multistream = multistream };
        for (var i = 0; i < connections; i++)
        {
            var slotKind = kind == AttackKind.Mixed ? (AttackKind)(i % 6) : kind;
            var source = SourceAddress(i, addresses);
            var random = new Random(seed * 100_003 + i);
            attack._slots.Add(Task.Run(() => attack.RunSlotAsync(target, source, slotKind, random)));
        }
        return attack;
    }

    /// <summary>Waits until at least <paramref name="connects"/> connections were made (bounded by <paramref name="timeout"/>).</summary>
    public async Task WaitForConnectsAsync(long connects, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (Connects < connects)
        {
            await Task.Delay(20, cts.Token);
        }
    }

    private async Task RunSlotAsync(IPEndPoint target, IPAddress source, AttackKind kind, Random random)
    {
        var token = _stop.Token;
        while (!token.IsCancellationRequested)
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                socket.Bind(new IPEndPoint(source, 0));
                await socket.ConnectAsync(target, token);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
                Interlocked.Increment(ref _failedConnects);
                await PauseAsync(50, token);
                continue;
            }
            Interlocked.Increment(ref _connects);
            Interlocked.Increment(ref _open);
            try
            {
                await BehaveAsync(socket, kind, random, token);
                // Hold the connection until the server gives up on it.
                var buffer = new byte[512];
                while (await socket.ReceiveAsync(buffer, SocketFlags.None, token) > 0)
                {
                }
                Interlocked.Increment(ref _closedByServer);
            }
            catch (SocketException)
            {
                Interlocked.Increment(ref _closedByServer);
            }
            catch (OperationCanceledException)
            {
            }
            finally
            {
                Interlocked.Decrement(ref _open);
            }
            await PauseAsync(10, token);
        }
    }

    private static async Task PauseAsync(int milliseconds, CancellationToken token)
    {
        try
        {
            await Task.Delay(milliseconds, token);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task BehaveAsync(Socket socket, AttackKind kind, Random random, CancellationToken token)
    {
        byte[] prefix = _multistream ? [.. Header, .. TlsProposal] : [];
        switch (kind)
        {
            case AttackKind.Silent:
            case AttackKind.SilentAfterPreamble:
                return;
            case AttackKind.Slowloris:
                // One byte every 500 ms: the header alone would take 10 s, the whole upgrade minutes.
                _ = Task.Run(async () =>
                {
                    var slow = _multistream ? Header : [0x16, 0x03, 0x01, 0x01, 0x00, .. new byte[16]];
                    try
                    {
                        for (var i = 0; i < slow.Length && !token.IsCancellationRequested; i++)
                        {
                            await socket.SendAsync(slow.AsMemory(i, 1), SocketFlags.None, token);
                            await Task.Delay(500, token);
                        }
                    }
                    catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
                    {
                    }
                }, CancellationToken.None);
                return;
            case AttackKind.Garbage:
                var garbage = new byte[64];
                random.NextBytes(garbage);
                garbage[0] = 0x7f; // never a valid first byte of a short multistream message... nor a PEM
                await socket.SendAsync(garbage, SocketFlags.None, token);
                return;
            case AttackKind.OversizedRecord:
                await socket.SendAsync((byte[])[.. prefix, 0x16, 0x03, 0x01, 0xff, 0xff, 0x01], SocketFlags.None, token);
                return;
            case AttackKind.StalledRecord:
                await socket.SendAsync((byte[])[.. prefix, 0x16, 0x03, 0x01, 0x40, 0x00, 0x01, 0x00, 0x3f, 0xfc], SocketFlags.None, token);
                return;
            case AttackKind.StalledAfterHello:
                if (prefix.Length > 0)
                {
                    await socket.SendAsync(prefix, SocketFlags.None, token);
                }
                _ = SendClientHelloAsync(socket, token);
                return;
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, null);
        }
    }

    /// <summary>A client SslStream whose reads never complete: it sends its ClientHello and waits forever.</summary>
    public static async Task SendClientHelloAsync(Socket socket, CancellationToken token)
    {
        using var tls = new System.Net.Security.SslStream(new HelloOnlyStream(socket), leaveInnerStreamOpen: true);
        try
        {
            await tls.AuthenticateAsClientAsync(new System.Net.Security.SslClientAuthenticationOptions
            {
                TargetHost = "",
                EnabledSslProtocols = System.Security.Authentication.SslProtocols.Tls13,
                RemoteCertificateValidationCallback = (_, _, _, _) => true,
            }, token);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or System.Security.Authentication.AuthenticationException or ObjectDisposedException or SocketException)
        {
        }
    }

    private sealed class HelloOnlyStream(Socket socket) : Stream
    {
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
            return 0;
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
            await socket.SendAsync(buffer, SocketFlags.None, cancellationToken);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => socket.Send(buffer, offset, count, SocketFlags.None);

        public override void Flush()
        {
        }

        public override bool CanRead => true;

        public override bool CanWrite => true;

        public override bool CanSeek => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_slots).WaitAsync(TimeSpan.FromSeconds(60));
        _stop.Dispose();
    }
}
