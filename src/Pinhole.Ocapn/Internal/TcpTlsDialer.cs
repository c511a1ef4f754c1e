using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Pinhole.Ocapn.Internal;

/// <summary>
/// The dialing half of the tcp-tls netlayer: TCP connect, read and check the listener's PEM against the
/// designator before sending a single byte, then TLS trusting exactly that certificate.
/// </summary>
internal static class TcpTlsDialer
{
    internal static async Task<OcapnTcpTlsConnection> ConnectAsync(OcapnLocator locator, OcapnTcpTlsConnectOptions options, CancellationToken cancellationToken)
    {
        if (!string.Equals(locator.Transport, OcapnLocator.TcpTls, StringComparison.Ordinal))
        {
            throw new ArgumentException($"The tcp-tls netlayer cannot dial transport '{locator.Transport}'.", nameof(locator));
        }
        var host = locator.Host ?? throw new PeerException(PeerError.Unreachable, $"The locator for {locator.Designator} has no host hint; there is nowhere to dial.");
        var port = locator.Port ?? options.DefaultPort;
        using var timeout = options.HandshakeTimeout == Timeout.InfiniteTimeSpan
            ? new CancellationTokenSource()
            : new CancellationTokenSource(options.HandshakeTimeout, options.TimeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        var token = linked.Token;
        var where = $"{host}:{port}";
        Socket? socket = null;
        SslStream? ssl = null;
        try
        {
            socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(host, port, token).ConfigureAwait(false);
            }
            catch (SocketException ex)
            {
                throw new PeerException(PeerError.Unreachable, $"Cannot reach tcp-tls node {locator.Designator} at {where}: {ex.Message}", ex);
            }
            var local = socket.LocalEndPoint as IPEndPoint;
            var remote = socket.RemoteEndPoint as IPEndPoint;
            var net = new NetworkStream(socket, ownsSocket: true);
            socket = null;
            ssl = new SslStream(net, leaveInnerStreamOpen: false);

            var pem = await ReadListenerPemAsync(net, options.MaxCertificatePemLength, where, token).ConfigureAwait(false);
            var actual = OcapnDesignator.FromPem(pem);
            if (!CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(actual), Encoding.ASCII.GetBytes(locator.Designator)))
            {
                throw new PeerException(PeerError.PeerMismatch,
                    $"Certificate hash mismatch at {where}: expected designator {locator.Designator}, but the listener's certificate PEM hashes to {actual}. Nothing was sent.");
            }
            var der = PreTls.ExtractCertificate(pem, out var error)
                ?? throw new PeerException(PeerError.InvalidCertificate, $"tcp-tls listener at {where}: {error}.");
            X509Certificate2 pinned;
            try
            {
                pinned = X509CertificateLoader.LoadCertificate(der);
            }
            catch (CryptographicException ex)
            {
                throw new PeerException(PeerError.InvalidCertificate, $"tcp-tls listener at {where} sent a certificate that cannot be parsed: {ex.Message}", ex);
            }
            if (options.CheckValidityPeriod)
            {
                var now = options.TimeProvider.GetUtcNow().UtcDateTime;
                if (now < pinned.NotBefore.ToUniversalTime() || now > pinned.NotAfter.ToUniversalTime())
                {
                    pinned.Dispose();
                    throw new PeerException(PeerError.InvalidCertificate,
                        $"tcp-tls listener at {where} has a certificate valid from {pinned.NotBefore.ToUniversalTime():u} to {pinned.NotAfter.ToUniversalTime():u}, not now ({now:u}).");
                }
            }

            string? pinFailure = null;
            var node = options.Node;
            var sslOptions = new SslClientAuthenticationOptions
            {
                // No SNI: Goblins sends none, and the pinned certificate, not a name, is what is checked.
                TargetHost = string.Empty,
                EnabledSslProtocols = options.EnabledSslProtocols,
                CertificateRevocationCheckMode = System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck,
                AllowRenegotiation = false,
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                {
                    // Trust exactly the certificate whose PEM matched the designator; chain and name do not matter.
                    if (certificate is null)
                    {
                        pinFailure = "the listener presented no certificate in TLS";
                        return false;
                    }
                    if (!certificate.GetRawCertData().AsSpan().SequenceEqual(der))
                    {
                        pinFailure = "the certificate used in TLS is not the one whose PEM was sent before TLS";
                        return false;
                    }
                    return true;
                },
                // Called only when the listener sends a CertificateRequest: a Pinhole listener with client
                // authentication on. Goblins listeners never ask, so the dialer stays anonymous there.
                LocalCertificateSelectionCallback = node is null ? null : (_, _, _, _, _) => node.Certificate,
            };
            try
            {
                await ssl.AuthenticateAsClientAsync(sslOptions, token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is System.Security.Authentication.AuthenticationException or IOException && !token.IsCancellationRequested)
            {
                pinned.Dispose();
                if (pinFailure is not null)
                {
                    throw new PeerException(PeerError.PeerMismatch, $"TLS with {locator.Designator} at {where} refused: {pinFailure}.", ex);
                }
                throw new PeerException(PeerError.HandshakeFailed, $"TLS handshake with {locator.Designator} at {where} failed: {ex.Message}", ex);
            }
            var presented = ssl.LocalCertificate is not null;
            OcapnMetrics.Dialed.Add(1);
            if (options.Logger is { } log)
            {
                OcapnLog.Connected(log, locator.Designator, remote, ssl.SslProtocol.ToString(), presented);
            }
            var connection = new OcapnTcpTlsConnection(ssl, isInbound: false, locator.Designator, pinned, locator, local, remote, presented, onClose: null);
            ssl = null;
            return connection;
        }
        catch (Exception ex) when (ex is OperationCanceledException or System.Security.Authentication.AuthenticationException or IOException
            && ex is not PeerException && timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new PeerException(PeerError.Timeout, $"tcp-tls connect to {locator.Designator} at {where} did not complete within {options.HandshakeTimeout}.", ex);
        }
        finally
        {
            socket?.Dispose();
            ssl?.Dispose();
        }
    }

    /// <summary>Reads the pre-TLS header (see <see cref="PreTls"/>), refusing bad input as soon as it shows.</summary>
    private static async Task<byte[]> ReadListenerPemAsync(NetworkStream net, int maxLength, string where, CancellationToken token)
    {
        var header = new byte[PreTls.LengthSize];
        var got = await net.ReadAtLeastAsync(header, header.Length, throwOnEndOfStream: false, token).ConfigureAwait(false);
        if (got < header.Length)
        {
            throw new PeerException(PeerError.ConnectionClosed, got == 0
                ? $"The listener at {where} closed the connection without sending its certificate (4-byte length + PEM); it is not an OCapN tcp-tls listener, or it is overloaded."
                : $"The listener at {where} closed the connection after {got} of the 4 length bytes.");
        }
        var length = PreTls.ReadLength(header);
        if (length == 0)
        {
            var reasonBytes = new byte[PreTls.MaxReasonLength];
            var n = await net.ReadAtLeastAsync(reasonBytes, reasonBytes.Length, throwOnEndOfStream: false, token).ConfigureAwait(false);
            var reason = n == 0 ? "no reason given" : Encoding.UTF8.GetString(reasonBytes, 0, n);
            throw new PeerException(PeerError.Refused, $"The tcp-tls listener at {where} refused the connection: {reason}.");
        }
        if (PreTls.CheckLength(length, maxLength, header) is { } lengthError)
        {
            throw new PeerException(PeerError.ProtocolViolation, $"tcp-tls listener at {where}: {lengthError}.");
        }
        // Bounded by maxLength, checked above.
        var pem = new byte[length];
        var sniff = Math.Min(pem.Length, PreTls.SniffLength);
        got = await net.ReadAtLeastAsync(pem.AsMemory(0, sniff), sniff, throwOnEndOfStream: false, token).ConfigureAwait(false);
        var total = got;
        if (got == sniff)
        {
            if (!PreTls.LooksLikePem(pem.AsSpan(0, sniff), out var bad))
            {
                throw new PeerException(PeerError.ProtocolViolation, $"tcp-tls listener at {where} sent a certificate that is not PEM text (byte 0x{pem[bad]:x2} at offset {bad}).");
            }
            if (sniff < pem.Length)
            {
                total += await net.ReadAtLeastAsync(pem.AsMemory(sniff), pem.Length - sniff, throwOnEndOfStream: false, token).ConfigureAwait(false);
            }
        }
        if (total < pem.Length)
        {
            throw new PeerException(PeerError.ConnectionClosed, $"The listener at {where} closed the connection after {total} of {pem.Length} certificate bytes.");
        }
        if (!PreTls.LooksLikePem(pem, out var badAt))
        {
            throw new PeerException(PeerError.ProtocolViolation, $"tcp-tls listener at {where} sent a certificate that is not PEM text (byte 0x{pem[badAt]:x2} at offset {badAt}).");
        }
        return pem;
    }
}
