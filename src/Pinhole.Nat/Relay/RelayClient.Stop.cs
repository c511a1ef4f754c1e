using Pinhole.Nat.Relay.Protocol;

namespace Pinhole.Nat.Relay;

public sealed partial class RelayClient
{
    /// <summary>
    /// Serves one inbound stop stream from a relay: a peer wants to reach us through it. On CONNECT from a relay we hold a
    /// reservation on, answers OK and upgrades the stream as the listener (TLS server; the initiator named in CONNECT must
    /// prove its key), then queues the connection for <see cref="AcceptAsync"/>. Bad or unwanted requests get a status
    /// (MALFORMED_MESSAGE, UNEXPECTED_MESSAGE, PERMISSION_DENIED, CONNECTION_FAILED); nothing is thrown for the peer's faults.
    /// Completes when the stream's work is over: at once for a refusal, and for an accepted circuit when the relayed
    /// connection ends (or <paramref name="cancellationToken"/> is cancelled), so a host may dispose the stream on return.
    /// </summary>
    public async Task HandleStopStreamAsync(PeerConnection relay, PeerStream stream, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(relay);
        ArgumentNullException.ThrowIfNull(stream);
        var handedOver = false;
        var slot = false;
        try
        {
            StopMessage request;
            using (var timeout = new CancellationTokenSource(_options.HopTimeout, _time))
            using (var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken, _shutdown.Token))
            {
                try
                {
                    var body = await DelimitedMessage.ReadAsync(stream, "stop", linked.Token).ConfigureAwait(false);
                    if (body is null)
                    {
                        return;
                    }
                    request = StopMessage.Parse(body);
                }
                catch (Exception e) when (e is FormatException || e is PeerException { Error: PeerError.ProtocolViolation })
                {
                    RelayLog.StopFailed(_logger, relay.RemotePeer, e.Message);
                    await AnswerAsync(stream, RelayStatus.MalformedMessage, linked.Token).ConfigureAwait(false);
                    return;
                }
                var refusal = request switch
                {
                    { Type: not StopMessageType.Connect } => RelayStatus.UnexpectedMessage,
                    { Peer: null } => RelayStatus.MalformedMessage,
                    _ when Volatile.Read(ref _disposed) != 0 => RelayStatus.ConnectionFailed,
                    _ when _options.AcceptOnlyReservedRelays && !HasReservationOn(relay) => RelayStatus.PermissionDenied,
                    _ => RelayStatus.Ok,
                };
                if (refusal == RelayStatus.Ok)
                {
                    slot = Interlocked.Increment(ref _pendingAccepts) <= _options.AcceptQueueLength;
                    if (!slot)
                    {
                        Interlocked.Decrement(ref _pendingAccepts);
                        refusal = RelayStatus.ConnectionFailed;
                    }
                }
                if (refusal != RelayStatus.Ok)
                {
                    var who = request.Peer?.Id ?? relay.RemotePeer;
                    RelayLog.StopRefused(_logger, who, relay.RemotePeer, refusal);
                    await AnswerAsync(stream, refusal, linked.Token).ConfigureAwait(false);
                    return;
                }
                await DelimitedMessage.WriteAsync(stream, new StopMessage(StopMessageType.Status, Status: RelayStatus.Ok).Encode(), linked.Token).ConfigureAwait(false);
            }
            var initiator = request.Peer!.Id;
            var limit = request.Limit?.ToConnectionLimit();
            // From here the stream is the circuit: the upgrade owns it (and disposes it if the handshake fails).
            handedOver = true;
            var connection = await PeerConnection.UpgradeInboundAsync(
                stream, _connectionOptions, initiator, UpgradeInfo(relay, initiator, limit), cancellationToken).ConfigureAwait(false);
            RelayLog.Relayed(_logger, "from", initiator, relay.RemotePeer, limit);
            if (!_accepted.Writer.TryWrite(connection))
            {
                await connection.DisposeAsync().ConfigureAwait(false);
                Interlocked.Decrement(ref _pendingAccepts);
            }
            slot = false;
            // The stream is the relayed connection's transport: stay "running" while it lives.
            try
            {
                await Task.WhenAny(connection.Completion).WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // The host is stopping or the relay connection closed: the relayed connection goes with it.
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
            var reason = e is OperationCanceledException ? "timed out" : e.Message;
            RelayLog.StopFailed(_logger, relay.RemotePeer, reason);
            if (!handedOver)
            {
                stream.Abort();
            }
        }
        finally
        {
            if (slot)
            {
                Interlocked.Decrement(ref _pendingAccepts);
            }
            if (!handedOver)
            {
                await stream.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private bool HasReservationOn(PeerConnection relay)
    {
        var now = _time.GetUtcNow();
        lock (_lock)
        {
            return _reservations.TryGetValue(relay.RemotePeer, out var reservation) && reservation.IsLive(now);
        }
    }

    private static async Task AnswerAsync(PeerStream stream, RelayStatus status, CancellationToken token)
    {
        await DelimitedMessage.WriteAsync(stream, new StopMessage(StopMessageType.Status, Status: status).Encode(), token).ConfigureAwait(false);
        stream.CompleteWrites();
    }
}
