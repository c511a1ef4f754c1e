using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Org.BouncyCastle.Math.EC.Rfc8032;

namespace Pinhole.Identity;

/// <summary>
/// Verifies a certificate's self-signature directly (tbsCertificate against its own key), without
/// chain building: pinned peers need no trust store, and chain building would cost every handshake.
/// </summary>
/// <remarks>
/// <code>
/// Certificate ::= SEQUENCE { tbsCertificate TBSCertificate, signatureAlgorithm AlgorithmIdentifier, signatureValue BIT STRING }
/// </code>
/// </remarks>
internal static class CertificateSignature
{
    public static void VerifySelfSigned(X509Certificate2 certificate)
    {
        ReadOnlyMemory<byte> tbs;
        string algorithm;
        byte[] signature;
        try
        {
            var reader = new AsnReader(certificate.RawDataMemory, AsnEncodingRules.DER);
            var outer = reader.ReadSequence();
            tbs = outer.ReadEncodedValue();
            var algorithmIdentifier = outer.ReadSequence();
            algorithm = algorithmIdentifier.ReadObjectIdentifier();
            signature = outer.ReadBitString(out var unused);
            if (unused != 0)
            {
                throw new AsnContentException("signature bit string has unused bits");
            }
        }
        catch (AsnContentException e)
        {
            throw new PeerCertificateException(CertificateError.Malformed, "The peer certificate cannot be parsed: " + e.Message, e);
        }
        if (!Verify(certificate, algorithm, tbs.Span, signature))
        {
            throw new PeerCertificateException(CertificateError.BadSelfSignature, "The peer certificate's self-signature is invalid.");
        }
    }

    private static bool Verify(X509Certificate2 certificate, string algorithm, ReadOnlySpan<byte> tbs, byte[] signature)
    {
        switch (algorithm)
        {
            case "1.2.840.10045.4.3.2":
                return VerifyEcdsa(certificate, tbs, signature, HashAlgorithmName.SHA256);
            case "1.2.840.10045.4.3.3":
                return VerifyEcdsa(certificate, tbs, signature, HashAlgorithmName.SHA384);
            case "1.2.840.10045.4.3.4":
                return VerifyEcdsa(certificate, tbs, signature, HashAlgorithmName.SHA512);
            case "1.2.840.113549.1.1.11":
                return VerifyRsa(certificate, tbs, signature, HashAlgorithmName.SHA256);
            case "1.2.840.113549.1.1.12":
                return VerifyRsa(certificate, tbs, signature, HashAlgorithmName.SHA384);
            case "1.2.840.113549.1.1.13":
                return VerifyRsa(certificate, tbs, signature, HashAlgorithmName.SHA512);
            case "1.3.101.112":
                return VerifyEd25519(certificate, tbs, signature);
            default:
                throw new PeerCertificateException(CertificateError.Malformed, $"The peer certificate uses an unsupported signature algorithm ({algorithm}).");
        }
    }

    private static bool VerifyEcdsa(X509Certificate2 certificate, ReadOnlySpan<byte> tbs, byte[] signature, HashAlgorithmName hash)
    {
        using var key = certificate.GetECDsaPublicKey()
            ?? throw new PeerCertificateException(CertificateError.BadSelfSignature, "The peer certificate is signed with ECDSA but its key is not an ECDSA key.");
        return key.VerifyData(tbs, signature, hash, DSASignatureFormat.Rfc3279DerSequence);
    }

    private static bool VerifyRsa(X509Certificate2 certificate, ReadOnlySpan<byte> tbs, byte[] signature, HashAlgorithmName hash)
    {
        using var key = certificate.GetRSAPublicKey()
            ?? throw new PeerCertificateException(CertificateError.BadSelfSignature, "The peer certificate is signed with RSA but its key is not an RSA key.");
        return key.VerifyData(tbs, signature, hash, RSASignaturePadding.Pkcs1);
    }

    private static bool VerifyEd25519(X509Certificate2 certificate, ReadOnlySpan<byte> tbs, byte[] signature)
    {
        // SubjectPublicKeyInfo's BIT STRING holds the raw 32-byte key.
        var key = certificate.PublicKey.EncodedKeyValue.RawData;
        return key.Length == Ed25519.PublicKeySize && signature.Length == Ed25519.SignatureSize
            && Ed25519.Verify(signature, key, tbs);
    }
}
