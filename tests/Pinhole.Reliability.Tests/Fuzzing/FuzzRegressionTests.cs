using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Pinhole.Ocapn;

namespace Pinhole.Reliability.Tests.Fuzzing;

/// <summary>
/// Every crash the fuzzers found, as a test of the fixed behaviour (the inputs are also in fuzz/corpus as crash-*).
/// </summary>
public sealed class FuzzRegressionTests
{
    private static readonly byte[] P256Oid = [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

    /// <summary>Found by libp2p-public-key and signed-envelope: a P-256 key whose curve OID was mutated made
    /// OpenSSL throw PlatformNotSupportedException ("the specified curve is not valid for this platform").</summary>
    [Fact]
    public void An_ECDSA_public_key_on_an_unknown_curve_is_a_FormatException()
    {
        using var identity = NodeIdentity.Generate(Libp2pKeyType.Ecdsa);
        var encoded = identity.PublicKey.Encoded.ToArray();
        Corrupt(encoded);
        Assert.Throws<FormatException>(() => Libp2pPublicKey.Decode(encoded));
    }

    /// <summary>Found by node-identity-pem: the same curve mutation inside a PKCS#8 key file.</summary>
    [Fact]
    public void A_key_file_on_an_unknown_curve_is_a_FormatException()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var der = key.ExportPkcs8PrivateKey();
        Corrupt(der);
        var pem = PemEncoding.WriteString("PRIVATE KEY", der);
        Assert.Throws<FormatException>(() => NodeIdentity.ImportPem(pem));
    }

    /// <summary>Found by ocapn-node-pem: a tcp-tls key on an unknown curve.</summary>
    [Fact]
    public void An_OCapN_key_on_an_unknown_curve_is_a_CryptographicException()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var certificate = new CertificateRequest("CN=CapTP", key, HashAlgorithmName.SHA256).CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddYears(1));
        var der = key.ExportECPrivateKey();
        Corrupt(der);
        Assert.ThrowsAny<CryptographicException>(() => OcapnNode.FromPem(certificate.ExportCertificatePem(), PemEncoding.WriteString("EC PRIVATE KEY", der)));
    }

    /// <summary>Found by sealing-key-pem: a coordinator's or member's sealing key file on an unknown curve.</summary>
    [Fact]
    public void A_sealing_key_on_an_unknown_curve_is_a_FormatException()
    {
        using var key = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        var der = key.ExportPkcs8PrivateKey();
        Corrupt(der);
        Assert.Throws<FormatException>(() => Pinhole.Membership.SealingKey.ImportPem(PemEncoding.WriteString("PRIVATE KEY", der)));
    }

    // 1.2.840.10045.3.1.7 -> 1.2.840.12093.3.1.7 (one byte, as the fuzzer did)
    private static void Corrupt(byte[] der)
    {
        var at = der.AsSpan().IndexOf(P256Oid);
        Assert.True(at >= 0);
        der[at + 3] = 0xde;
    }
}
