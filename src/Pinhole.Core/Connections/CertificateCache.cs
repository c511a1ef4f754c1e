using System.Net.Security;
using System.Runtime.CompilerServices;

namespace Pinhole.Connections;

/// <summary>
/// One disposable certificate per identity, made on first use and renewed a day before it expires, shared
/// by every connection of that identity so handshakes do not pay for key generation and signing.
/// </summary>
internal sealed class CertificateCache
{
    private static readonly TimeSpan RenewBefore = TimeSpan.FromDays(1);
    private static readonly ConditionalWeakTable<NodeIdentity, CertificateCache> PerIdentity = [];
    private readonly Lock _lock = new();
    private SslStreamCertificateContext? _context;
    private DateTimeOffset _notAfter;

    public static SslStreamCertificateContext Get(PeerConnectionOptions options)
    {
        var identity = options.Identity!;
        return PerIdentity.GetValue(identity, static _ => new CertificateCache()).Get(identity, options.TimeProvider);
    }

    private SslStreamCertificateContext Get(NodeIdentity identity, TimeProvider time)
    {
        var now = time.GetUtcNow();
        lock (_lock)
        {
            if (_context is null || now > _notAfter - RenewBefore)
            {
                var certificate = Libp2pCertificate.Create(identity, time);
                _context = SslStreamCertificateContext.Create(certificate, additionalCertificates: null, offline: true);
                _notAfter = certificate.NotAfter.ToUniversalTime();
            }
            return _context;
        }
    }
}
