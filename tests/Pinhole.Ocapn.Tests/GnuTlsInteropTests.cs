using System.Globalization;
using System.Text;

namespace Pinhole.Ocapn.Tests;

/// <summary>
/// Pinhole against goblins_gnutls_peer.scm: a tcp-tls peer built from what Goblins itself uses (Guile, Guile-GnuTLS,
/// Guile-Gcrypt), so GnuTLS's certificate status check and its client-credential behaviour are the real ones.
/// Needs the Debian packages guile-3.0, guile-gnutls and guile-gcrypt; skipped when guile is absent.
/// </summary>
public sealed class GnuTlsInteropTests : IDisposable
{
    private readonly string _dir = TestNodes.TempDir();

    public void Dispose() => Directory.Delete(_dir, true);

    private (string Cert, string Key, string Designator) WritePair((string CertPem, string KeyPem) pair, string name)
        => TestNodes.WritePair(_dir, pair, name);

    private static string Port(OcapnTcpTlsListener listener) => listener.LocalEndPoint.Port.ToString(CultureInfo.InvariantCulture);

    [GuileGnuTlsTheory]
    [InlineData("rsa")]
    [InlineData("ecdsa")]
    public async Task Pinhole_dials_a_gnutls_listener(string kind)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var (cert, key, designator) = WritePair(kind == "rsa" ? TestNodes.GoblinsStyleRsa() : TestNodes.Ecdsa(), "listener");
        await using var peer = PeerProcess.Guile("listen", cert, key);
        var locator = OcapnLocator.ForTcpTls(designator, "127.0.0.1", await TestNodes.PortOfAsync(peer, cts.Token));
        await using (var conn = await OcapnTcpTlsNetlayer.ConnectAsync(locator, new OcapnTcpTlsConnectOptions { Node = TestNodes.B.Value }, cts.Token))
        {
            Assert.Equal(designator, conn.RemoteDesignator);
            Assert.False(conn.PresentedCertificate);
            await conn.Stream.WriteAsync("hello gnutls\n"u8.ToArray(), cts.Token);
            var reader = new StreamReader(conn.Stream, Encoding.UTF8);
            Assert.Equal("goblins-echo:hello gnutls", await reader.ReadLineAsync(cts.Token));
        }
        Assert.Equal("GOT hello gnutls", await peer.ExpectAsync("GOT ", cts.Token));
        Assert.Equal(0, await peer.ExitCodeAsync(cts.Token));
    }

    [GuileGnuTlsTheory]
    [InlineData(OcapnKeyAlgorithm.EcdsaP256)]
    [InlineData(OcapnKeyAlgorithm.Rsa4096)]
    public async Task A_gnutls_dialer_accepts_pinhole_generated_certificates(OcapnKeyAlgorithm algorithm)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        using var node = algorithm == OcapnKeyAlgorithm.EcdsaP256 ? null : OcapnNode.Create(algorithm);
        var options = TestNodes.Loopback(node ?? TestNodes.A.Value);
        await using var listener = await OcapnTcpTlsNetlayer.ListenAsync(options, cts.Token);
        await using var peer = PeerProcess.Guile("dial", Port(listener), listener.Locator.Designator);
        await using (var conn = await listener.AcceptAsync(cts.Token))
        {
            Assert.Null(conn.RemoteDesignator);
            var reader = new StreamReader(conn.Stream, Encoding.UTF8);
            Assert.Equal("hello from gnutls", await reader.ReadLineAsync(cts.Token));
            await conn.Stream.WriteAsync("hello from pinhole\n"u8.ToArray(), cts.Token);
            await conn.Stream.FlushAsync(cts.Token);
            // "TLS" is printed only after GnuTLS's peer-certificate-status came back empty, as Goblins requires.
            await peer.ExpectAsync("TLS", cts.Token);
            Assert.Equal("GOT hello from pinhole", await peer.ExpectAsync("GOT ", cts.Token));
        }
        Assert.Equal(0, await peer.ExitCodeAsync(cts.Token));
    }

    [GuileGnuTlsFact]
    public async Task A_gnutls_dialer_with_credentials_answers_pinholes_certificate_request()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var (cert, key, designator) = WritePair(TestNodes.GoblinsStyleRsa(), "dialer");
        var options = TestNodes.Loopback(TestNodes.A.Value);
        options.ClientAuthentication = OcapnClientAuthentication.Optional;
        await using var listener = await OcapnTcpTlsNetlayer.ListenAsync(options, cts.Token);
        await using var peer = PeerProcess.Guile("dial", Port(listener), listener.Locator.Designator, cert, key);
        await using (var conn = await listener.AcceptAsync(cts.Token))
        {
            Assert.Equal(designator, conn.RemoteDesignator);
            var reader = new StreamReader(conn.Stream, Encoding.UTF8);
            Assert.Equal("hello from gnutls", await reader.ReadLineAsync(cts.Token));
            await conn.Stream.WriteAsync("named\n"u8.ToArray(), cts.Token);
            Assert.Equal("GOT named", await peer.ExpectAsync("GOT ", cts.Token));
        }
        Assert.Equal(0, await peer.ExitCodeAsync(cts.Token));
    }

    [GuileGnuTlsFact]
    public async Task A_gnutls_dialer_without_credentials_stays_anonymous_under_optional_authentication()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var options = TestNodes.Loopback(TestNodes.A.Value);
        options.ClientAuthentication = OcapnClientAuthentication.Optional;
        await using var listener = await OcapnTcpTlsNetlayer.ListenAsync(options, cts.Token);
        await using var peer = PeerProcess.Guile("dial", Port(listener), listener.Locator.Designator);
        await using (var conn = await listener.AcceptAsync(cts.Token))
        {
            Assert.Null(conn.RemoteDesignator);
            var reader = new StreamReader(conn.Stream, Encoding.UTF8);
            Assert.Equal("hello from gnutls", await reader.ReadLineAsync(cts.Token));
            await conn.Stream.WriteAsync("anon\n"u8.ToArray(), cts.Token);
            Assert.Equal("GOT anon", await peer.ExpectAsync("GOT ", cts.Token));
        }
        Assert.Equal(0, await peer.ExitCodeAsync(cts.Token));
    }

    [GuileGnuTlsFact]
    public async Task A_gnutls_dialer_with_the_wrong_designator_stops_before_tls()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await using var listener = await OcapnTcpTlsNetlayer.ListenAsync(TestNodes.Loopback(TestNodes.A.Value), cts.Token);
        await using var peer = PeerProcess.Guile("dial", Port(listener), TestNodes.B.Value.Designator);
        Assert.Equal(3, await peer.ExitCodeAsync(cts.Token));
        Assert.Contains($"MISMATCH expected {TestNodes.B.Value.Designator} got {TestNodes.A.Value.Designator}", peer.Stderr, StringComparison.Ordinal);
    }
}
