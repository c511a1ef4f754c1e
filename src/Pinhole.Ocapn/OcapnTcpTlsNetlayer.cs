using System.Security.Cryptography.X509Certificates;
using Pinhole.Ocapn.Internal;

namespace Pinhole.Ocapn;

/// <summary>
/// The Goblins-compatible OCapN <c>tcp-tls</c> netlayer (wire format: docs/ocapn.md). Shaped like System.Net.Quic:
/// <see cref="ListenAsync"/> returns a listener whose <see cref="OcapnTcpTlsListener.AcceptAsync"/> yields
/// connections; <see cref="ConnectAsync(OcapnLocator, OcapnTcpTlsConnectOptions?, CancellationToken)"/> dials a locator.
/// </summary>
public static class OcapnTcpTlsNetlayer
{
    /// <summary>The transport name in locators: <c>tcp-tls</c>.</summary>
    public const string TransportName = OcapnLocator.TcpTls;

    /// <summary>Starts listening.</summary>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    /// <exception cref="PeerException">The address cannot be bound.</exception>
    public static Task<OcapnTcpTlsListener> ListenAsync(OcapnTcpTlsListenerOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        return OcapnTcpTlsListener.StartAsync(options, cancellationToken);
    }

    /// <summary>
    /// Dials a node: TCP to the <c>host</c>/<c>port</c> hints, reads the listener's certificate PEM and checks its sha256d
    /// against the designator before sending anything, then does TLS trusting only that certificate.
    /// </summary>
    /// <exception cref="PeerException">
    /// <see cref="PeerError.PeerMismatch"/> (wrong designator, naming both), <see cref="PeerError.Refused"/> (the
    /// listener is at its connection cap), <see cref="PeerError.ProtocolViolation"/> (not a tcp-tls listener),
    /// <see cref="PeerError.Unreachable"/>, <see cref="PeerError.ConnectionClosed"/>, <see cref="PeerError.HandshakeFailed"/>,
    /// <see cref="PeerError.InvalidCertificate"/>, <see cref="PeerError.Timeout"/>.
    /// </exception>
    public static Task<OcapnTcpTlsConnection> ConnectAsync(OcapnLocator locator, OcapnTcpTlsConnectOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(locator);
        options ??= new OcapnTcpTlsConnectOptions();
        options.Validate();
        return TcpTlsDialer.ConnectAsync(locator, options, cancellationToken);
    }

    /// <summary>Dials the node of a sturdyref (the swiss number is for CapTP, not for the netlayer).</summary>
    public static Task<OcapnTcpTlsConnection> ConnectAsync(OcapnSturdyRef sturdyRef, OcapnTcpTlsConnectOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sturdyRef);
        return ConnectAsync(sturdyRef.Node, options, cancellationToken);
    }

    /// <summary>
    /// Reachability check that works against any tcp-tls node, Pinhole or Goblins: TCP connect, the pre-TLS
    /// certificate check against the designator, and a completed TLS handshake; then the connection is closed
    /// without sending application data. It does not prove that CapTP is running behind the TLS.
    /// </summary>
    /// <exception cref="PeerException">As for <see cref="ConnectAsync(OcapnLocator, OcapnTcpTlsConnectOptions?, CancellationToken)"/>.</exception>
    public static async Task<OcapnPingResult> PingAsync(OcapnLocator locator, OcapnTcpTlsConnectOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new OcapnTcpTlsConnectOptions();
        var started = options.TimeProvider.GetTimestamp();
        var connection = await ConnectAsync(locator, options, cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var certificate = connection.RemoteCertificate!;
            return new OcapnPingResult
            {
                Designator = connection.RemoteDesignator!,
                RemoteEndPoint = connection.RemoteEndPoint,
                SslProtocol = connection.SslProtocol,
                CertificateSubject = certificate.Subject,
                KeyAlgorithm = certificate.GetRSAPublicKey() is { } rsa ? $"RSA-{rsa.KeySize}" : "ECDSA",
                Elapsed = options.TimeProvider.GetElapsedTime(started),
            };
        }
    }
}
