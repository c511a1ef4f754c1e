using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Pinhole.Messaging;

namespace Pinhole.Benchmarks;

/// <summary>
/// The two sides of the messaging benchmarks, both over TCP on 127.0.0.1 with TLS 1.3: a Pinhole connection
/// (TLS + yamux) with a <see cref="MessageSession"/> on each end, and a bare SslStream pair as the baseline.
/// </summary>
internal sealed class MessagingPeers : IAsyncDisposable
{
    private PeerListener _listener = null!;
    private NodeIdentity _serverIdentity = null!;
    private NodeIdentity _clientIdentity = null!;
    private TcpListener _tcp = null!;

    public PeerConnection Client { get; private set; } = null!;
    public PeerConnection Server { get; private set; } = null!;
    public MessageSession ClientSession { get; private set; } = null!;
    public MessageSession ServerSession { get; private set; } = null!;
    public SslStream SslClient { get; private set; } = null!;
    public SslStream SslServer { get; private set; } = null!;

    public static async Task<MessagingPeers> CreateAsync()
    {
        var peers = new MessagingPeers();
        await peers.StartPinholeAsync();
        await peers.StartSslAsync();
        return peers;
    }

    private async Task StartPinholeAsync()
    {
        _serverIdentity = NodeIdentity.Generate();
        _clientIdentity = NodeIdentity.Generate();
        _listener = await PeerListener.ListenAsync(new PeerListenerOptions
        {
            Identity = _serverIdentity,
            ListenAddresses = [Multiaddr.FromIPEndPoint(new IPEndPoint(IPAddress.Loopback, 0), "tcp")],
        });
        var accepting = _listener.AcceptAsync().AsTask();
        Client = await PeerConnection.ConnectAsync(new PeerConnectOptions
        {
            Identity = _clientIdentity,
            Remote = PeerAddress.FromMultiaddr(_listener.GetDialableAddresses()[0]),
        });
        Server = await accepting;
        ClientSession = MessageSession.Start(Client);
        ServerSession = MessageSession.Start(Server);
    }

    private async Task StartSslAsync()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=bench", key, HashAlgorithmName.SHA256);
        using var ephemeral = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var certificate = X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pkcs12), null);
        _tcp = new TcpListener(IPAddress.Loopback, 0);
        _tcp.Start();
        var accepting = _tcp.AcceptTcpClientAsync();
        var client = new TcpClient { NoDelay = true };
        await client.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)_tcp.LocalEndpoint).Port);
        var server = await accepting;
        server.NoDelay = true;
        SslServer = new SslStream(server.GetStream());
        SslClient = new SslStream(client.GetStream(), false, (_, _, _, _) => true);
        var serverAuth = SslServer.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
        {
            ServerCertificate = certificate,
            EnabledSslProtocols = System.Security.Authentication.SslProtocols.Tls13,
        });
        await SslClient.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "bench",
            EnabledSslProtocols = System.Security.Authentication.SslProtocols.Tls13,
        });
        await serverAuth;
    }

    public async ValueTask DisposeAsync()
    {
        await ClientSession.DisposeAsync();
        await ServerSession.DisposeAsync();
        await Client.DisposeAsync();
        await Server.DisposeAsync();
        await _listener.DisposeAsync();
        await SslClient.DisposeAsync();
        await SslServer.DisposeAsync();
        _tcp.Stop();
        _serverIdentity.Dispose();
        _clientIdentity.Dispose();
    }
}
