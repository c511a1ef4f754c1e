using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace Pinhole.Connections;

/// <summary>
/// TLS 1.3 as libp2p/specs tls.md uses it: both sides present a libp2p certificate, no SNI, and the
/// muxer is offered inline in ALPN (connections/inlined-muxer-negotiation.md) next to "libp2p".
/// Certificates are checked by <see cref="Libp2pCertificate.Verify"/> only: no chain building, no system store.
/// </summary>
internal static class TlsUpgrade
{
    public const string ProtocolId = "/tls/1.0.0";
    public const string YamuxProtocolId = "/yamux/1.0.0";
    public static readonly SslApplicationProtocol AlpnYamux = new(YamuxProtocolId);
    public static readonly SslApplicationProtocol AlpnLibp2p = new("libp2p");
    private static readonly List<SslApplicationProtocol> Alpn = [AlpnYamux, AlpnLibp2p];

    /// <summary>What the certificate callback learned; the callback cannot throw our exceptions itself.</summary>
    public sealed class PeerCheck(PeerId? expected, TimeProvider time)
    {
        public PeerId? Expected { get; } = expected;
        public Libp2pPublicKey? RemoteKey { get; private set; }
        public PeerException? Failure { get; private set; }

        public bool Validate(X509Certificate? certificate)
        {
            if (certificate is not X509Certificate2 peerCertificate)
            {
                Failure = new PeerCertificateException(CertificateError.BadChain, "The peer presented no certificate.");
                return false;
            }
            try
            {
                var key = Libp2pCertificate.VerifyKey(peerCertificate, time);
                var proven = key.PeerId;
                if (Expected is not null && !Expected.FixedTimeEquals(proven))
                {
                    Failure = new PeerException(PeerError.PeerMismatch, $"Peer mismatch: dialed {Expected} but the peer proved {proven}.");
                    return false;
                }
                RemoteKey = key;
                return true;
            }
            catch (PeerException e)
            {
                Failure = e;
                return false;
            }
        }
    }

    private static X509ChainPolicy EmptyTrustPolicy() => new()
    {
        // Pinned peers need no chain: trusting an empty custom root keeps .NET from searching system stores.
        TrustMode = X509ChainTrustMode.CustomRootTrust,
        RevocationMode = X509RevocationMode.NoCheck,
        DisableCertificateDownloads = true,
    };

    public static SslClientAuthenticationOptions ClientOptions(SslStreamCertificateContext certificate, PeerCheck check) => new()
    {
        TargetHost = "", // libp2p: clients MUST NOT send SNI
        ClientCertificateContext = certificate,
        EnabledSslProtocols = SslProtocols.Tls13,
        ApplicationProtocols = Alpn,
        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        CertificateChainPolicy = EmptyTrustPolicy(),
        RemoteCertificateValidationCallback = (_, cert, _, _) => check.Validate(cert),
    };

    public static SslServerAuthenticationOptions ServerOptions(SslStreamCertificateContext certificate, PeerCheck check) => new()
    {
        ServerCertificateContext = certificate,
        ClientCertificateRequired = true,
        EnabledSslProtocols = SslProtocols.Tls13,
        ApplicationProtocols = Alpn,
        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        CertificateChainPolicy = EmptyTrustPolicy(),
        RemoteCertificateValidationCallback = (_, cert, _, _) => check.Validate(cert),
    };
}
