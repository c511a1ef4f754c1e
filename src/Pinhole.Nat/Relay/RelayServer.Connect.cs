using Pinhole.Nat.Relay.Protocol;

namespace Pinhole.Nat.Relay;

public sealed partial class RelayServer
{
    /// <summary>Answers a CONNECT; the running circuit (which owns <paramref name="stream"/>) on OK, else null.</summary>
    private async Task<Task?> ConnectAsync(PeerConnection connection, PeerStream stream, HopMessage request, CancellationToken token)
    {
        var initiator = connection.RemotePeer;
        if (IsRelayed(connection))
        {
            await RefuseCircuitAsync(stream, initiator, RelayStatus.PermissionDenied, token).ConfigureAwait(false);
            return null;
        }
        if (request.Peer is null)
        {
            await RefuseCircuitAsync(stream, initiator, RelayStatus.MalformedMessage, token).ConfigureAwait(false);
            return null;
        }
        var target = request.Peer.Id;
        var reservation = LiveReservation(target);
        if (reservation is null)
        {
            await RefuseCircuitAsync(stream, initiator, RelayStatus.NoReservation, token).ConfigureAwait(false);
            return null;
        }
        if (!TryTakeCircuit(initiator, target))
        {
            await RefuseCircuitAsync(stream, initiator, RelayStatus.ResourceLimitExceeded, token).ConfigureAwait(false);
            return null;
        }
        var limit = LimitInfo.From(_options.CircuitLimit);
        PeerStream? stop = null;
        try
        {
            stop = await OpenStopAsync(reservation.Connection, initiator, limit, token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or FormatException or InvalidOperationException)
        {
            var reason = $"stop to {target} failed: {(e is OperationCanceledException ? "timed out" : e.Message)}";
            RelayLog.HopFailed(_logger, initiator, reason);
        }
        if (stop is null)
        {
            ReleaseCircuit(initiator, target);
            await RefuseCircuitAsync(stream, initiator, RelayStatus.ConnectionFailed, token).ConfigureAwait(false);
            return null;
        }
        try
        {
            await DelimitedMessage.WriteAsync(stream, new HopMessage(HopMessageType.Status, Limit: limit, Status: RelayStatus.Ok).Encode(), token).ConfigureAwait(false);
        }
        catch
        {
            ReleaseCircuit(initiator, target);
            stop.Abort();
            await stop.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        _metrics.Circuit(RelayStatus.Ok);
        return StartCircuit(stream, stop, initiator, target);
    }

    /// <summary>Opens the stop stream and has the target accept; null when it answers anything but OK.</summary>
    private async Task<PeerStream?> OpenStopAsync(PeerConnection target, PeerId initiator, LimitInfo? limit, CancellationToken token)
    {
        var stop = await target.OpenStreamAsync(StopProtocolId, token).ConfigureAwait(false);
        try
        {
            var connect = new StopMessage(StopMessageType.Connect, new RelayPeer(initiator, []), limit);
            await DelimitedMessage.WriteAsync(stop, connect.Encode(), token).ConfigureAwait(false);
            var body = await DelimitedMessage.ReadAsync(stop, "stop", token).ConfigureAwait(false)
                ?? throw new PeerException(PeerError.ConnectionClosed, "The target closed the stop stream without an answer.");
            var answer = StopMessage.Parse(body);
            if (answer.Type != StopMessageType.Status || answer.Status != RelayStatus.Ok)
            {
                var reason = $"the target answered {answer.Type} {RelayException.Name(answer.Status ?? RelayStatus.Unused)}";
                RelayLog.HopFailed(_logger, initiator, reason);
                stop.Abort();
                await stop.DisposeAsync().ConfigureAwait(false);
                return null;
            }
            return stop;
        }
        catch
        {
            stop.Abort();
            await stop.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private Task StartCircuit(PeerStream initiatorStream, PeerStream targetStream, PeerId initiator, PeerId target)
    {
        var circuit = new RelayCircuit(initiatorStream, targetStream, _options.CircuitLimit, _options.TimeProvider) { OnBytes = _metrics.Bytes, Tap = CircuitTap };
        RelayLog.CircuitOpened(_logger, initiator, target);
        Task task;
        lock (_lock)
        {
            task = Task.Run(async () =>
            {
                CircuitEnd end;
                try
                {
                    end = await circuit.RunAsync(_shutdown.Token).ConfigureAwait(false);
                }
                catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException)
                {
                    end = CircuitEnd.Error;
                }
                ReleaseCircuit(initiator, target);
                _metrics.Ended(end);
                RelayLog.CircuitEnded(_logger, initiator, target, end, circuit.Forwarded, circuit.Returned);
            });
            _circuitTasks.Add(task);
        }
        _ = task.ContinueWith((t, state) =>
        {
            var server = (RelayServer)state!;
            lock (server._lock)
            {
                server._circuitTasks.Remove(t);
            }
        }, this, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return task;
    }

    private bool TryTakeCircuit(PeerId initiator, PeerId target)
    {
        lock (_lock)
        {
            if (_circuits >= _options.MaxCircuits
                || _circuitsPerPeer.GetValueOrDefault(initiator) >= _options.MaxCircuitsPerPeer
                || _circuitsPerPeer.GetValueOrDefault(target) >= _options.MaxCircuitsPerPeer)
            {
                return false;
            }
            _circuits++;
            _circuitsPerPeer[initiator] = _circuitsPerPeer.GetValueOrDefault(initiator) + 1;
            _circuitsPerPeer[target] = _circuitsPerPeer.GetValueOrDefault(target) + 1;
            return true;
        }
    }

    private void ReleaseCircuit(PeerId initiator, PeerId target)
    {
        lock (_lock)
        {
            _circuits--;
            Decrement(initiator);
            Decrement(target);
        }

        void Decrement(PeerId peer)
        {
            var left = _circuitsPerPeer.GetValueOrDefault(peer) - 1;
            if (left <= 0)
            {
                _circuitsPerPeer.Remove(peer);
            }
            else
            {
                _circuitsPerPeer[peer] = left;
            }
        }
    }

    private async Task RefuseCircuitAsync(PeerStream stream, PeerId initiator, RelayStatus status, CancellationToken token)
    {
        _metrics.Circuit(status);
        RelayLog.Refused(_logger, "CONNECT", initiator, status);
        await RespondAsync(stream, status, token: token).ConfigureAwait(false);
    }
}
