using System.Buffers.Binary;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Pinhole.Core.Tests.Interop;

/// <summary>
/// The layers under Pinhole's libp2p netlayer against a real js-libp2p listener, driven by hand:
/// multistream-select to <c>/tls/1.0.0</c>, then .NET's SslStream (TLS 1.3, client certificate, ALPN),
/// then the first yamux frame js sends. The client certificate is one js made (Ed25519 host key),
/// because js-libp2p 3.x cannot verify ECDSA host keys (see tests/npm/libp2p/README.md).
/// </summary>
[Trait("Category", "Interop")]
public sealed class SslStreamInteropTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    [JsLibp2pFact]
    public async Task SslStreamClient_CompletesLibp2pTlsWithJsListener_AndGetsYamuxByAlpn()
    {
        await using var listener = await JsLibp2pPeer.ListenAsync();
        var port = PortOf(listener.ListenAddresses[0]);
        var made = await JsLibp2pPeer.RunAsync(["make-cert", "--key-type", "Ed25519"], JsLibp2pPeer.DefaultTimeout);
        Assert.True(made.ExitCode == 0, made.ToString());
        var cert = made.Single("cert");
        var ourPeerId = cert.GetString("peerId")!;
        using var pem = X509Certificate2.CreateFromPem(cert.GetString("certPem"), cert.GetString("keyPem"));
        using var clientCertificate = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);

        using var cts = new CancellationTokenSource(Timeout);
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port, cts.Token);
        var network = tcp.GetStream();

        // multistream-select: the dialer speaks first (js answers only after reading our header).
        await network.WriteAsync(Concat(Message("/multistream/1.0.0"), Message("/tls/1.0.0")), cts.Token);
        Assert.Equal("/multistream/1.0.0", await ReadMessageAsync(network, cts.Token));
        Assert.Equal("/tls/1.0.0", await ReadMessageAsync(network, cts.Token));

        PeerId? serverPeerId = null;
        await using var tls = new SslStream(network, leaveInnerStreamOpen: false);
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "", // no SNI, like js-libp2p
            EnabledSslProtocols = SslProtocols.Tls13,
            ApplicationProtocols = [new("/yamux/1.0.0"u8.ToArray()), new("libp2p"u8.ToArray())],
            ClientCertificates = [clientCertificate],
            // The libp2p extension is the trust decision; OpenSSL's chain errors are expected for a self-signed cert.
            RemoteCertificateValidationCallback = (_, certificate, _, _) =>
            {
                using var copy = new X509Certificate2(certificate!);
                serverPeerId = Libp2pCertificate.Verify(copy);
                return true;
            },
        }, cts.Token);

        Assert.Equal(SslProtocols.Tls13, tls.SslProtocol);
        Assert.Equal("/yamux/1.0.0", tls.NegotiatedApplicationProtocol.ToString());
        Assert.Equal(listener.PeerId, serverPeerId?.ToString());

        // js accepted our certificate: it reports the connection with our PeerId, already on yamux
        // (early muxer negotiation through ALPN, no multistream-select for the muxer).
        var connection = await listener.WaitForEventAsync("connection", e => e.GetString("remotePeer") == ourPeerId, Timeout);
        Assert.Equal("/yamux/1.0.0", connection.GetString("multiplexer"));

        // js then pings the session at once (yamux keep-alive: Ping SYN, answered here with Ping ACK)
        // and identifies us: a WindowUpdate with SYN opening an even (listener-side) stream.
        var sawPing = false;
        var header = new byte[12];
        while (true)
        {
            await tls.ReadExactlyAsync(header, cts.Token);
            var hex = Convert.ToHexString(header);
            Assert.True(header[0] == 0, hex); // version
            var type = header[1];
            var flags = BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(2));
            var streamId = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(4));
            var length = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(8));
            if (type == 2) // Ping
            {
                Assert.True(flags == 1 && streamId == 0, hex);
                sawPing = true;
                byte[] ack = [0, 2, 0, 2, 0, 0, 0, 0, .. header.AsSpan(8, 4)];
                await tls.WriteAsync(ack, cts.Token);
                continue;
            }
            Assert.True(type == 1, hex);            // WindowUpdate
            Assert.True((flags & 1) == 1, hex);     // SYN
            Assert.True(streamId % 2 == 0 && streamId != 0, hex);
            Assert.True(length <= 16 * 1024 * 1024, hex);
            break;
        }
        Assert.True(sawPing, "js-libp2p's yamux sends a keep-alive Ping right after the session opens");
    }

    [JsLibp2pFact]
    public async Task SslStreamServer_AcceptsJsDialer_WithClientCertificateAndAlpnYamux()
    {
        var made = await JsLibp2pPeer.RunAsync(["make-cert", "--key-type", "Ed25519"], JsLibp2pPeer.DefaultTimeout);
        Assert.True(made.ExitCode == 0, made.ToString());
        var cert = made.Single("cert");
        var ourPeerId = cert.GetString("peerId")!;
        using var pem = X509Certificate2.CreateFromPem(cert.GetString("certPem"), cert.GetString("keyPem"));
        using var serverCertificate = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);

        using var cts = new CancellationTokenSource(Timeout);
        var tcpListener = new TcpListener(IPAddress.Loopback, 0);
        tcpListener.Start();
        try
        {
            var port = ((IPEndPoint)tcpListener.LocalEndpoint).Port;
            await using var dialer = JsLibp2pPeer.Start("dial", $"/ip4/127.0.0.1/tcp/{port}/p2p/{ourPeerId}", "--count", "1");
            using var tcp = await tcpListener.AcceptTcpClientAsync(cts.Token);
            var network = tcp.GetStream();

            // The js dialer pipelines the header and its one proposal; the listener echoes both.
            Assert.Equal("/multistream/1.0.0", await ReadMessageAsync(network, cts.Token));
            Assert.Equal("/tls/1.0.0", await ReadMessageAsync(network, cts.Token));
            await network.WriteAsync(Concat(Message("/multistream/1.0.0"), Message("/tls/1.0.0")), cts.Token);

            PeerId? clientPeerId = null;
            await using var tls = new SslStream(network, leaveInnerStreamOpen: false);
            await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
            {
                ServerCertificate = serverCertificate,
                ClientCertificateRequired = true,
                EnabledSslProtocols = SslProtocols.Tls13,
                ApplicationProtocols = [new("/yamux/1.0.0"u8.ToArray()), new("libp2p"u8.ToArray())],
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                {
                    if (certificate is null)
                    {
                        return false;
                    }
                    using var copy = new X509Certificate2(certificate);
                    clientPeerId = Libp2pCertificate.Verify(copy);
                    return true;
                },
            }, cts.Token);

            Assert.Equal("/yamux/1.0.0", tls.NegotiatedApplicationProtocol.ToString());
            Assert.NotNull(clientPeerId);

            // js verified our certificate against the PeerId it dialled and is on yamux without more negotiation.
            var connected = await dialer.WaitForEventAsync("connected", timeout: Timeout);
            Assert.Equal(ourPeerId, connected.GetString("remotePeer"));
            Assert.Equal(clientPeerId.ToString(), connected.GetString("localPeerId"));
            Assert.Equal("/yamux/1.0.0", connected.GetString("multiplexer"));

            // Closing here makes the js ping fail, so the dialer exits with an error event.
            tls.Close();
            var error = await dialer.WaitForEventAsync("error", timeout: Timeout);
            Assert.NotNull(error.GetString("message"));
        }
        finally
        {
            tcpListener.Stop();
        }
    }

    private static int PortOf(string multiaddr)
    {
        // /ip4/127.0.0.1/tcp/<port>/p2p/<id>
        var parts = multiaddr.Split('/');
        return int.Parse(parts[4], System.Globalization.CultureInfo.InvariantCulture);
    }

    private static byte[] Message(string text)
    {
        var body = Encoding.UTF8.GetBytes(text + "\n");
        Assert.True(body.Length < 128); // one-byte varint
        return [(byte)body.Length, .. body];
    }

    private static byte[] Concat(byte[] a, byte[] b) => [.. a, .. b];

    private static async Task<string> ReadMessageAsync(Stream stream, CancellationToken cancellationToken)
    {
        var length = new byte[1];
        await stream.ReadExactlyAsync(length, cancellationToken);
        Assert.True(length[0] < 128, "multistream message longer than this test reads");
        var body = new byte[length[0]];
        await stream.ReadExactlyAsync(body, cancellationToken);
        Assert.Equal((byte)'\n', body[^1]);
        return Encoding.UTF8.GetString(body, 0, body.Length - 1);
    }
}
