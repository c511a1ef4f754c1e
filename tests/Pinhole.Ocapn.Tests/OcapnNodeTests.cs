using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Pinhole.Ocapn.Tests;

public class OcapnNodeTests
{
    [Fact]
    public async Task Identity_is_created_once_and_stable_across_loads()
    {
        var home = TestNodes.TempDir();
        try
        {
            using var first = await OcapnNode.LoadOrCreateAsync(home);
            using var second = await OcapnNode.LoadOrCreateAsync(home);
            Assert.Equal(first.Designator, second.Designator);
            Assert.True(first.HasCanonicalPem);
            var dir = Path.Combine(home, "ocapn", "tcp-tls");
            Assert.Equal(dir, first.Directory);
            var certBytes = await File.ReadAllBytesAsync(Path.Combine(dir, "cert.pem"));
            Assert.Equal(OcapnDesignator.FromPem(certBytes), first.Designator);
            Assert.Equal(OcapnDesignator.FromCertificate(first.Certificate), first.Designator);
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(dir, "key.pem")));
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(dir));
            }
            Assert.Contains("BEGIN PRIVATE KEY", await File.ReadAllTextAsync(Path.Combine(dir, "key.pem")), StringComparison.Ordinal);
            Assert.Equal($"ocapn://{first.Designator}.tcp-tls?host=example.org&port=9000", first.GetLocator("example.org", 9000).ToString());
        }
        finally
        {
            Directory.Delete(home, true);
        }
    }

    [Fact]
    public async Task Half_present_identity_is_an_error_not_a_silent_replacement()
    {
        var home = TestNodes.TempDir();
        try
        {
            using (await OcapnNode.LoadOrCreateAsync(home))
            {
            }
            File.Delete(Path.Combine(home, "ocapn", "tcp-tls", "cert.pem"));
            var ex = await Assert.ThrowsAsync<CryptographicException>(() => OcapnNode.LoadOrCreateAsync(home));
            Assert.Contains("found key.pem without cert.pem", ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(home, true);
        }
    }

    [Fact]
    public async Task Fixed_listen_port_is_remembered_across_restarts()
    {
        var home = TestNodes.TempDir();
        try
        {
            int port;
            using (var probe = new Socket(SocketType.Stream, ProtocolType.Tcp))
            {
                probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
                port = ((IPEndPoint)probe.LocalEndPoint!).Port;
            }
            using (var node = await OcapnNode.LoadOrCreateAsync(home))
            {
                Assert.Null(node.ListenPort);
                var options = new OcapnTcpTlsListenerOptions { Node = node, ListenEndPoint = new IPEndPoint(IPAddress.Loopback, port) };
                await using var listener = await OcapnTcpTlsNetlayer.ListenAsync(options);
                Assert.Equal(port, listener.LocalEndPoint.Port);
            }
            using (var restarted = await OcapnNode.LoadOrCreateAsync(home))
            {
                Assert.Equal(port, restarted.ListenPort);
                var options = new OcapnTcpTlsListenerOptions { Node = restarted, ListenEndPoint = new IPEndPoint(IPAddress.Loopback, 0) };
                await using var listener = await OcapnTcpTlsNetlayer.ListenAsync(options);
                Assert.Equal(port, listener.LocalEndPoint.Port);
                Assert.Equal(port, listener.Locator.Port);
                await restarted.SaveListenPortAsync(null);
            }
            using var forgotten = await OcapnNode.LoadOrCreateAsync(home);
            Assert.Null(forgotten.ListenPort);
        }
        finally
        {
            Directory.Delete(home, true);
        }
    }

    [Theory]
    [InlineData("rsa")]
    [InlineData("ecdsa")]
    public async Task Existing_pem_pairs_import_with_their_goblins_designator(string kind)
    {
        var home = TestNodes.TempDir();
        try
        {
            var (certPem, keyPem) = kind == "rsa" ? TestNodes.GoblinsStyleRsa() : TestNodes.Ecdsa();
            // Goblins hashes the PEM bytes it loaded; keep an odd-but-valid form (CRLF) to prove bytes are kept.
            certPem = certPem.Replace("\n", "\r\n", StringComparison.Ordinal);
            using var imported = await OcapnNode.ImportAsync(home, certPem, keyPem);
            Assert.Equal(OcapnDesignator.FromPem(Encoding.ASCII.GetBytes(certPem)), imported.Designator);
            Assert.False(imported.HasCanonicalPem);
            using var reloaded = await OcapnNode.LoadOrCreateAsync(home);
            Assert.Equal(imported.Designator, reloaded.Designator);
            await Assert.ThrowsAsync<IOException>(() => OcapnNode.ImportAsync(home, certPem, keyPem));
            var (otherCert, otherKey) = TestNodes.Ecdsa();
            using var replaced = await OcapnNode.ImportAsync(home, otherCert, otherKey, overwrite: true);
            Assert.NotEqual(imported.Designator, replaced.Designator);
            Assert.True(replaced.HasCanonicalPem);
        }
        finally
        {
            Directory.Delete(home, true);
        }
    }

    [Fact]
    public void Mismatched_or_bogus_pem_is_rejected()
    {
        var (certA, _) = TestNodes.Ecdsa();
        var (_, keyB) = TestNodes.Ecdsa();
        Assert.Throws<CryptographicException>(() => OcapnNode.FromPem(certA, keyB));
        Assert.Throws<CryptographicException>(() => OcapnNode.FromPem("not a pem", keyB));
    }

    [Fact]
    public void Rsa4096_generation_matches_goblins_default()
    {
        using var node = OcapnNode.Create(OcapnKeyAlgorithm.Rsa4096);
        Assert.Equal(4096, node.Certificate.GetRSAPublicKey()!.KeySize);
        Assert.True(node.HasCanonicalPem);
        Assert.Contains("CN=CapTP", node.Certificate.Subject, StringComparison.Ordinal);
    }
}
