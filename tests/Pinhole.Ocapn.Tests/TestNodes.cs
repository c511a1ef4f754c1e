using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Pinhole.Ocapn.Tests;

internal static class TestNodes
{
    public static readonly Lazy<OcapnNode> A = new(() => OcapnNode.Create());
    public static readonly Lazy<OcapnNode> B = new(() => OcapnNode.Create());

    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    /// <summary>A certificate shaped like the ones Goblins generates (RSA, CN=CapTP, O=Spritely, OU=Goblins, not a CA).</summary>
    public static (string CertPem, string KeyPem) GoblinsStyleRsa(int bits = 2048)
    {
        using var rsa = RSA.Create(bits);
        var subject = new X500DistinguishedName("C=US, S=DE, L=Lewes, CN=CapTP, O=Spritely, OU=Goblins");
        var req = new CertificateRequest(subject, rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        req.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(req.PublicKey, false));
        using var cert = req.Create(subject, X509SignatureGenerator.CreateForRSA(rsa, RSASignaturePadding.Pkcs1),
            DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.FromUnixTimeSeconds(2147483647), "OCapN cereal number!"u8.ToArray());
        return (cert.ExportCertificatePem() + "\n", rsa.ExportRSAPrivateKeyPem() + "\n");
    }

    public static (string CertPem, string KeyPem) Ecdsa()
    {
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var req = new CertificateRequest("CN=CapTP, OU=Test", ec, HashAlgorithmName.SHA256);
        using var cert = req.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddYears(1));
        return (cert.ExportCertificatePem() + "\n", ec.ExportECPrivateKeyPem() + "\n");
    }

    public static string PemOf(OcapnNode node) => Encoding.ASCII.GetString(node.CertificatePem.Span);

    public static string KeyPemOf(OcapnNode node) =>
        node.Certificate.GetECDsaPrivateKey() is { } ec ? ec.ExportPkcs8PrivateKeyPem() : node.Certificate.GetRSAPrivateKey()!.ExportPkcs8PrivateKeyPem();

    public static OcapnTcpTlsListenerOptions Loopback(OcapnNode node) => new()
    {
        Node = node,
        ListenEndPoint = new IPEndPoint(IPAddress.Loopback, 0),
        PersistListenPort = false,
    };

    /// <summary>Writes a certificate/key pair as PEM files for an external peer; returns their paths and the designator.</summary>
    public static (string Cert, string Key, string Designator) WritePair(string dir, (string CertPem, string KeyPem) pair, string name)
    {
        var cert = Path.Combine(dir, name + ".cert.pem");
        var key = Path.Combine(dir, name + ".key.pem");
        File.WriteAllText(cert, pair.CertPem);
        File.WriteAllText(key, pair.KeyPem);
        return (cert, key, OcapnDesignator.FromPem(File.ReadAllBytes(cert)));
    }

    /// <summary>The port an external peer announces with its "PORT n" line.</summary>
    public static async Task<int> PortOfAsync(PeerProcess peer, CancellationToken token) =>
        int.Parse((await peer.ExpectAsync("PORT ", token))[5..], System.Globalization.CultureInfo.InvariantCulture);

    public static string TempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "pinhole-ocapn-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }
}

/// <summary>A raw TCP server on loopback that runs one scripted handler per connection (a misbehaving listener).</summary>
internal sealed class FakeListener : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public FakeListener(Func<Socket, CancellationToken, Task> handler)
    {
        _listener.Start();
        _loop = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                Socket s;
                try
                {
                    s = await _listener.AcceptSocketAsync(_stop.Token);
                }
                catch (Exception)
                {
                    return;
                }
                _ = Task.Run(async () =>
                {
                    using (s)
                    {
                        try
                        {
                            await handler(s, _stop.Token);
                        }
                        catch (Exception)
                        {
                        }
                    }
                });
            }
        });
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public OcapnLocator Locator(string designator) => OcapnLocator.ForTcpTls(designator, "127.0.0.1", Port);

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        await _loop;
        _stop.Dispose();
    }

    /// <summary>Reads until the peer closes, counting bytes (bounded by the token).</summary>
    public static async Task<int> DrainAsync(Socket s, CancellationToken token)
    {
        var buffer = new byte[4096];
        var total = 0;
        while (true)
        {
            int n;
            try
            {
                n = await s.ReceiveAsync(buffer, SocketFlags.None, token);
            }
            catch (SocketException)
            {
                return total;
            }
            if (n == 0)
            {
                return total;
            }
            total += n;
        }
    }
}
