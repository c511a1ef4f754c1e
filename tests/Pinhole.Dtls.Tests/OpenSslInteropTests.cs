using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Pinhole.Dtls.Tests;

/// <summary>
/// A real DTLS 1.2 peer: Debian's openssl s_server / s_client, presenting libp2p certificates made by our
/// code and written to PEM files. The test also computes each certificate's SHA-256 fingerprint with
/// `openssl x509 -fingerprint` and checks that it is the certificate the Pinhole side saw.
/// </summary>
public sealed class OpenSslInteropTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pinhole-dtls-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private (string Cert, string Key) WritePem(X509Certificate2 certificate, string name)
    {
        string cert = Path.Combine(_dir, name + ".crt");
        string key = Path.Combine(_dir, name + ".key");
        File.WriteAllText(cert, certificate.ExportCertificatePem());
        using ECDsa ecdsa = certificate.GetECDsaPrivateKey()!;
        File.WriteAllText(key, ecdsa.ExportPkcs8PrivateKeyPem());
        return (cert, key);
    }

    private static async Task<string> FingerprintAsync(string certPath)
    {
        // "sha256 Fingerprint=AB:CD:..." -> "abcd..."
        string line = (await OpenSslTool.RunAsync("x509", "-in", certPath, "-noout", "-fingerprint", "-sha256")).Trim();
        return line[(line.IndexOf('=', StringComparison.Ordinal) + 1)..].Replace(":", "", StringComparison.Ordinal).ToLowerInvariant();
    }

    [ToolFact("openssl")]
    public async Task PinholeClient_ToOpenSslServer()
    {
        using NodeIdentity serverIdentity = NodeIdentity.Generate();
        using X509Certificate2 serverCert = Libp2pCertificate.Create(serverIdentity);
        (string certPath, string keyPath) = WritePem(serverCert, "server");
        string fingerprint = await FingerprintAsync(certPath);
        int port = FreePort.Udp();

        await using ExternalProcess server = OpenSslTool.Start("s_server", "-dtls1_2", "-accept", $"127.0.0.1:{port}", "-cert", certPath, "-key", keyPath, "-verify", "1", "-mtu", "1400");
        using var cts = new CancellationTokenSource(Pair.Patience);
        await server.WaitForOutputAsync("ACCEPT", Pair.Patience, cts.Token);

        using NodeIdentity clientIdentity = NodeIdentity.Generate();
        await using DtlsEndpoint client = DtlsEndpoint.Create(new DtlsEndpointOptions
        {
            Identity = clientIdentity,
            Bind = UdpDatagramBind.Bind(new IPEndPoint(IPAddress.Loopback, 0)),
        });
        await using DtlsConnection connection = await client.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), serverIdentity.PeerId, cts.Token);
        Assert.Equal(serverIdentity.PeerId, connection.RemotePeer);
        Assert.Equal(fingerprint, Convert.ToHexStringLower(SHA256.HashData(connection.RemoteCertificate.RawData)));

        await connection.SendAsync(Encoding.ASCII.GetBytes("hello from pinhole\n"), cts.Token);
        await server.WaitForOutputAsync("hello from pinhole", Pair.Patience, cts.Token);
        await server.StandardInput.WriteLineAsync("hello from openssl");
        await server.StandardInput.FlushAsync(cts.Token);
        string reply = Encoding.ASCII.GetString(await connection.ReceiveAsync(cts.Token));
        Assert.Equal("hello from openssl\n", reply);
    }

    [ToolFact("openssl")]
    public async Task OpenSslClient_ToPinholeServer()
    {
        using NodeIdentity clientIdentity = NodeIdentity.Generate();
        using X509Certificate2 clientCert = Libp2pCertificate.Create(clientIdentity);
        (string certPath, string keyPath) = WritePem(clientCert, "client");
        string fingerprint = await FingerprintAsync(certPath);

        using NodeIdentity serverIdentity = NodeIdentity.Generate();
        await using DtlsEndpoint endpoint = DtlsEndpoint.Create(new DtlsEndpointOptions
        {
            Identity = serverIdentity,
            Bind = UdpDatagramBind.Bind(new IPEndPoint(IPAddress.Loopback, 0)),
        });
        await using DtlsListener listener = endpoint.Listen();
        int port = ((IPEndPoint)endpoint.LocalEndPoint).Port;

        await using ExternalProcess client = OpenSslTool.Start("s_client", "-dtls1_2", "-connect", $"127.0.0.1:{port}", "-cert", certPath, "-key", keyPath, "-quiet", "-mtu", "1400");
        using var cts = new CancellationTokenSource(Pair.Patience);
        await using DtlsConnection connection = await listener.AcceptAsync(cts.Token);
        Assert.Equal(clientIdentity.PeerId, connection.RemotePeer);
        Assert.Equal(fingerprint, Convert.ToHexStringLower(SHA256.HashData(connection.RemoteCertificate.RawData)));

        await client.StandardInput.WriteLineAsync("hello from openssl");
        await client.StandardInput.FlushAsync(cts.Token);
        Assert.Equal("hello from openssl\n", Encoding.ASCII.GetString(await connection.ReceiveAsync(cts.Token)));
        await connection.SendAsync(Encoding.ASCII.GetBytes("hello from pinhole\n"), cts.Token);
        await client.WaitForOutputAsync("hello from pinhole", Pair.Patience, cts.Token);
    }

    [ToolFact("openssl")]
    public async Task OpenSslClient_WithPlainCertificate_IsRefused()
    {
        string certPath = Path.Combine(_dir, "plain.crt");
        string keyPath = Path.Combine(_dir, "plain.key");
        await OpenSslTool.RunAsync("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", keyPath, "-out", certPath, "-days", "1", "-subj", "/CN=plain");

        using NodeIdentity serverIdentity = NodeIdentity.Generate();
        await using DtlsEndpoint endpoint = DtlsEndpoint.Create(new DtlsEndpointOptions
        {
            Identity = serverIdentity,
            Bind = UdpDatagramBind.Bind(new IPEndPoint(IPAddress.Loopback, 0)),
        });
        await using DtlsListener listener = endpoint.Listen();
        int port = ((IPEndPoint)endpoint.LocalEndPoint).Port;

        await using ExternalProcess client = OpenSslTool.Start("s_client", "-dtls1_2", "-connect", $"127.0.0.1:{port}", "-cert", certPath, "-key", keyPath, "-mtu", "1400");
        using var cts = new CancellationTokenSource(Pair.Patience);
        // OpenSSL reports our bad_certificate alert; nothing reaches the accept queue.
        await client.WaitForOutputAsync("bad certificate", Pair.Patience, cts.Token);
        using var brief = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await listener.AcceptAsync(brief.Token));
        Assert.Equal(0, endpoint.SessionCount);
    }
}
