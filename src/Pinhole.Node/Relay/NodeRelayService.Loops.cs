using Microsoft.Extensions.Logging;
using Pinhole.Nat.Dcutr;

namespace Pinhole.Node;

public sealed partial class NodeRelayService
{
    /// <summary>Relayed connections peers opened to us go to the connection manager; as B we then try DCUtR.</summary>
    private async Task AcceptLoopAsync()
    {
        var client = _client!;
        var node = _node!;
        while (!_stop.IsCancellationRequested)
        {
            PeerConnection relayed;
            try
            {
                relayed = await client.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            if (!node.Connections.Adopt(relayed, ConnectionPathKind.Relayed))
            {
                continue;
            }
            if (_dcutr is not null && relayed.IsInbound)
            {
                _ = UpgradeAsync(relayed);
            }
        }
    }

    private async Task UpgradeAsync(PeerConnection relayed)
    {
        Interlocked.Increment(ref _punchesTried);
        try
        {
            Completed(await _dcutr!.UpgradeAsync(relayed, _stop.Token).ConfigureAwait(false));
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>A punched connection joins the manager, which prefers it and lets the relayed one drain.</summary>
    private void Completed(DirectConnectionResult result)
    {
        if (result.Direct is { } direct)
        {
            Interlocked.Increment(ref _punchesSucceeded);
            _node!.Connections.Adopt(direct, ConnectionPathKind.Direct);
            NodeRelayLog.Punched(_logger, result.RemotePeer, result.Attempts, result.Elapsed.TotalMilliseconds);
        }
        else
        {
            NodeRelayLog.StayedRelayed(_logger, result.RemotePeer, result.Failure, result.Reason ?? "");
        }
        lock (_lock)
        {
            _history.Enqueue(result);
            while (_history.Count > MaxHistory)
            {
                _history.Dequeue();
            }
        }
        PunchCompleted?.Invoke(this, new DirectConnectionEventArgs(result));
    }

    /// <summary>
    /// One configured relay, for the life of the node: connect (kept connected by the manager), learn our observed address
    /// from identify, reserve when we are not publicly reachable, and start over after <see cref="NodeRelayOptions.RetryDelay"/>
    /// when the connection or the reservation is lost.
    /// </summary>
    private async Task MaintainAsync(Multiaddr relayAddress, RelayState state)
    {
        var node = _node!;
        var client = _client!;
        var target = PeerAddress.FromMultiaddr(relayAddress);
        var relayId = state.Relay;
        var time = node.Options.TimeProvider;
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                state.State = "connecting";
                var connection = await node.Connections.ConnectAsync(target, cancellationToken: _stop.Token).ConfigureAwait(false);
                // Reservations live on this connection: the manager must neither idle it out nor forget to redial it.
                node.Connections.SetKeepConnected(relayId, true);
                var identify = await connection.IdentifyAsync(_stop.Token).ConfigureAwait(false);
                var reachable = Observe(state, identify.ObservedAddr);
                if (_options.Reachability == NodeReachability.Public || (_options.Reachability == NodeReachability.Auto && reachable))
                {
                    state.State = "connected (publicly reachable: no reservation)";
                    await connection.Completion.WaitAsync(_stop.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                }
                else
                {
                    var reservation = await client.ReserveAsync(connection, _stop.Token).ConfigureAwait(false);
                    state.Reservation = reservation;
                    state.State = "reserved";
                    state.Error = null;
                    NodeRelayLog.Reserved(_logger, relayId, reservation.Expiration);
                    OnAddressesChanged();
                    await Task.WhenAny(reservation.Completion, connection.Completion).WaitAsync(_stop.Token).ConfigureAwait(false);
                    state.Reservation = null;
                    state.State = "reservation lost";
                    OnAddressesChanged();
                }
            }
            catch (Exception e) when (e is PeerException or IOException or ObjectDisposedException && !_stop.IsCancellationRequested)
            {
                state.Error = e.Message;
                state.State = "failed";
                var had = state.Reservation is not null;
                state.Reservation = null;
                NodeRelayLog.RelayFailed(_logger, relayId, e.Message);
                if (had)
                {
                    OnAddressesChanged();
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            try
            {
                await Task.Delay(_options.RetryDelay, time, _stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Records how a relay sees us; true when that is one of our own addresses (no NAT in between).</summary>
    private bool Observe(RelayState state, Multiaddr? observed)
    {
        state.Observed = observed;
        if (observed is null || !observed.TryGetIPEndPoint(out var seen, out var transport) || transport != "tcp")
        {
            return false;
        }
        lock (_lock)
        {
            if (!_observed.Contains(observed))
            {
                if (_observed.Count == MaxObserved)
                {
                    _observed.RemoveAt(0);
                }
                _observed.Add(observed);
            }
        }
        foreach (var own in _node!.GetDialableAddresses())
        {
            if (!CircuitAddress.IsCircuit(own) && own.TryGetIPEndPoint(out var ours, out var t) && t == "tcp" && ours.Equals(seen))
            {
                PubliclyReachable = true;
                return true;
            }
        }
        PubliclyReachable = false;
        return false;
    }
}

internal static partial class NodeRelayLog
{
    [LoggerMessage(EventId = 9600, Level = LogLevel.Information, Message = "Relay: reserved a slot on {Relay} until {Expiration:O}")]
    public static partial void Reserved(ILogger logger, PeerId relay, DateTimeOffset expiration);

    [LoggerMessage(EventId = 9601, Level = LogLevel.Warning, Message = "Relay: {Relay} failed: {Reason}")]
    public static partial void RelayFailed(ILogger logger, PeerId relay, string reason);

    [LoggerMessage(EventId = 9602, Level = LogLevel.Information, Message = "DCUtR: direct connection to {Peer} after {Attempts} attempt(s), {ElapsedMs:0} ms")]
    public static partial void Punched(ILogger logger, PeerId peer, int attempts, double elapsedMs);

    [LoggerMessage(EventId = 9603, Level = LogLevel.Information, Message = "DCUtR: {Peer} stays relayed ({Failure}): {Reason}")]
    public static partial void StayedRelayed(ILogger logger, PeerId peer, DirectConnectionFailure failure, string reason);
}
