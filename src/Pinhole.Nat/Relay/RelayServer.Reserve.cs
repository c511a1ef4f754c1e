using Pinhole.Nat.Relay.Protocol;

namespace Pinhole.Nat.Relay;

public sealed partial class RelayServer
{
    private async Task ReserveAsync(PeerConnection connection, PeerStream stream, CancellationToken token)
    {
        var peer = connection.RemotePeer;
        if (IsRelayed(connection) || (_options.ReservationFilter is { } filter && !filter(peer)))
        {
            await RefuseReservationAsync(stream, peer, RelayStatus.PermissionDenied, token).ConfigureAwait(false);
            return;
        }
        var now = _options.TimeProvider.GetUtcNow();
        // Whole seconds on the wire; round down so the peer never believes in a slot we have already dropped.
        var expireSeconds = (now + _options.ReservationTtl).ToUnixTimeSeconds();
        var expires = DateTimeOffset.FromUnixTimeSeconds(expireSeconds);
        var address = AddressOf(connection);
        Reservation? reservation = null;
        var watch = false;
        lock (_lock)
        {
            SweepLocked(now);
            var refresh = _reservations.TryGetValue(peer, out var existing);
            if (refresh || !OverCapacityLocked(address))
            {
                reservation = new Reservation(peer, connection, expires, address);
                _reservations[peer] = reservation;
                watch = !ReferenceEquals(existing?.Connection, connection);
            }
        }
        if (reservation is null)
        {
            await RefuseReservationAsync(stream, peer, RelayStatus.ReservationRefused, token).ConfigureAwait(false);
            return;
        }
        if (watch)
        {
            // The reservation lives only as long as the connection it was made on (spec: "as long as there is an active connection").
            _ = connection.Completion.ContinueWith(
                (_, state) => Forget((Reservation)state!), reservation, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
        var voucher = ReservationVoucher.Seal(_identity, peer, (ulong)expireSeconds);
        var info = new ReservationInfo((ulong)expireSeconds, RelayAddresses(), voucher.Envelope.Encoded);
        try
        {
            await RespondAsync(stream, RelayStatus.Ok, info, LimitInfo.From(_options.CircuitLimit), token).ConfigureAwait(false);
        }
        catch
        {
            Forget(reservation);
            throw;
        }
        _metrics.Reservation(RelayStatus.Ok);
        RelayLog.Reserved(_logger, peer, expires, watch ? "new" : "refreshed");
    }

    private bool OverCapacityLocked(System.Net.IPAddress? address)
        => _reservations.Count >= _options.MaxReservations
            || (_options.MaxReservationsPerIP > 0 && address is not null
                && _reservations.Values.Count(r => address.Equals(r.Address)) >= _options.MaxReservationsPerIP);

    private async Task RefuseReservationAsync(PeerStream stream, PeerId peer, RelayStatus status, CancellationToken token)
    {
        _metrics.Reservation(status);
        RelayLog.Refused(_logger, "RESERVE", peer, status);
        await RespondAsync(stream, status, token: token).ConfigureAwait(false);
    }

    private List<Multiaddr> RelayAddresses()
    {
        var result = new List<Multiaddr>();
        foreach (var address in _options.PublicAddresses?.Invoke() ?? [])
        {
            if (CircuitAddress.IsCircuit(address))
            {
                continue;
            }
            var withId = address.TryGetPeerId(out var id) ? address : address.Encapsulate(LocalPeer);
            if (id is null || id.Equals(LocalPeer))
            {
                result.Add(withId);
            }
        }
        return result;
    }

    private void Forget(Reservation reservation)
    {
        lock (_lock)
        {
            if (_reservations.TryGetValue(reservation.Peer, out var current) && ReferenceEquals(current, reservation))
            {
                _reservations.Remove(reservation.Peer);
            }
        }
    }

    private void SweepLocked(DateTimeOffset now)
    {
        List<PeerId>? gone = null;
        foreach (var (peer, reservation) in _reservations)
        {
            if (!reservation.IsLive(now))
            {
                (gone ??= []).Add(peer);
            }
        }
        gone?.ForEach(p => _reservations.Remove(p));
    }

    private Reservation? LiveReservation(PeerId peer)
    {
        var now = _options.TimeProvider.GetUtcNow();
        lock (_lock)
        {
            return _reservations.TryGetValue(peer, out var r) && r.IsLive(now) ? r : null;
        }
    }
}
