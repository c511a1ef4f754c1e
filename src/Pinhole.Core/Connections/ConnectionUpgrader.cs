using System.Net.Security;
using System.Security.Authentication;
using Microsoft.Extensions.Logging;
using Pinhole.Transport.Multistream;
using Pinhole.Transport.Yamux;

namespace Pinhole.Connections;

/// <summary>
/// Turns a raw byte stream into an authenticated, multiplexed connection, the libp2p way:
/// multistream-select <c>/tls/1.0.0</c> → TLS 1.3 (mutual, libp2p certificates) → <c>/yamux/1.0.0</c>
/// (inlined in ALPN when both offer it, else multistream-select inside TLS). docs/connection-upgrade.md has the bytes.
/// </summary>
internal static class ConnectionUpgrader
{
    public sealed record Result(SslStream Tls, YamuxSession Session, Libp2pPublicKey RemoteKey);

    /// <summary>
    /// Dialer. The <c>/tls/1.0.0</c> proposal is optimistic: it leaves in the same write as the ClientHello, and the
    /// listener's echo is checked before TLS reads its first byte (<see cref="OptimisticSelectStream"/>), so the
    /// handshake costs no round trip more than bare TLS. When the handshake fails and the listener's answer explains
    /// why (its "na", a garbled echo, its closing first), that answer is the error, not TLS's view of it.
    /// </summary>
    public static async Task<Result> UpgradeOutboundAsync(Stream raw, PeerId? expected, PeerConnectionOptions options, CancellationToken cancellationToken)
    {
        var security = new OptimisticSelectStream(raw, TlsUpgrade.ProtocolId);
        var check = new TlsUpgrade.PeerCheck(expected, options.TimeProvider);
        var tls = new SslStream(security, leaveInnerStreamOpen: false);
        try
        {
            try
            {
                await AuthenticateAsync(tls.AuthenticateAsClientAsync(TlsUpgrade.ClientOptions(CertificateCache.Get(options), check), cancellationToken), check).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException && !security.IsConfirmed)
            {
                if (await security.ExplainFailureAsync(options.TimeProvider, cancellationToken).ConfigureAwait(false) is { } answer)
                {
                    throw answer.Error == PeerError.Refused
                        ? new PeerException(PeerError.Refused, $"The peer refused the connection: it declined {TlsUpgrade.ProtocolId} (a Pinhole node does this when it is at its connection limit).", answer)
                        : answer;
                }
                throw;
            }
            if (tls.NegotiatedApplicationProtocol != TlsUpgrade.AlpnYamux)
            {
                await MultistreamSelect.SelectAsync(tls, [TlsUpgrade.YamuxProtocolId], cancellationToken).ConfigureAwait(false);
            }
            var session = StartSession(tls, isClient: true, options);
            return new Result(tls, session, check.RemoteKey!);
        }
        catch
        {
            await tls.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <param name="raw">The dialer's byte stream.</param>
    /// <param name="options">Limits and identity.</param>
    /// <param name="cancellationToken">The handshake's deadline.</param>
    /// <param name="progress">Told when TLS is about to start (<see cref="HandshakeStage.Securing"/>) and when it is done (<see cref="HandshakeStage.Muxing"/>).</param>
    /// <param name="admit">Asked once the dialer's key is verified, before the muxer starts: null to go on, or why
    /// the connection is refused. A refused dialer is told so inside TLS (a yamux GoAway, or "na" to its muxer
    /// proposal) and this throws <see cref="PeerException"/> with <see cref="PeerError.Refused"/>.</param>
    /// <param name="expected">The peer that must answer (a hole-punched or relayed connection), or null for any.</param>
    public static async Task<Result> UpgradeInboundAsync(
        Stream raw, PeerConnectionOptions options, CancellationToken cancellationToken,
        Action<HandshakeStage>? progress = null, Func<Libp2pPublicKey, string?>? admit = null, PeerId? expected = null)
    {
        await MultistreamSelect.NegotiateAsync(raw, static p => p == TlsUpgrade.ProtocolId, cancellationToken).ConfigureAwait(false);
        progress?.Invoke(HandshakeStage.Securing);
        var check = new TlsUpgrade.PeerCheck(expected, options.TimeProvider);
        var tls = new SslStream(raw, leaveInnerStreamOpen: false);
        try
        {
            await AuthenticateAsync(tls.AuthenticateAsServerAsync(TlsUpgrade.ServerOptions(CertificateCache.Get(options), check), cancellationToken), check).ConfigureAwait(false);
            progress?.Invoke(HandshakeStage.Muxing);
            if (admit?.Invoke(check.RemoteKey!) is { } refusal)
            {
                await RefuseInsideTlsAsync(tls, cancellationToken).ConfigureAwait(false);
                throw new PeerException(PeerError.Refused, refusal);
            }
            if (tls.NegotiatedApplicationProtocol != TlsUpgrade.AlpnYamux)
            {
                await MultistreamSelect.NegotiateAsync(tls, static p => p == TlsUpgrade.YamuxProtocolId, cancellationToken).ConfigureAwait(false);
            }
            var session = StartSession(tls, isClient: false, options);
            return new Result(tls, session, check.RemoteKey!);
        }
        catch
        {
            await tls.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// What a listener sends at once, without reading, to refuse a dialer: its header and "na". The dialer
    /// (which sent its header, "/tls/1.0.0" and its ClientHello in one write) reads them as the refusal of its
    /// proposal before TLS sees a byte, and fails with <see cref="PeerError.Refused"/>.
    /// </summary>
    public static readonly byte[] Refusal = MultistreamMessage.Encode(MultistreamMessage.Header, MultistreamMessage.NotAvailable);

    // A yamux GoAway (type 3, stream 0, code 0 "normal"): no new streams, so the dialer's first open fails with Refused.
    private static readonly byte[] GoAway = [0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

    private static async Task RefuseInsideTlsAsync(SslStream tls, CancellationToken cancellationToken)
    {
        try
        {
            await tls.WriteAsync(tls.NegotiatedApplicationProtocol == TlsUpgrade.AlpnYamux ? GoAway : Refusal, cancellationToken).ConfigureAwait(false);
            await tls.FlushAsync(cancellationToken).ConfigureAwait(false);
            await tls.ShutdownAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
        {
            // The dialer is gone already; it is refused either way.
        }
    }

    private static async Task AuthenticateAsync(Task handshake, TlsUpgrade.PeerCheck check)
    {
        try
        {
            await handshake.ConfigureAwait(false);
        }
        catch (AuthenticationException e)
        {
            throw check.Failure ?? new PeerException(PeerError.HandshakeFailed, "TLS handshake failed: " + e.Message, e);
        }
        if (check.Failure is not null)
        {
            throw check.Failure;
        }
        if (check.RemoteKey is null)
        {
            throw new PeerException(PeerError.HandshakeFailed, "TLS handshake completed without a verified peer certificate.");
        }
    }

    public static YamuxSession StartSession(Stream transport, bool isClient, PeerConnectionOptions options)
    {
        var session = new YamuxSession(transport, isClient, ToYamuxOptions(options), options.TimeProvider, options.LoggerFactory.CreateLogger<YamuxSession>());
        session.Start();
        return session;
    }

    public static YamuxSessionOptions ToYamuxOptions(PeerConnectionOptions options) => new()
    {
        InitialStreamWindow = options.InitialStreamWindow,
        MaxStreamWindow = options.MaxStreamWindow,
        MaxStreams = options.MaxStreamsPerConnection,
        MaxPendingInboundStreams = options.MaxPendingInboundStreams,
        MaxReceivedFrameSize = options.MaxFrameSize,
        KeepAliveInterval = options.KeepAliveInterval,
        PingTimeout = options.KeepAliveTimeout,
        IdleTimeout = options.IdleTimeout,
    };
}
