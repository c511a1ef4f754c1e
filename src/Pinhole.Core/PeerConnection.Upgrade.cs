using Microsoft.Extensions.Logging;
using Pinhole.Connections;

namespace Pinhole;

public sealed partial class PeerConnection
{
    /// <summary>
    /// Upgrades a connected byte stream (a relayed stream, a hole-punched socket) as the <b>dialer</b>, exactly as
    /// <see cref="ConnectAsync"/> does over TCP: multistream-select <c>/tls/1.0.0</c>, TLS 1.3 client with libp2p
    /// certificates (the peer must prove <paramref name="remotePeer"/>), then the yamux client. Whatever carries
    /// <paramref name="transport"/> sees ciphertext only. The connection owns <paramref name="transport"/>; on failure it is disposed.
    /// </summary>
    /// <exception cref="PeerException"><see cref="PeerError.PeerMismatch"/>, <see cref="PeerError.InvalidCertificate"/>,
    /// <see cref="PeerError.HandshakeFailed"/>, <see cref="PeerError.Refused"/>, or <see cref="PeerError.Timeout"/> after
    /// <see cref="PeerConnectionOptions.HandshakeTimeout"/>.</exception>
    public static async ValueTask<PeerConnection> UpgradeOutboundAsync(
        Stream transport, PeerId remotePeer, PeerConnectionOptions options, PeerUpgradeOptions? upgrade = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(remotePeer);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        upgrade ??= PeerUpgradeOptions.Default;
        upgrade.Validate();
        var upgraded = await RunUpgradeAsync(
            transport, options, upgrade, token => ConnectionUpgrader.UpgradeOutboundAsync(transport, remotePeer, options, token), cancellationToken).ConfigureAwait(false);
        return Create(upgraded, options, upgrade, isInbound: false);
    }

    /// <summary>
    /// Upgrades a connected byte stream as the <b>listener</b>, exactly as <see cref="PeerListener"/> does: multistream-select
    /// <c>/tls/1.0.0</c>, TLS 1.3 server requiring the peer's libp2p certificate, then the yamux server. When
    /// <paramref name="expectedPeer"/> is set, any other peer is refused during the handshake
    /// (<see cref="PeerError.PeerMismatch"/>). The connection owns <paramref name="transport"/>; on failure it is disposed.
    /// </summary>
    /// <exception cref="PeerException">As for <see cref="UpgradeOutboundAsync"/>.</exception>
    public static async ValueTask<PeerConnection> UpgradeInboundAsync(
        Stream transport, PeerConnectionOptions options, PeerId? expectedPeer = null, PeerUpgradeOptions? upgrade = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        upgrade ??= PeerUpgradeOptions.Default;
        upgrade.Validate();
        var upgraded = await RunUpgradeAsync(
            transport, options, upgrade, token => ConnectionUpgrader.UpgradeInboundAsync(transport, options, token, expected: expectedPeer), cancellationToken).ConfigureAwait(false);
        return Create(upgraded, options, upgrade, isInbound: true);
    }

    private static async Task<ConnectionUpgrader.Result> RunUpgradeAsync(
        Stream transport, PeerConnectionOptions options, PeerUpgradeOptions upgrade,
        Func<CancellationToken, Task<ConnectionUpgrader.Result>> run, CancellationToken cancellationToken)
    {
        using var timeout = new Deadline(options.HandshakeTimeout, options.TimeProvider, cancellationToken);
        var where = upgrade.RemoteAddress?.ToString() ?? upgrade.Netlayer;
        try
        {
            return await run(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            await transport.DisposeAsync().ConfigureAwait(false);
            throw new PeerException(PeerError.Timeout, $"Handshake over {where} did not finish within {options.HandshakeTimeout.TotalSeconds:0.#} s.");
        }
        catch (IOException e) when (e is not PeerException)
        {
            await transport.DisposeAsync().ConfigureAwait(false);
            throw new PeerException(PeerError.HandshakeFailed, $"Handshake over {where} failed: {e.Message}", e);
        }
        catch
        {
            await transport.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static PeerConnection Create(ConnectionUpgrader.Result upgraded, PeerConnectionOptions options, PeerUpgradeOptions upgrade, bool isInbound)
    {
        var connection = new PeerConnection(
            upgraded.Session, upgraded.RemoteKey, options, isInbound, upgrade.Netlayer, upgrade.LocalAddress, upgrade.RemoteAddress, upgrade.ListenAddresses)
        {
            Limit = upgrade.Limit,
        };
        var logger = options.LoggerFactory.CreateLogger<PeerConnection>();
        var where = upgrade.RemoteAddress?.ToString() ?? upgrade.Netlayer;
        ConnectionLog.Connected(logger, isInbound ? "from" : "to", connection.RemotePeer, where);
        return connection;
    }
}
