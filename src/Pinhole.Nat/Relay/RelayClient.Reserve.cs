using System.Security.Cryptography;
using Pinhole.Nat.Relay.Protocol;

namespace Pinhole.Nat.Relay;

public sealed partial class RelayClient
{
    /// <summary>
    /// Reserves a slot on the relay at the other end of <paramref name="relay"/> (a direct connection this node keeps open)
    /// and refreshes it before each expiry. Reserving again on the same relay refreshes the existing reservation.
    /// </summary>
    /// <exception cref="RelayException">The relay refused (RESERVATION_REFUSED, PERMISSION_DENIED, ...).</exception>
    /// <exception cref="PeerException">A malformed answer or a voucher that does not verify (<see cref="PeerError.ProtocolViolation"/>),
    /// a relayed <paramref name="relay"/> connection (<see cref="PeerError.Refused"/>), a timeout.</exception>
    public async Task<RelayReservation> ReserveAsync(PeerConnection relay, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(relay);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (relay.Netlayer == Netlayer || relay.IsLimited)
        {
            throw new PeerException(PeerError.Refused, $"Cannot reserve on {relay.RemotePeer} over a relayed connection: relays refuse it (PERMISSION_DENIED).");
        }
        var state = await ReserveOnceAsync(relay, cancellationToken).ConfigureAwait(false);
        RelayReservation reservation;
        RelayReservation? replaced;
        lock (_lock)
        {
            if (_reservations.TryGetValue(relay.RemotePeer, out var existing) && ReferenceEquals(existing.Connection, relay) && !existing.Completion.IsCompleted)
            {
                existing.Update(state);
                return existing;
            }
            reservation = new RelayReservation(relay, state);
            _reservations[relay.RemotePeer] = reservation;
            _refreshLoops.RemoveAll(static t => t.IsCompleted);
            replaced = existing;
        }
        // Started here, not on the pool: the loop arms its first refresh timer before this returns, so the refresh is
        // due at RefreshAt on the time provider whenever the caller moves it (a fake clock in tests).
        var loop = KeepAsync(reservation);
        lock (_lock)
        {
            _refreshLoops.Add(loop);
        }
        replaced?.Cancel();
        RelayLog.ClientReserved(_logger, relay.RemotePeer, state.Expiration, state.Limit);
        return reservation;
    }

    /// <summary>One RESERVE exchange: the new expiry, our circuit addresses, the limit, the checked voucher.</summary>
    private async Task<RelayReservation.State> ReserveOnceAsync(PeerConnection relay, CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(_options.HopTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken);
        HopMessage answer;
        try
        {
            var stream = await relay.OpenStreamAsync(HopProtocolId, linked.Token).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                await DelimitedMessage.WriteAsync(stream, new HopMessage(HopMessageType.Reserve).Encode(), linked.Token).ConfigureAwait(false);
                var body = await DelimitedMessage.ReadAsync(stream, "hop", linked.Token).ConfigureAwait(false)
                    ?? throw new PeerException(PeerError.ConnectionClosed, $"Relay {relay.RemotePeer} closed the hop stream without answering RESERVE.");
                answer = Parse(body, relay);
                stream.CompleteWrites();
            }
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new PeerException(PeerError.Timeout, $"Relay {relay.RemotePeer} did not answer RESERVE within {_options.HopTimeout.TotalSeconds:0.#} s.");
        }
        if (answer.Type != HopMessageType.Status)
        {
            throw new PeerException(PeerError.ProtocolViolation, $"Relay {relay.RemotePeer} answered RESERVE with {answer.Type}, not STATUS.");
        }
        if (answer.Status != RelayStatus.Ok)
        {
            var status = answer.Status ?? RelayStatus.Unused;
            throw new RelayException(status, ErrorFor(status), $"Relay {relay.RemotePeer} refused the reservation: {RelayException.Name(status)}.");
        }
        if (answer.Reservation?.Expire is not { } expire)
        {
            throw new PeerException(PeerError.ProtocolViolation, $"Relay {relay.RemotePeer} accepted the reservation without saying when it expires.");
        }
        var voucher = CheckVoucher(relay, answer.Reservation, expire);
        var expiration = DateTimeOffset.FromUnixTimeSeconds((long)Math.Min(expire, 253402300799UL));
        // Refresh with RefreshBefore left, or halfway through what is left if that is sooner.
        var now = _time.GetUtcNow();
        var left = expiration > now ? expiration - now : TimeSpan.Zero;
        var refreshAt = expiration - TimeSpan.FromTicks(Math.Min(_options.RefreshBefore.Ticks, left.Ticks / 2));
        return new RelayReservation.State(expiration, refreshAt, OurAddresses(relay, answer.Reservation), answer.Limit?.ToConnectionLimit(), voucher);
    }

    private ReservationVoucher? CheckVoucher(PeerConnection relay, ReservationInfo reservation, ulong expire)
    {
        if (reservation.Voucher is not { } bytes || !_options.VerifyVouchers)
        {
            return null;
        }
        ReservationVoucher voucher;
        try
        {
            voucher = ReservationVoucher.Open(bytes.Span);
        }
        catch (Exception e) when (e is FormatException or CryptographicException)
        {
            throw new PeerException(PeerError.ProtocolViolation, $"The voucher from relay {relay.RemotePeer} does not verify: {e.Message}", e);
        }
        if (!voucher.Relay.Equals(relay.RemotePeer) || !voucher.Peer.Equals(LocalPeer) || voucher.ExpirationUnixSeconds != expire)
        {
            throw new PeerException(
                PeerError.ProtocolViolation,
                $"The voucher from relay {relay.RemotePeer} is for relay {voucher.Relay}, peer {voucher.Peer}, until {voucher.ExpirationUnixSeconds}; expected this relay, {LocalPeer}, until {expire}.");
        }
        return voucher;
    }

    /// <summary>
    /// Our circuit addresses: each relay address from the reservation (only those naming this relay; a doubled
    /// <c>/p2p</c> is tolerated, go-libp2p#3003), plus the address we reached the relay at, since the list may be empty.
    /// </summary>
    private List<CircuitAddress> OurAddresses(PeerConnection relay, ReservationInfo reservation)
    {
        var result = new List<CircuitAddress>();
        foreach (var address in reservation.Addresses)
        {
            if (CircuitAddress.IsCircuit(address))
            {
                continue;
            }
            var withId = address.TryGetPeerId(out _) ? address : address.Encapsulate(relay.RemotePeer);
            try
            {
                var circuit = CircuitAddress.Create(withId, LocalPeer);
                if (circuit.Relay.Equals(relay.RemotePeer) && !result.Contains(circuit))
                {
                    result.Add(circuit);
                }
            }
            catch (ArgumentException)
            {
                // An address naming another peer: not ours to advertise.
            }
        }
        var dialed = CircuitTo(relay, LocalPeer);
        if (!result.Contains(dialed))
        {
            result.Add(dialed);
        }
        return result;
    }

    private static HopMessage Parse(byte[] body, PeerConnection relay)
    {
        try
        {
            return HopMessage.Parse(body);
        }
        catch (FormatException e)
        {
            throw new PeerException(PeerError.ProtocolViolation, $"Malformed hop message from relay {relay.RemotePeer}: {e.Message}", e);
        }
    }

    /// <summary>Refreshes <paramref name="reservation"/> before each expiry until it is cancelled or lost.</summary>
    private async Task KeepAsync(RelayReservation reservation)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(reservation.Cancelled, _shutdown.Token);
        var token = linked.Token;
        _ = reservation.Connection.Completion.ContinueWith(
            static (_, s) =>
            {
                try
                {
                    ((CancellationTokenSource)s!).Cancel();
                }
                catch (ObjectDisposedException)
                {
                    // The loop already ended.
                }
            },
            linked, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        var retry = false;
        try
        {
            while (true)
            {
                var now = _time.GetUtcNow();
                var left = reservation.Expiration - now;
                if (left <= TimeSpan.Zero)
                {
                    Lose(reservation, new PeerException(PeerError.Timeout, $"The reservation on {reservation.Relay} expired before it could be refreshed."));
                    return;
                }
                var due = retry ? _options.RetryDelay : reservation.RefreshAt - now;
                // Task.Delay takes at most ~49 days: a far expiry is re-checked daily.
                var wait = TimeSpan.FromTicks(Math.Min(Math.Min(due.Ticks, left.Ticks), TimeSpan.FromDays(1).Ticks));
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, _time, token).ConfigureAwait(false);
                }
                if (wait < due)
                {
                    continue;
                }
                try
                {
                    reservation.Update(await ReserveOnceAsync(reservation.Connection, token).ConfigureAwait(false));
                    retry = false;
                }
                catch (PeerException e) when (!token.IsCancellationRequested)
                {
                    RelayLog.RefreshFailed(_logger, reservation.Relay, e.Message);
                    if (e is RelayException)
                    {
                        // The relay said no: it will not take us back on this connection.
                        Lose(reservation, e);
                        return;
                    }
                    retry = true;
                }
            }
        }
        catch (OperationCanceledException)
        {
            if (reservation.Connection.Completion.IsCompleted && !reservation.Cancelled.IsCancellationRequested && !_shutdown.IsCancellationRequested)
            {
                Lose(reservation, new PeerException(PeerError.ConnectionClosed, $"The connection to relay {reservation.Relay} closed."));
            }
        }
        finally
        {
            lock (_lock)
            {
                if (_reservations.TryGetValue(reservation.Relay, out var current) && ReferenceEquals(current, reservation))
                {
                    _reservations.Remove(reservation.Relay);
                }
            }
        }
    }

    private void Lose(RelayReservation reservation, PeerException reason)
    {
        RelayLog.ReservationLost(_logger, reservation.Relay, reason.Message);
        reservation.Lose(reason);
    }
}
