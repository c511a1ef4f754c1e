using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Pinhole.Ocapn.Internal;

/// <summary>Generates self-signed <c>tcp-tls</c> certificates that both GnuTLS (Goblins) and OpenSSL accept as pinned peers.</summary>
internal static class NodeCertificates
{
    /// <summary>Goblins' certificates end at the 32-bit time_t limit; ours end just before it, for the same old peers.</summary>
    private static readonly DateTimeOffset NotAfter = new(2037, 12, 31, 23, 59, 59, TimeSpan.Zero);

    internal static (string CertificatePem, string KeyPem) Generate(OcapnKeyAlgorithm algorithm, TimeProvider time)
    {
        var subject = new X500DistinguishedName("CN=CapTP, OU=Pinhole");
        CertificateRequest request;
        AsymmetricAlgorithm key;
        X509KeyUsageFlags usage;
        if (algorithm == OcapnKeyAlgorithm.Rsa4096)
        {
            var rsa = RSA.Create(4096);
            key = rsa;
            request = new CertificateRequest(subject, rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            usage = X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment;
        }
        else
        {
            var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            key = ec;
            request = new CertificateRequest(subject, ec, HashAlgorithmName.SHA256);
            usage = X509KeyUsageFlags.DigitalSignature;
        }
        using (key)
        {
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(usage, true));
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
                [new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false));
            request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
            var serial = RandomNumberGenerator.GetBytes(16);
            serial[0] &= 0x7f;
            serial[0] |= 0x01;
            var now = time.GetUtcNow();
            using var cert = request.Create(subject, X509SignatureGenerator(key), now.AddDays(-1), NotAfter > now ? NotAfter : now.AddYears(10), serial);
            var keyPem = key.ExportPkcs8PrivateKeyPem();
            return (Encoding.ASCII.GetString(CanonicalPem(cert.RawData)), keyPem);
        }
    }

    private static X509SignatureGenerator X509SignatureGenerator(AsymmetricAlgorithm key) => key switch
    {
        RSA rsa => System.Security.Cryptography.X509Certificates.X509SignatureGenerator.CreateForRSA(rsa, RSASignaturePadding.Pkcs1),
        ECDsa ec => System.Security.Cryptography.X509Certificates.X509SignatureGenerator.CreateForECDsa(ec),
        _ => throw new NotSupportedException(),
    };

    internal static byte[] CanonicalPem(ReadOnlySpan<byte> der) =>
        Encoding.ASCII.GetBytes(new string(PemEncoding.Write("CERTIFICATE", der)) + "\n");
}
