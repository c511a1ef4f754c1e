using System.Security.Cryptography.X509Certificates;

namespace Pinhole.Core.Tests.Interop;

/// <summary>
/// The libp2p TLS certificate check, across implementations, without a network: js-libp2p makes a
/// certificate and Pinhole verifies it, and the other way round.
/// </summary>
[Trait("Category", "Interop")]
public sealed class CertificateInteropTests
{
    [JsLibp2pTheory]
    [InlineData("Ed25519", "12D3KooW")]
    [InlineData("secp256k1", "16Uiu2HA")]
    [InlineData("RSA", "Qm")]
    public async Task PinholeVerifiesJsCertificate_AndDerivesTheSamePeerId(string keyType, string peerIdPrefix)
    {
        var run = await JsLibp2pPeer.RunAsync(["make-cert", "--key-type", keyType], JsLibp2pPeer.DefaultTimeout);
        Assert.True(run.ExitCode == 0, run.ToString());
        var made = run.Single("cert");
        var jsPeerId = made.GetString("peerId")!;
        Assert.StartsWith(peerIdPrefix, jsPeerId, StringComparison.Ordinal);

        using var certificate = X509Certificate2.CreateFromPem(made.GetString("certPem"));
        var peerId = Libp2pCertificate.Verify(certificate);

        Assert.Equal(jsPeerId, peerId.ToString());
        Assert.Equal(PeerId.Parse(jsPeerId), peerId);
    }

    /// <summary>
    /// A tripwire for a js-libp2p 3.x limitation (tests/npm/libp2p/README.md): it cannot verify a
    /// certificate whose host key is ECDSA, as Pinhole's node keys can be. Its DER parser fails on the
    /// SubjectPublicKeyInfo that the spec (and go-libp2p, and Pinhole) put in the key's Data, and even
    /// its own ECDSA encoding has no PeerId in @libp2p/peer-id. If this test fails, js-libp2p has
    /// learned ECDSA: turn it into an acceptance test.
    /// </summary>
    [JsLibp2pFact]
    public async Task JsLibp2p3_CannotVerifyPinholeEcdsaCertificate_KnownLimitation()
    {
        using var identity = NodeIdentity.Generate(Libp2pKeyType.Ecdsa);
        using var certificate = Libp2pCertificate.Create(identity);
        Assert.Equal(identity.PeerId, Libp2pCertificate.Verify(certificate)); // Pinhole itself accepts it.
        var path = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(path, certificate.ExportCertificatePem());

            var run = await JsLibp2pPeer.RunAsync(["verify-cert", path, "--expect", identity.PeerId.ToString()], JsLibp2pPeer.DefaultTimeout);

            Assert.True(run.ExitCode == 1, run.ToString());
            Assert.Equal("TypeError", run.Single("error").GetString("name"));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
