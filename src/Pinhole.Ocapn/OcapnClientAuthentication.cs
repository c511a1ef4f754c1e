namespace Pinhole.Ocapn;

/// <summary>Whether a <c>tcp-tls</c> listener asks dialers to prove who they are (a Pinhole extension).</summary>
public enum OcapnClientAuthentication
{
    /// <summary>Never ask, exactly as Goblins: dialers are anonymous.</summary>
    None,
    /// <summary>
    /// Send a TLS CertificateRequest. A dialer that answers with a certificate is named by the designator of
    /// that certificate (sha256d of its canonical PEM); one that answers with none is accepted anonymously,
    /// so Goblins dialers keep working.
    /// </summary>
    Optional,
    /// <summary>Send a CertificateRequest and refuse dialers that present no certificate.</summary>
    Required,
}
