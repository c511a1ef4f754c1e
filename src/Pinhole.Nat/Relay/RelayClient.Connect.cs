using Pinhole.Nat.Relay.Protocol;

namespace Pinhole.Nat.Relay;

public sealed partial class RelayClient
{
    /// <summary>
    /// Dials <paramref name="target"/> through the relay at the other end of <paramref name="relay"/>: hop CONNECT, then
    /// the end-to-end upgrade as the dialer (TLS client; the target must prove its key). The result is limited
    /// (<see cref="PeerConnection.IsLimited"/>) when the relay announced a limit; it closes when the relay cuts the circuit.
    /// </summary>
    /// <exception cref="RelayException">The relay refused: NO_RESERVATION (<see cref="PeerError.Unreachable"/>),
    /// RESOURCE_LIMIT_EXCEEDED (<see cref="PeerError.LimitExceeded"/>), PERMISSION_DENIED, CONNECTION_FAILED, ...</exception>
    /// <exception cref="PeerException">A malformed answer, a timeout, or a failed handshake with the target.</exception>
    public async ValueTask<PeerConnection> ConnectAsync(PeerConnection relay, PeerId target, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(relay);
        ArgumentNullException.ThrowIfNull(target);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (relay.Netlayer == Netlayer)
        {
            throw new PeerException(PeerError.Refused, $"Cannot dial through {relay.RemotePeer} over a relayed connection: relays do not chain.");
        }
        HopMessage answer;
        var stream = await relay.OpenStreamAsync(HopProtocolId, cancellationToken).ConfigureAwait(false);
        try
        {
            using var timeout = new CancellationTokenSource(_options.HopTimeout, _time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken);
            try
            {
                var connect = new HopMessage(HopMessageType.Connect, new RelayPeer(target, []));
                await DelimitedMessage.WriteAsync(stream, connect.Encode(), linked.Token).ConfigureAwait(false);
                var body = await DelimitedMessage.ReadAsync(stream, "hop", linked.Token).ConfigureAwait(false)
                    ?? throw new PeerException(PeerError.ConnectionClosed, $"Relay {relay.RemotePeer} closed the hop stream without answering CONNECT.");
                answer = Parse(body, relay);
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                throw new PeerException(PeerError.Timeout, $"Relay {relay.RemotePeer} did not answer CONNECT to {target} within {_options.HopTimeout.TotalSeconds:0.#} s.");
            }
            if (answer.Type != HopMessageType.Status)
            {
                throw new PeerException(PeerError.ProtocolViolation, $"Relay {relay.RemotePeer} answered CONNECT with {answer.Type}, not STATUS.");
            }
            if (answer.Status != RelayStatus.Ok)
            {
                var status = answer.Status ?? RelayStatus.Unused;
                throw new RelayException(status, ErrorFor(status), $"Relay {relay.RemotePeer} could not connect us to {target}: {RelayException.Name(status)}.");
            }
        }
        catch
        {
            stream.Abort();
            await stream.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        var limit = answer.Limit?.ToConnectionLimit();
        var connection = await PeerConnection.UpgradeOutboundAsync(
            stream, target, _connectionOptions, UpgradeInfo(relay, target, limit), cancellationToken).ConfigureAwait(false);
        RelayLog.Relayed(_logger, "to", target, relay.RemotePeer, limit);
        return connection;
    }

    /// <summary>Dials the peer named by <paramref name="address"/> through <paramref name="relay"/>, which must be the relay it names.</summary>
    public ValueTask<PeerConnection> ConnectAsync(PeerConnection relay, CircuitAddress address, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(relay);
        ArgumentNullException.ThrowIfNull(address);
        if (address.Destination is null)
        {
            throw new ArgumentException($"{address} names no destination peer.", nameof(address));
        }
        if (!address.Relay.Equals(relay.RemotePeer))
        {
            throw new ArgumentException($"{address} goes through {address.Relay}, but the connection is to {relay.RemotePeer}.", nameof(relay));
        }
        return ConnectAsync(relay, address.Destination, cancellationToken);
    }
}
