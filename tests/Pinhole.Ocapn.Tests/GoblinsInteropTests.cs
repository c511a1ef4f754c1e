using System.Globalization;
using System.Text;

namespace Pinhole.Ocapn.Tests;

/// <summary>
/// Pinhole against goblins_peer.py, a peer written independently from the wire description of Goblins'
/// tcp-tls netlayer with Python's standard ssl module (OpenSSL), playing a Goblins listener and dialer.
/// </summary>
public sealed class GoblinsInteropTests : IDisposable
{
    private readonly string _dir = TestNodes.TempDir();

    public void Dispose() => Directory.Delete(_dir, true);

    private (string Cert, string Key, string Designator) WritePair((string CertPem, string KeyPem) pair, string name)
        => TestNodes.WritePair(_dir, pair, name);

    [ToolFact("python3")]
    public async Task Pinhole_dials_a_goblins_listener_with_an_rsa_certificate()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var (cert, key, designator) = WritePair(TestNodes.GoblinsStyleRsa(), "goblins");
        await using var peer = PeerProcess.Python("listen", "--cert", cert, "--key", key);
        var locator = OcapnLocator.Parse($"ocapn://{designator}.tcp-tls?host=127.0.0.1&port={await TestNodes.PortOfAsync(peer, cts.Token)}");

        await using (var conn = await OcapnTcpTlsNetlayer.ConnectAsync(locator, new OcapnTcpTlsConnectOptions { Node = TestNodes.B.Value }, cts.Token))
        {
            Assert.Equal(designator, conn.RemoteDesignator);
            Assert.False(conn.PresentedCertificate); // Goblins never asks for a client certificate.
            await conn.Stream.WriteAsync("hello pinhole\n"u8.ToArray(), cts.Token);
            var reader = new StreamReader(conn.Stream, Encoding.UTF8);
            Assert.Equal("goblins-echo:hello pinhole", await reader.ReadLineAsync(cts.Token));
        }
        Assert.Equal("GOT hello pinhole", await peer.ExpectAsync("GOT ", cts.Token));
        Assert.Equal(0, await peer.ExitCodeAsync(cts.Token));
    }

    [ToolFact("python3")]
    public async Task Pinhole_pings_a_goblins_listener_with_an_ecdsa_certificate()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var (cert, key, designator) = WritePair(TestNodes.Ecdsa(), "goblins-ec");
        await using var peer = PeerProcess.Python("listen", "--cert", cert, "--key", key);
        var locator = OcapnLocator.ForTcpTls(designator, "127.0.0.1", await TestNodes.PortOfAsync(peer, cts.Token));
        var result = await OcapnTcpTlsNetlayer.PingAsync(locator, cancellationToken: cts.Token);
        Assert.Equal(designator, result.Designator);
        Assert.Equal("ECDSA", result.KeyAlgorithm);
        await peer.ExpectAsync("CLOSED", cts.Token);
        Assert.Equal(0, await peer.ExitCodeAsync(cts.Token));
    }

    [ToolFact("python3")]
    public async Task A_goblins_listener_sending_another_certificates_pem_is_refused_before_tls()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var real = WritePair(TestNodes.Ecdsa(), "real");
        var other = WritePair(TestNodes.Ecdsa(), "other");
        await using var peer = PeerProcess.Python("listen", "--cert", real.Cert, "--key", real.Key, "--pem-file", other.Cert);
        var locator = OcapnLocator.ForTcpTls(real.Designator, "127.0.0.1", await TestNodes.PortOfAsync(peer, cts.Token));
        var ex = await Assert.ThrowsAsync<PeerException>(() => OcapnTcpTlsNetlayer.ConnectAsync(locator, cancellationToken: cts.Token));
        Assert.Equal(PeerError.PeerMismatch, ex.Error);
        Assert.Contains(real.Designator, ex.Message, StringComparison.Ordinal);
        Assert.Contains(other.Designator, ex.Message, StringComparison.Ordinal);
        Assert.StartsWith("HANDSHAKE-FAILED", await peer.ExpectAsync("HANDSHAKE-FAILED", cts.Token), StringComparison.Ordinal);
    }

    [ToolFact("python3")]
    public async Task A_goblins_listener_whose_tls_key_differs_from_its_pem_is_refused()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var announced = WritePair(TestNodes.Ecdsa(), "announced");
        var actual = WritePair(TestNodes.Ecdsa(), "actual");
        await using var peer = PeerProcess.Python("listen", "--cert", actual.Cert, "--key", actual.Key, "--pem-file", announced.Cert);
        var locator = OcapnLocator.ForTcpTls(announced.Designator, "127.0.0.1", await TestNodes.PortOfAsync(peer, cts.Token));
        var ex = await Assert.ThrowsAsync<PeerException>(() => OcapnTcpTlsNetlayer.ConnectAsync(locator, cancellationToken: cts.Token));
        Assert.Equal(PeerError.PeerMismatch, ex.Error);
        Assert.Contains("not the one whose PEM was sent before TLS", ex.Message, StringComparison.Ordinal);
    }

    [ToolFact("python3")]
    public async Task A_goblins_dialer_reaches_a_pinhole_listener_anonymously()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await using var listener = await OcapnTcpTlsNetlayer.ListenAsync(TestNodes.Loopback(TestNodes.A.Value), cts.Token);
        await using var peer = PeerProcess.Python("dial", "--port", listener.LocalEndPoint.Port.ToString(CultureInfo.InvariantCulture),
            "--designator", listener.Locator.Designator);
        await using (var conn = await listener.AcceptAsync(cts.Token))
        {
            Assert.Null(conn.RemoteDesignator);
            var reader = new StreamReader(conn.Stream, Encoding.UTF8);
            Assert.Equal("hello from goblins", await reader.ReadLineAsync(cts.Token));
            await conn.Stream.WriteAsync("hello from pinhole\n"u8.ToArray(), cts.Token);
            await conn.Stream.FlushAsync(cts.Token);
            Assert.Equal("GOT hello from pinhole", await peer.ExpectAsync("GOT ", cts.Token));
        }
        Assert.Equal(0, await peer.ExitCodeAsync(cts.Token));
    }

    [ToolFact("python3")]
    public async Task A_goblins_style_dialer_with_credentials_is_named_when_pinhole_asks()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var (cert, key, designator) = WritePair(TestNodes.GoblinsStyleRsa(), "dialer");
        var options = TestNodes.Loopback(TestNodes.A.Value);
        options.ClientAuthentication = OcapnClientAuthentication.Optional;
        await using var listener = await OcapnTcpTlsNetlayer.ListenAsync(options, cts.Token);
        await using var peer = PeerProcess.Python("dial", "--port", listener.LocalEndPoint.Port.ToString(CultureInfo.InvariantCulture),
            "--designator", listener.Locator.Designator, "--cert", cert, "--key", key);
        await using (var conn = await listener.AcceptAsync(cts.Token))
        {
            // GnuTLS (Goblins) loads its own credentials on the client side, so it answers a CertificateRequest too.
            Assert.Equal(designator, conn.RemoteDesignator);
            var reader = new StreamReader(conn.Stream, Encoding.UTF8);
            Assert.Equal("hello from goblins", await reader.ReadLineAsync(cts.Token));
            await conn.Stream.WriteAsync("named\n"u8.ToArray(), cts.Token);
            Assert.Equal("GOT named", await peer.ExpectAsync("GOT ", cts.Token));
        }
        Assert.Equal(0, await peer.ExitCodeAsync(cts.Token));
    }

    [ToolFact("python3")]
    public async Task A_goblins_dialer_with_the_wrong_designator_stops_before_tls()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await using var listener = await OcapnTcpTlsNetlayer.ListenAsync(TestNodes.Loopback(TestNodes.A.Value), cts.Token);
        await using var peer = PeerProcess.Python("dial", "--port", listener.LocalEndPoint.Port.ToString(CultureInfo.InvariantCulture),
            "--designator", TestNodes.B.Value.Designator);
        Assert.Equal(3, await peer.ExitCodeAsync(cts.Token));
        Assert.Contains($"MISMATCH expected {TestNodes.B.Value.Designator} got {TestNodes.A.Value.Designator}", peer.Stderr, StringComparison.Ordinal);
    }

    [ToolFact("python3")]
    public async Task A_goblins_dialer_over_the_cap_gets_a_clean_failure()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var options = TestNodes.Loopback(TestNodes.A.Value);
        options.MaxConnections = 1;
        await using var listener = await OcapnTcpTlsNetlayer.ListenAsync(options, cts.Token);
        await using var holder = await OcapnTcpTlsNetlayer.ConnectAsync(listener.Locator, cancellationToken: cts.Token);
        await using var peer = PeerProcess.Python("dial", "--port", listener.LocalEndPoint.Port.ToString(CultureInfo.InvariantCulture),
            "--designator", listener.Locator.Designator);
        Assert.Equal(4, await peer.ExitCodeAsync(cts.Token));
        Assert.Contains("BAD-LENGTH 0", peer.Stderr, StringComparison.Ordinal);
    }
}
