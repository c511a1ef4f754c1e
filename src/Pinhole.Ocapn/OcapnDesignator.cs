using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Pinhole.Ocapn;

/// <summary>
/// The <c>tcp-tls</c> designator: lowercase hex of SHA-256(SHA-256(certificate PEM text)), exactly as Goblins
/// computes it over the PEM bytes it sends before TLS (not over the DER).
/// </summary>
public static class OcapnDesignator
{
    /// <summary>Length of a <c>tcp-tls</c> designator in hex characters.</summary>
    public const int TcpTlsLength = 64;

    /// <summary>The designator of a certificate whose PEM text is <paramref name="pem"/> (bytes as sent on the wire).</summary>
    public static string FromPem(ReadOnlySpan<byte> pem) => Convert.ToHexStringLower(Sha256d(pem));

    /// <summary>SHA-256 applied twice.</summary>
    public static byte[] Sha256d(ReadOnlySpan<byte> data)
    {
        Span<byte> once = stackalloc byte[32];
        SHA256.HashData(data, once);
        return SHA256.HashData(once);
    }

    /// <summary>
    /// The canonical PEM form of a certificate: RFC 7468 "strict" text, 64-column base64 lines, LF line
    /// endings and a final LF — the form GnuTLS exports and Pinhole writes. Used to name a TLS client
    /// certificate, whose PEM text never crosses the wire.
    /// </summary>
    public static byte[] CanonicalPem(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return Internal.NodeCertificates.CanonicalPem(certificate.RawData);
    }

    /// <summary>The designator of the canonical PEM form of <paramref name="certificate"/>.</summary>
    public static string FromCertificate(X509Certificate2 certificate) => FromPem(CanonicalPem(certificate));

    /// <summary>Checks a <c>tcp-tls</c> designator and returns it in lowercase; null and an error message if malformed.</summary>
    internal static string? NormalizeTcpTls(string designator, out string? error)
    {
        if (designator.Length != TcpTlsLength)
        {
            error = $"a tcp-tls designator is {TcpTlsLength} hex digits (sha256d of the certificate PEM), but '{Truncate(designator)}' has {designator.Length} characters";
            return null;
        }
        foreach (var c in designator)
        {
            if (!char.IsAsciiHexDigit(c))
            {
                error = $"a tcp-tls designator is hex, but '{Truncate(designator)}' contains '{c}'";
                return null;
            }
        }
        error = null;
        return designator.ToLowerInvariant();
    }

    internal static string Truncate(string text) => text.Length <= 80 ? text : string.Concat(text.AsSpan(0, 77), "...");
}
