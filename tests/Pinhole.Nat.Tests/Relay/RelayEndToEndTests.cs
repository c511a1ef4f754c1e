using System.Security.Cryptography;
using Pinhole.Nat.Relay;
using Pinhole.Nat.Tests.Support;

namespace Pinhole.Nat.Tests.Relay;

/// <summary>Pinhole relay (hop) and Pinhole clients (stop, dial) over loopback TCP.</summary>
public sealed class RelayEndToEndTests
{
    private static async Task<(TestPeer Relay, TestPeer Target, TestPeer Dialer, PeerConnection TargetToRelay, PeerConnection DialerToRelay)> SetUpAsync(
        Action<RelayServerOptions>? relay = null)
    {
        var r = await TestPeer.StartAsync();
        r.ServeRelay(relay);
        var a = await TestPeer.StartAsync();
        a.UseRelayClient();
        var b = await TestPeer.StartAsync();
        b.UseRelayClient();
        var aToR = await a.ConnectAsync(r);
        var bToR = await b.ConnectAsync(r);
        return (r, a, b, aToR, bToR);
    }

    private static async Task DisposeAllAsync(params TestPeer[] peers)
    {
        foreach (var p in peers)
        {
            await p.DisposeAsync();
        }
    }

    [Fact]
    public async Task ReservationCarriesAVerifiedVoucherOurCircuitAddressAndTheLimit()
    {
        var (r, a, b, aToR, _) = await SetUpAsync();
        try
        {
            var before = DateTimeOffset.UtcNow;
            var reservation = await a.RelayClient!.ReserveAsync(aToR, TestPeer.Bounded());
            Assert.Equal(r.Id, reservation.Relay);
            Assert.InRange(reservation.Expiration, before + TimeSpan.FromMinutes(59), before + TimeSpan.FromMinutes(61));
            Assert.NotNull(reservation.Voucher);
            Assert.Equal(r.Id, reservation.Voucher!.Relay);
            Assert.Equal(a.Id, reservation.Voucher.Peer);
            Assert.Equal(new ConnectionLimit(TimeSpan.FromMinutes(2), 128 * 1024), reservation.Limit);
            var expected = CircuitAddress.Create(r.Address, a.Id);
            Assert.Contains(expected, reservation.Addresses);
            Assert.All(reservation.Addresses, c => Assert.Equal(a.Id, c.Destination));
            Assert.Equal(1, r.RelayServer!.ReservationCount);
            Assert.Equal(a.Id, Assert.Single(r.RelayServer.GetReservations()).Peer);
        }
        finally
        {
            await DisposeAllAsync(a, b, r);
        }
    }

    [Fact]
    public async Task DialThroughTheRelayGivesALimitedEndToEndConnection()
    {
        var (r, a, b, aToR, bToR) = await SetUpAsync();
        try
        {
            await a.RelayClient!.ReserveAsync(aToR, TestPeer.Bounded());
            var dialed = await b.RelayClient!.ConnectAsync(bToR, CircuitAddress.Create(r.Address, a.Id), TestPeer.Bounded());
            b.Route(dialed);
            var accepted = await a.AcceptAsync();
            Assert.Equal(a.Id, dialed.RemotePeer);
            Assert.Equal(b.Id, accepted.RemotePeer);
            Assert.Equal(RelayClient.Netlayer, dialed.Netlayer);
            Assert.True(dialed.IsLimited);
            Assert.True(accepted.IsLimited);
            Assert.Equal(new ConnectionLimit(TimeSpan.FromMinutes(2), 128 * 1024), dialed.Limit);
            Assert.Equal(CircuitAddress.Create(r.Address, a.Id).ToMultiaddr(), dialed.RemoteAddress);
            Assert.Equal(CircuitAddress.Create(r.Address, b.Id).ToMultiaddr(), accepted.RemoteAddress);
            Assert.Equal(1, r.RelayServer!.CircuitCount);

            // Ping and identify run on limited connections, both ways.
            await dialed.PingAsync(TestPeer.Bounded());
            await accepted.PingAsync(TestPeer.Bounded());
            var id = await dialed.IdentifyAsync(TestPeer.Bounded());
            Assert.Equal(CircuitAddress.Create(r.Address, b.Id).ToMultiaddr(), id.ObservedAddr);

            // An opted-in protocol runs; another does not.
            await using (var small = await dialed.OpenStreamAsync("/test/small/1.0.0", TestPeer.Bounded()))
            {
                await small.WriteAsync("hi"u8.ToArray(), TestPeer.Bounded());
                small.CompleteWrites();
                var (_, incoming) = await a.NextStreamAsync();
                await using (incoming)
                {
                    Assert.Equal("hi"u8.ToArray(), await ReadAllAsync(incoming));
                }
            }
            var refused = await Assert.ThrowsAsync<PeerException>(() => dialed.OpenStreamAsync("/test/bulk/1.0.0", TestPeer.Bounded()).AsTask());
            Assert.Equal(PeerError.Refused, refused.Error);
        }
        finally
        {
            await DisposeAllAsync(a, b, r);
        }
    }

    [Fact]
    public async Task UnlimitedRelayCarriesBulkDataBothWays()
    {
        var (r, a, b, aToR, bToR) = await SetUpAsync(o => o.CircuitLimit = null);
        try
        {
            var reservation = await a.RelayClient!.ReserveAsync(aToR, TestPeer.Bounded());
            Assert.Null(reservation.Limit);
            var dialed = await b.RelayClient!.ConnectAsync(bToR, a.Id, TestPeer.Bounded());
            var accepted = await a.AcceptAsync();
            Assert.False(dialed.IsLimited);
            Assert.False(accepted.IsLimited);
            var data = RandomNumberGenerator.GetBytes(4 * 1024 * 1024);
            await using var stream = await dialed.OpenStreamAsync("/test/bulk/1.0.0", TestPeer.Bounded());
            var (_, incoming) = await a.NextStreamAsync();
            await using (incoming)
            {
                var echo = Task.Run(async () =>
                {
                    await incoming.CopyToAsync(incoming, TestPeer.Bounded());
                    incoming.CompleteWrites();
                });
                var send = Task.Run(async () =>
                {
                    await stream.WriteAsync(data, TestPeer.Bounded());
                    stream.CompleteWrites();
                });
                var back = await ReadAllAsync(stream);
                await Task.WhenAll(send, echo);
                Assert.Equal(data, back);
            }
        }
        finally
        {
            await DisposeAllAsync(a, b, r);
        }
    }

    [Fact]
    public async Task ConnectWithoutAReservationIsNoReservation()
    {
        var (r, a, b, _, bToR) = await SetUpAsync();
        try
        {
            var e = await Assert.ThrowsAsync<RelayException>(() => b.RelayClient!.ConnectAsync(bToR, a.Id, TestPeer.Bounded()).AsTask());
            Assert.Equal(RelayStatus.NoReservation, e.Status);
            Assert.Equal(PeerError.Unreachable, e.Error);
            Assert.Contains("NO_RESERVATION", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            await DisposeAllAsync(a, b, r);
        }
    }

    [Fact]
    public async Task OnePeerHoldsOneReservationAndItEndsWithItsConnection()
    {
        var (r, a, b, aToR, bToR) = await SetUpAsync(o => o.MaxReservations = 1);
        try
        {
            await a.RelayClient!.ReserveAsync(aToR, TestPeer.Bounded());
            // A "restart": the same peer reserves again over a new connection; still one slot.
            var again = await a.ConnectAsync(r);
            await a.RelayClient.ReserveAsync(again, TestPeer.Bounded());
            Assert.Equal(1, r.RelayServer!.ReservationCount);
            // The relay is full for anyone else.
            var e = await Assert.ThrowsAsync<RelayException>(() => b.RelayClient!.ReserveAsync(bToR, TestPeer.Bounded()));
            Assert.Equal(RelayStatus.ReservationRefused, e.Status);
            Assert.Equal(PeerError.Refused, e.Error);
            // Closing the connection the reservation lives on frees the slot.
            await again.DisposeAsync();
            await WaitUntilAsync(() => r.RelayServer.ReservationCount == 0);
            await b.RelayClient!.ReserveAsync(bToR, TestPeer.Bounded());
            Assert.Equal(b.Id, Assert.Single(r.RelayServer.GetReservations()).Peer);
        }
        finally
        {
            await DisposeAllAsync(a, b, r);
        }
    }

    [Fact]
    public async Task ReservationsPerIPAreCapped()
    {
        var (r, a, b, aToR, bToR) = await SetUpAsync(o => o.MaxReservationsPerIP = 1);
        try
        {
            await a.RelayClient!.ReserveAsync(aToR, TestPeer.Bounded());
            var e = await Assert.ThrowsAsync<RelayException>(() => b.RelayClient!.ReserveAsync(bToR, TestPeer.Bounded()));
            Assert.Equal(RelayStatus.ReservationRefused, e.Status);
        }
        finally
        {
            await DisposeAllAsync(a, b, r);
        }
    }

    [Fact]
    public async Task ReservationFilterDeniesPermission()
    {
        TestPeer? allowed = null;
        var (r, a, b, aToR, bToR) = await SetUpAsync(o => o.ReservationFilter = p => p == allowed?.Id);
        allowed = a;
        try
        {
            await a.RelayClient!.ReserveAsync(aToR, TestPeer.Bounded());
            var e = await Assert.ThrowsAsync<RelayException>(() => b.RelayClient!.ReserveAsync(bToR, TestPeer.Bounded()));
            Assert.Equal(RelayStatus.PermissionDenied, e.Status);
        }
        finally
        {
            await DisposeAllAsync(a, b, r);
        }
    }

    [Fact]
    public async Task CircuitsPerPeerAreCapped()
    {
        var (r, a, b, aToR, bToR) = await SetUpAsync(o => o.MaxCircuitsPerPeer = 1);
        try
        {
            await a.RelayClient!.ReserveAsync(aToR, TestPeer.Bounded());
            var first = await b.RelayClient!.ConnectAsync(bToR, a.Id, TestPeer.Bounded());
            var e = await Assert.ThrowsAsync<RelayException>(() => b.RelayClient.ConnectAsync(bToR, a.Id, TestPeer.Bounded()).AsTask());
            Assert.Equal(RelayStatus.ResourceLimitExceeded, e.Status);
            Assert.Equal(PeerError.LimitExceeded, e.Error);
            // When the first circuit ends its slot is free again.
            await first.DisposeAsync();
            await WaitUntilAsync(() => r.RelayServer!.CircuitCount == 0);
            await using var second = await b.RelayClient.ConnectAsync(bToR, a.Id, TestPeer.Bounded());
        }
        finally
        {
            await DisposeAllAsync(a, b, r);
        }
    }

    [Fact]
    public async Task TheRelayCutsACircuitAtItsDataLimit()
    {
        const int limit = 64 * 1024;
        var (r, a, b, aToR, bToR) = await SetUpAsync(o => o.CircuitLimit = new ConnectionLimit(null, limit));
        try
        {
            await a.RelayClient!.ReserveAsync(aToR, TestPeer.Bounded());
            var dialed = await b.RelayClient!.ConnectAsync(bToR, a.Id, TestPeer.Bounded());
            var accepted = await a.AcceptAsync();
            Assert.Equal(new ConnectionLimit(null, limit), dialed.Limit);
            // Small exchanges fit...
            await dialed.PingAsync(TestPeer.Bounded());
            // ...a stream of more than the limit makes the relay reset the circuit.
            await using var stream = await dialed.OpenStreamAsync("/test/small/1.0.0", TestPeer.Bounded());
            var write = Task.Run(async () =>
            {
                var chunk = new byte[16 * 1024];
                for (var i = 0; i < 16; i++)
                {
                    await stream.WriteAsync(chunk, TestPeer.Bounded());
                }
            });
            await Assert.ThrowsAnyAsync<Exception>(() => dialed.Completion.WaitAsync(TestPeer.Timeout));
            await Assert.ThrowsAnyAsync<Exception>(() => accepted.Completion.WaitAsync(TestPeer.Timeout));
            await Assert.ThrowsAnyAsync<IOException>(() => write);
            await WaitUntilAsync(() => r.RelayServer!.CircuitCount == 0);
        }
        finally
        {
            await DisposeAllAsync(a, b, r);
        }
    }

    [Fact]
    public async Task TheRelayCutsACircuitAtItsDurationLimit()
    {
        var clock = Pinhole.Testing.Clocks.StartingNow();
        var (r, a, b, aToR, bToR) = await SetUpAsync(o =>
        {
            o.TimeProvider = clock;
            o.CircuitLimit = new ConnectionLimit(TimeSpan.FromSeconds(60), null);
        });
        try
        {
            await a.RelayClient!.ReserveAsync(aToR, TestPeer.Bounded());
            var dialed = await b.RelayClient!.ConnectAsync(bToR, a.Id, TestPeer.Bounded());
            var accepted = await a.AcceptAsync();
            Assert.Equal(TimeSpan.FromSeconds(60), dialed.Limit!.Duration);
            await dialed.PingAsync(TestPeer.Bounded());
            clock.Advance(TimeSpan.FromSeconds(59));
            await dialed.PingAsync(TestPeer.Bounded());
            Assert.False(dialed.Completion.IsCompleted);
            clock.Advance(TimeSpan.FromSeconds(2));
            await Assert.ThrowsAnyAsync<Exception>(() => dialed.Completion.WaitAsync(TestPeer.Timeout));
            await Assert.ThrowsAnyAsync<Exception>(() => accepted.Completion.WaitAsync(TestPeer.Timeout));
        }
        finally
        {
            await DisposeAllAsync(a, b, r);
        }
    }

    [Fact]
    public async Task ARelayedConnectionCannotReserveOrDialFurther()
    {
        // An unlimited relay, so the relayed connection may carry the hop protocol at all.
        var (r, a, b, aToR, bToR) = await SetUpAsync(o => o.CircuitLimit = null);
        try
        {
            await a.RelayClient!.ReserveAsync(aToR, TestPeer.Bounded());
            // A is a relay too; B reaches it only through R.
            a.ServeRelay();
            var relayed = await b.RelayClient!.ConnectAsync(bToR, a.Id, TestPeer.Bounded());
            var local = await Assert.ThrowsAsync<PeerException>(() => b.RelayClient.ReserveAsync(relayed, TestPeer.Bounded()));
            Assert.Equal(PeerError.Refused, local.Error);
            // Sent anyway (as another implementation might), the relay answers PERMISSION_DENIED.
            await using var hop = await relayed.OpenStreamAsync(RelayServer.HopProtocolId, TestPeer.Bounded());
            var answer = await RawHop.ExchangeAsync(hop, Convert.FromHexString("0800"));
            Assert.Equal(RelayStatus.PermissionDenied, answer.Status);
            Assert.Equal(0, a.RelayServer!.ReservationCount);
        }
        finally
        {
            await DisposeAllAsync(a, b, r);
        }
    }

    [Fact]
    public async Task TheClientRefreshesBeforeExpiry()
    {
        var clock = Pinhole.Testing.Clocks.StartingNow();
        var r = await TestPeer.StartAsync(o => o.IdleTimeout = TimeSpan.Zero);
        r.ServeRelay(o =>
        {
            o.TimeProvider = clock;
            o.ReservationTtl = TimeSpan.FromMinutes(10);
        });
        var a = await TestPeer.StartAsync(o =>
        {
            o.TimeProvider = clock;
            o.IdleTimeout = TimeSpan.Zero;
            o.KeepAliveInterval = TimeSpan.Zero;
        });
        a.UseRelayClient(o => o.RefreshBefore = TimeSpan.FromMinutes(2));
        try
        {
            var aToR = await a.ConnectAsync(r);
            var reservation = await a.RelayClient!.ReserveAsync(aToR, TestPeer.Bounded());
            var first = reservation.Expiration;
            var refreshed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            reservation.Refreshed += (_, _) => refreshed.TrySetResult();
            // Refresh with 2 min left: 8 min in (the relay's expiry is in whole seconds, so a little less).
            Assert.Equal(first - TimeSpan.FromMinutes(2), reservation.RefreshAt);
            Assert.InRange(reservation.RefreshAt - clock.GetUtcNow(), TimeSpan.FromSeconds(479), TimeSpan.FromSeconds(480));
            // Not 30 s before: whenever the refresh loop (started on the pool) armed its timer, it is due at RefreshAt.
            clock.Advance(reservation.RefreshAt - clock.GetUtcNow() - TimeSpan.FromSeconds(30));
            Assert.Equal(0, reservation.Refreshes);
            // Just past RefreshAt the refresh starts; the clock then stands still, so no deadline of the exchange
            // (stream negotiation, hop timeout) can pass while it runs, however slow the machine is.
            clock.Advance(TimeSpan.FromSeconds(31));
            await refreshed.Task.WaitAsync(TestPeer.Timeout);
            Assert.Equal(1, reservation.Refreshes);
            Assert.True(reservation.Expiration > first);
            Assert.False(reservation.Completion.IsCompleted);
            Assert.Equal(1, r.RelayServer!.ReservationCount);
        }
        finally
        {
            await DisposeAllAsync(a, r);
        }
    }

    [Fact]
    public async Task LosingTheRelayConnectionEndsTheReservation()
    {
        var (r, a, b, aToR, _) = await SetUpAsync();
        try
        {
            var reservation = await a.RelayClient!.ReserveAsync(aToR, TestPeer.Bounded());
            await aToR.DisposeAsync();
            var e = await Assert.ThrowsAsync<PeerException>(() => reservation.Completion.WaitAsync(TestPeer.Timeout));
            Assert.Equal(PeerError.ConnectionClosed, e.Error);
            Assert.Empty(a.RelayClient.Reservations);
        }
        finally
        {
            await DisposeAllAsync(a, b, r);
        }
    }

    [Fact]
    public async Task HandlersRunUntilTheirStreamsWorkIsOver()
    {
        var (r, a, b, aToR, bToR) = await SetUpAsync();
        try
        {
            // A host (PinholeNode) disposes a stream when its handler returns: the handlers must outlive their circuits.
            var hops = new System.Collections.Concurrent.ConcurrentQueue<Task>();
            var stops = new System.Collections.Concurrent.ConcurrentQueue<Task>();
            r.Handle(RelayServer.HopProtocolId, (c, s) =>
            {
                var t = r.RelayServer!.HandleHopStreamAsync(c, s);
                hops.Enqueue(t);
                return t;
            });
            a.Handle(RelayClient.StopProtocolId, (c, s) =>
            {
                var t = a.RelayClient!.HandleStopStreamAsync(c, s);
                stops.Enqueue(t);
                return t;
            });
            await a.RelayClient!.ReserveAsync(aToR, TestPeer.Bounded());
            await WaitUntilAsync(() => hops.Count == 1 && hops.All(t => t.IsCompleted));
            var dialed = await b.RelayClient!.ConnectAsync(bToR, a.Id, TestPeer.Bounded());
            var accepted = await a.AcceptAsync();
            await WaitUntilAsync(() => hops.Count == 2 && stops.Count == 1);
            await dialed.PingAsync(TestPeer.Bounded());
            Assert.False(hops.Last().IsCompleted);
            Assert.False(stops.Single().IsCompleted);
            await dialed.DisposeAsync();
            await hops.Last().WaitAsync(TestPeer.Timeout);
            await stops.Single().WaitAsync(TestPeer.Timeout);
            await Task.WhenAny(accepted.Completion).WaitAsync(TestPeer.Timeout);
        }
        finally
        {
            await DisposeAllAsync(a, b, r);
        }
    }

    internal static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var cts = new CancellationTokenSource(TestPeer.Timeout);
        while (!condition())
        {
            await Task.Delay(20, cts.Token);
        }
    }

    internal static async Task<byte[]> ReadAllAsync(Stream stream)
    {
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer, TestPeer.Bounded());
        return buffer.ToArray();
    }
}
