using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Threading.Channels;

namespace Pinhole.Benchmarks.Transport;

/// <summary>
/// The baseline: a bare SslStream over TCP "configured as well as it can be" — TLS 1.3, mutual
/// authentication with the same libp2p certificates Pinhole uses (one <see cref="SslStreamCertificateContext"/>
/// per side, made once), and a <see cref="X509ChainPolicy"/> that trusts an empty custom root store so no
/// system store is searched. No ALPN, no SNI. The validation callback accepts any presented certificate.
/// With <c>pinholeTls</c> it is configured as Pinhole's TLS layer is (a breakdown row, not the baseline): the
/// same ALPN list and <see cref="Libp2pCertificate.VerifyKey"/> in the validation callback.
/// </summary>
internal sealed class BareTls : IAsyncDisposable
{
    private readonly Socket _listenSocket;
    private readonly SslStreamCertificateContext _serverCertificate;
    private readonly SslStreamCertificateContext _clientCertificate;
    private readonly Channel<SslStream> _accepted = Channel.CreateUnbounded<SslStream>();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _acceptLoop;
    private readonly List<SslApplicationProtocol>? _alpn;

    private static readonly List<SslApplicationProtocol> PinholeAlpn = [new("/yamux/1.0.0"), new("libp2p")];

    public BareTls(BenchIdentities identities, bool pinholeTls = false)
    {
        _serverCertificate = identities.ServerCertificate;
        _clientCertificate = identities.ClientCertificate;
        VerifyLibp2p = pinholeTls;
        _alpn = pinholeTls ? PinholeAlpn : null;
        _listenSocket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listenSocket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listenSocket.Listen(512);
        EndPoint = (IPEndPoint)_listenSocket.LocalEndPoint!;
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    public IPEndPoint EndPoint { get; }

    /// <summary>Also run <see cref="Libp2pCertificate.VerifyKey"/> in the validation callback.</summary>
    public bool VerifyLibp2p { get; }

    private static X509ChainPolicy EmptyTrust() => new()
    {
        TrustMode = X509ChainTrustMode.CustomRootTrust,
        RevocationMode = X509RevocationMode.NoCheck,
        DisableCertificateDownloads = true,
    };

    private bool Validate(X509Certificate? certificate)
    {
        if (certificate is not X509Certificate2 peer)
        {
            return false;
        }
        if (VerifyLibp2p)
        {
            Libp2pCertificate.VerifyKey(peer);
        }
        return true;
    }

    /// <param name="via">Dial this instead of <see cref="EndPoint"/> (a <see cref="DelayProxy"/> in front of it).</param>
    /// <param name="cancellationToken">Bounds the connect and the handshake.</param>
    public async Task<SslStream> ConnectAsync(CancellationToken cancellationToken, IPEndPoint? via = null)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(via ?? EndPoint, cancellationToken);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        var tls = new SslStream(new NetworkStream(socket, ownsSocket: true), leaveInnerStreamOpen: false);
        try
        {
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "",
                ClientCertificateContext = _clientCertificate,
                EnabledSslProtocols = SslProtocols.Tls13,
                ApplicationProtocols = _alpn,
                CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                CertificateChainPolicy = EmptyTrust(),
                RemoteCertificateValidationCallback = (_, c, _, _) => Validate(c),
            }, cancellationToken);
            return tls;
        }
        catch
        {
            await tls.DisposeAsync();
            throw;
        }
    }

    public ValueTask<SslStream> AcceptAsync(CancellationToken cancellationToken) => _accepted.Reader.ReadAsync(cancellationToken);

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listenSocket.AcceptAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            client.NoDelay = true;
            _ = Task.Run(() => HandshakeAsync(client));
        }
    }

    private async Task HandshakeAsync(Socket client)
    {
        var tls = new SslStream(new NetworkStream(client, ownsSocket: true), leaveInnerStreamOpen: false);
        try
        {
            using var timeout = new CancellationTokenSource(Harness.Timeout);
            await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
            {
                ServerCertificateContext = _serverCertificate,
                ClientCertificateRequired = true,
                EnabledSslProtocols = SslProtocols.Tls13,
                ApplicationProtocols = _alpn,
                CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                CertificateChainPolicy = EmptyTrust(),
                RemoteCertificateValidationCallback = (_, c, _, _) => Validate(c),
            }, timeout.Token);
            _accepted.Writer.TryWrite(tls);
        }
        catch
        {
            await tls.DisposeAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listenSocket.Dispose();
        await _acceptLoop;
        _accepted.Writer.TryComplete();
        while (_accepted.Reader.TryRead(out var pending))
        {
            await pending.DisposeAsync();
        }
        _stop.Dispose();
    }
}
