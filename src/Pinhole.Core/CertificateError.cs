namespace Pinhole;

/// <summary>Why a peer's libp2p TLS certificate was rejected; each check of libp2p/specs tls.md has its own value.</summary>
public enum CertificateError
{
    /// <summary>The certificate's NotBefore is in the future.</summary>
    NotYetValid = 1,
    /// <summary>The certificate's NotAfter is in the past.</summary>
    Expired,
    /// <summary>The certificate is not validly signed by its own key.</summary>
    BadSelfSignature,
    /// <summary>The libp2p public key extension (OID 1.3.6.1.4.1.53594.1.1) is absent.</summary>
    MissingExtension,
    /// <summary>The extension is not a well-formed <c>SignedKey</c>, or its public key cannot be decoded.</summary>
    MalformedExtension,
    /// <summary>The host key's signature over the certificate key is invalid.</summary>
    BadHostKeySignature,
    /// <summary>The certificate carries a critical extension we do not understand.</summary>
    UnknownCriticalExtension,
    /// <summary>The peer sent a chain instead of a single certificate, or no certificate.</summary>
    BadChain,
    /// <summary>The certificate cannot be parsed or uses an unsupported signature algorithm.</summary>
    Malformed,
}

/// <summary>A peer certificate failed one of the libp2p checks; <see cref="Reason"/> says which.</summary>
public sealed class PeerCertificateException : PeerException
{
    /// <summary>Creates the exception.</summary>
    public PeerCertificateException(CertificateError reason, string message, Exception? innerException = null)
        : base(PeerError.InvalidCertificate, message, innerException)
    {
        Reason = reason;
    }

    /// <summary>Which check failed.</summary>
    public CertificateError Reason { get; }
}
