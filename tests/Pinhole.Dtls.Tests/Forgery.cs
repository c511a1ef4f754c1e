using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Pinhole.Dtls.Tests;

internal static class Forgery
{
    /// <summary>
    /// A certificate that claims <paramref name="victim"/>'s identity by copying the libp2p extension of a
    /// genuine certificate onto a certificate for another key: the extension's signature does not cover it.
    /// </summary>
    public static X509Certificate2 StolenExtension(NodeIdentity victim)
    {
        using X509Certificate2 genuine = Libp2pCertificate.Create(victim);
        X509Extension extension = genuine.Extensions[Libp2pCertificate.ExtensionOid]!;
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("O=forged", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509Extension(extension.Oid!, extension.RawData, critical: false));
        DateTimeOffset now = DateTimeOffset.UtcNow;
        using X509Certificate2 forged = request.CreateSelfSigned(now.AddHours(-1), now.AddDays(1));
        return X509CertificateLoader.LoadPkcs12(forged.Export(X509ContentType.Pkcs12), null);
    }
}
