using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Pinhole.Identity;

namespace Pinhole;

/// <summary>
/// Disposable TLS certificates that carry a node's identity, per libp2p/specs tls/tls.md: a self-signed
/// certificate for a fresh ECDSA P-256 key, with the libp2p public key extension
/// (OID 1.3.6.1.4.1.53594.1.1) holding the host key and the host key's signature over the certificate key.
/// </summary>
/// <remarks>
/// <code>
/// SignedKey ::= SEQUENCE {
///   publicKey OCTET STRING,   -- libp2p PublicKey protobuf of the host key
///   signature OCTET STRING }  -- host key signs "libp2p-tls-handshake:" || SubjectPublicKeyInfo(certificate key)
/// </code>
/// </remarks>
public static class Libp2pCertificate
{
    /// <summary>The libp2p public key extension OID.</summary>
    public const string ExtensionOid = "1.3.6.1.4.1.53594.1.1";

    private static readonly byte[] SignaturePrefix = Encoding.ASCII.GetBytes("libp2p-tls-handshake:");

    // Extensions a libp2p certificate may mark critical that we understand (and ignore).
    private static readonly HashSet<string> UnderstoodCritical = [ExtensionOid, "2.5.29.19", "2.5.29.15", "2.5.29.37"];

    /// <summary>How long made certificates are valid; they are thrown away when the process ends.</summary>
    public static readonly TimeSpan Validity = TimeSpan.FromDays(365);

    /// <summary>Clock skew allowed for peers whose clocks are behind ours (the certificate starts this far in the past).</summary>
    public static readonly TimeSpan Backdate = TimeSpan.FromHours(1);

    /// <summary>Makes a fresh self-signed certificate with a new P-256 key, carrying <paramref name="identity"/>'s signature.</summary>
    public static X509Certificate2 Create(NodeIdentity identity, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(identity);
        var now = (timeProvider ?? TimeProvider.System).GetUtcNow();
        using var certificateKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("O=pinhole, SERIALNUMBER=" + identity.PeerId, certificateKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509Extension(ExtensionOid, EncodeSignedKey(identity, certificateKey.ExportSubjectPublicKeyInfo()), critical: false));
        var serial = new byte[8];
        RandomNumberGenerator.Fill(serial);
        serial[0] &= 0x7F;
        using var certificate = request.Create(request.SubjectName, X509SignatureGenerator.CreateForECDsa(certificateKey), now - Backdate, now + Validity, serial);
        // Round-trip through PKCS#12 so the private key is usable by SslStream on every platform.
        using var withKey = certificate.CopyWithPrivateKey(certificateKey);
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
    }

    /// <summary>The DER <c>SignedKey</c> for a certificate key's SubjectPublicKeyInfo.</summary>
    internal static byte[] EncodeSignedKey(NodeIdentity identity, ReadOnlySpan<byte> certificateSpki)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            writer.WriteOctetString(identity.PublicKey.Encoded.Span);
            writer.WriteOctetString(identity.Sign(Concat(SignaturePrefix, certificateSpki)));
        }
        return writer.Encode();
    }

    /// <summary>
    /// Checks a peer certificate as libp2p/specs tls.md requires and returns the PeerId it proves.
    /// Throws <see cref="PeerCertificateException"/> whose <see cref="PeerCertificateException.Reason"/> names the failed check.
    /// </summary>
    public static PeerId Verify(X509Certificate2 certificate, TimeProvider? timeProvider = null)
    {
        return VerifyKey(certificate, timeProvider).PeerId;
    }

    /// <summary>Like <see cref="Verify"/>, returning the proven host key.</summary>
    public static Libp2pPublicKey VerifyKey(X509Certificate2 certificate, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        var now = (timeProvider ?? TimeProvider.System).GetUtcNow().UtcDateTime;
        if (now < certificate.NotBefore.ToUniversalTime())
        {
            throw new PeerCertificateException(CertificateError.NotYetValid, $"The peer certificate is not valid before {certificate.NotBefore.ToUniversalTime():u} (now {now:u}).");
        }
        if (now > certificate.NotAfter.ToUniversalTime())
        {
            throw new PeerCertificateException(CertificateError.Expired, $"The peer certificate expired at {certificate.NotAfter.ToUniversalTime():u} (now {now:u}).");
        }
        if (VerifiedCertificateCache.Shared.TryGet(certificate, out var known, out var digest))
        {
            return known!;
        }
        X509Extension? libp2p = null;
        foreach (var extension in certificate.Extensions)
        {
            var oid = extension.Oid?.Value ?? "";
            if (oid == ExtensionOid)
            {
                libp2p = extension;
            }
            else if (extension.Critical && !UnderstoodCritical.Contains(oid))
            {
                throw new PeerCertificateException(CertificateError.UnknownCriticalExtension, $"The peer certificate has a critical extension {oid} that libp2p does not define.");
            }
        }
        if (libp2p is null)
        {
            throw new PeerCertificateException(CertificateError.MissingExtension, $"The peer certificate has no libp2p public key extension ({ExtensionOid}).");
        }
        CertificateSignature.VerifySelfSigned(certificate);
        var (hostKey, signature) = DecodeSignedKey(libp2p.RawData);
        var spki = certificate.PublicKey.ExportSubjectPublicKeyInfo();
        if (!hostKey.Verify(Concat(SignaturePrefix, spki), signature))
        {
            throw new PeerCertificateException(CertificateError.BadHostKeySignature, $"The host key signature in the peer certificate is invalid (claimed peer {hostKey.PeerId}).");
        }
        VerifiedCertificateCache.Shared.Add(digest, hostKey);
        return hostKey;
    }

    internal static (Libp2pPublicKey Key, byte[] Signature) DecodeSignedKey(byte[] der)
    {
        try
        {
            var reader = new AsnReader(der, AsnEncodingRules.DER);
            var sequence = reader.ReadSequence();
            reader.ThrowIfNotEmpty();
            var publicKey = sequence.ReadOctetString();
            var signature = sequence.ReadOctetString();
            sequence.ThrowIfNotEmpty();
            return (Libp2pPublicKey.Decode(publicKey), signature);
        }
        catch (Exception e) when (e is AsnContentException or FormatException or CryptographicException)
        {
            throw new PeerCertificateException(CertificateError.MalformedExtension, "The libp2p extension of the peer certificate is malformed: " + e.Message, e);
        }
    }

    private static byte[] Concat(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        var result = new byte[a.Length + b.Length];
        a.CopyTo(result);
        b.CopyTo(result.AsSpan(a.Length));
        return result;
    }
}
