using System.Net;
using Microsoft.Extensions.Time.Testing;
using Pinhole.Testing;
using Pinhole.Vpn.DataPlane;
using static Pinhole.Vpn.Tests.TestPackets;

namespace Pinhole.Vpn.Tests;

/// <summary>Keepalives, rekeying and dead-peer detection on a fake clock: asserted on events, never on timing.</summary>
public class TimerTests
{
    private static readonly IPEndPoint A = new(VpnPair.A, 1000);
    private static readonly IPEndPoint B = new(VpnPair.B, 2000);

    // No pings or probes: only the keepalive timers send (a ping would count as the answer, and fake time
    // outruns the real threads that would answer probes).
    private static readonly VpnTimings Quiet = new() { PingInterval = TimeSpan.MaxValue, ProbePathMtu = false };

    private sealed class Traffic
    {
        public int KeepalivesFromA;
        public int HandshakesFromA;
        public volatile bool DropToA;
        public UdpAddress? AddressA;

        public bool Filter(UdpAddress from, UdpAddress to, byte[] datagram)
        {
            if (from.Equals(AddressA))
            {
                if (datagram[0] == WireFormat.Data && datagram.Length == WireFormat.DataOverhead)
                {
                    Interlocked.Increment(ref KeepalivesFromA);
                }
                // A ClientHello (DTLS handshake record, message type 1) starts a handshake.
                if (datagram[0] == WireFormat.HandshakeToListener && datagram.Length > 14 && datagram[1] == 22 && datagram[14] == 1)
                {
                    Interlocked.Increment(ref HandshakesFromA);
                }
            }
            return !(DropToA && to.Equals(AddressA));
        }
    }

    private static async Task<(VpnPair Pair, FakeTimeProvider Time, Traffic Traffic)> StartAsync(TimeSpan keepalive, VpnTimings? timings = null)
    {
        var time = Clocks.StartingNow();
        var traffic = new Traffic { AddressA = UdpAddress.Create(IPEndPoint.Parse("192.0.2.1:51820")) };
        var network = new MemoryTransportNetwork { Filter = traffic.Filter };
        var pair = await VpnPair.StartAsync(network: network, timings: timings, configure: (a, b) =>
        {
            a.TimeProvider = time;
            b.TimeProvider = time;
            a.Peers[0].PersistentKeepalive = keepalive;
        });
        pair.TunA.Inject(Udp(A, B, 10));
        await FirstDeliveryAsync(pair, time);
        return (pair, time, traffic);
    }

    /// <summary>
    /// Waits for the first packet, whose handshake runs on the fake clock. A handshake that waits for a
    /// retransmission (OpenSSL's DTLS keeps wall-clock timers of its own; the packed-ClientHello case that made
    /// one wait is fixed, see PackedClientHelloTests) gets it only when the fake clock moves: after a second of
    /// real time without the packet, the clock moves 100 ms, as time would.
    /// </summary>
    private static async Task FirstDeliveryAsync(VpnPair pair, FakeTimeProvider time)
    {
        var deadline = DateTime.UtcNow + VpnPair.Patience;
        while (true)
        {
            try
            {
                await pair.TunB.NextDeliveredAsync(TimeSpan.FromSeconds(1));
                return;
            }
            catch (OperationCanceledException) when (DateTime.UtcNow < deadline)
            {
                time.Advance(TimeSpan.FromMilliseconds(100));
            }
        }
    }

    private static void Advance(FakeTimeProvider time, TimeSpan by)
    {
        for (var t = TimeSpan.Zero; t < by; t += TimeSpan.FromMilliseconds(100))
        {
            time.Advance(TimeSpan.FromMilliseconds(100));
        }
    }

    [Fact]
    public async Task PersistentKeepalive_IsSentWhenIdle()
    {
        var (pair, time, traffic) = await StartAsync(TimeSpan.FromSeconds(1), Quiet);
        await using var _ = pair;
        int before = Volatile.Read(ref traffic.KeepalivesFromA);
        Advance(time, TimeSpan.FromSeconds(3.05));
        Assert.InRange(Volatile.Read(ref traffic.KeepalivesFromA) - before, 2, 4);
    }

    [Fact]
    public async Task WithoutPersistentKeepalive_IdleMeansSilence()
    {
        var (pair, time, traffic) = await StartAsync(TimeSpan.Zero, Quiet);
        await using var _ = pair;
        int before = Volatile.Read(ref traffic.KeepalivesFromA);
        Advance(time, TimeSpan.FromSeconds(3.05));
        Assert.Equal(before, Volatile.Read(ref traffic.KeepalivesFromA));
    }

    [Fact]
    public async Task PassiveKeepalive_AnswersDataAfterKeepaliveTimeout()
    {
        // No RTT pings here: a ping would count as the answer.
        var (pair, time, traffic) = await StartAsync(TimeSpan.Zero, Quiet);
        await using var _ = pair;
        pair.TunB.Inject(Udp(B, A, 10));
        await pair.TunA.NextDeliveredAsync(VpnPair.Patience);
        int before = Volatile.Read(ref traffic.KeepalivesFromA);
        Advance(time, TimeSpan.FromSeconds(9.5));
        Assert.Equal(before, Volatile.Read(ref traffic.KeepalivesFromA));
        Advance(time, TimeSpan.FromSeconds(1));
        Assert.Equal(before + 1, Volatile.Read(ref traffic.KeepalivesFromA));
    }

    /// <summary>
    /// Advances in 100 ms steps and, after each, waits until each side has received every record the other sent and
    /// no handshake runs. The fake clock must not outrun a receive thread: a keepalive still in flight when the
    /// sender's peer reaches its dead-peer limit (15 s without an answer) would start a spurious handshake from
    /// the other side. A handshake that waits for a retransmission (see <see cref="FirstDeliveryAsync"/>) gets
    /// the clock moved 100 ms per second of real time, as time would.
    /// </summary>
    private static async Task AdvanceSettledAsync(VpnPair pair, FakeTimeProvider time, TimeSpan by)
    {
        var peerB = pair.VpnA.FindPeer(pair.IdentityB.PeerId)!;
        var peerA = pair.VpnB.FindPeer(pair.IdentityA.PeerId)!;
        bool Settled() => Volatile.Read(ref peerA.LastReceived) >= Volatile.Read(ref peerB.LastSent)
            && Volatile.Read(ref peerB.LastReceived) >= Volatile.Read(ref peerA.LastSent)
            && Volatile.Read(ref peerB.HandshakeInFlight) == 0
            && Volatile.Read(ref peerA.HandshakeInFlight) == 0;
        var step = TimeSpan.FromMilliseconds(100);
        // Nudges count towards the total, so the clock ends where asked (beyond it only if the last step needs one).
        for (var moved = TimeSpan.Zero; moved < by; moved += step)
        {
            time.Advance(step);
            var deadline = DateTime.UtcNow + VpnPair.Patience;
            var nudge = DateTime.UtcNow + TimeSpan.FromSeconds(1);
            while (!Settled())
            {
                if (DateTime.UtcNow > deadline)
                {
                    throw new TimeoutException(
                        $"Still waiting after {VpnPair.Patience.TotalSeconds} s for both sides to settle: A→B sent {peerB.LastSent} received {peerA.LastReceived}, " +
                        $"B→A sent {peerA.LastSent} received {peerB.LastReceived}, handshakes in flight {peerB.HandshakeInFlight}/{peerA.HandshakeInFlight}, error {peerB.LastHandshakeError}.");
                }
                if (DateTime.UtcNow > nudge)
                {
                    time.Advance(step);
                    moved += step;
                    nudge = DateTime.UtcNow + TimeSpan.FromSeconds(1);
                }
                await Task.Delay(1);
            }
        }
    }

    [Fact]
    public async Task InitiatorRekeys_AfterRekeyAfterTime_WithoutLosingTraffic()
    {
        var (pair, time, _) = await StartAsync(TimeSpan.Zero, Quiet);
        await using var __ = pair;
        var peerB = pair.VpnA.FindPeer(pair.IdentityB.PeerId)!;
        var first = peerB.Current;
        // B sends every 5 s, as a live peer does; A answers with passive keepalives.
        for (int s = 0; s < 119; s += 5)
        {
            await AdvanceSettledAsync(pair, time, TimeSpan.FromSeconds(Math.Min(5, 119 - s)));
            pair.TunB.Inject(Udp(B, A, 10));
            await pair.TunA.NextDeliveredAsync(VpnPair.Patience);
        }
        // The rekey needs the initiator to be sending.
        pair.TunA.Inject(Udp(A, B, 10));
        await pair.TunB.NextDeliveredAsync(VpnPair.Patience);
        await AdvanceSettledAsync(pair, time, TimeSpan.FromSeconds(0.5));
        Assert.Same(first, peerB.Current);
        Assert.Equal(1, Volatile.Read(ref peerB.Handshakes));
        await AdvanceSettledAsync(pair, time, TimeSpan.FromSeconds(1.5));
        // Settled: the rekey that the 120 s tick started has completed, with A as its initiator.
        Assert.Equal(2, Volatile.Read(ref peerB.Handshakes));
        Assert.NotSame(first, peerB.Current);
        Assert.Same(first, peerB.Previous);
        Assert.True(peerB.Current!.IsInitiator);
        for (int i = 0; i < 5; i++)
        {
            pair.TunA.Inject(Udp(A, B, 10 + i));
            Assert.Equal(28 + 10 + i, (await pair.TunB.NextDeliveredAsync(VpnPair.Patience)).Length);
        }
        // The responder switched to the new keypair on its first record.
        var peerA = pair.VpnB.FindPeer(pair.IdentityA.PeerId)!;
        Assert.Equal(peerB.Current!.LocalIndex, peerA.Current!.RemoteIndex);
    }

    [Fact]
    public async Task DeadPeer_TriggersANewHandshake()
    {
        // Quiet, and B's record reaches A before the drop starts: any authentic record from B is an answer, and one still
        // in flight then (a pong, a path-MTU probe) cleared A's deadline in the middle of the advance; no data
        // followed to set it again, and no handshake ever came (a full run, 2026-12-03).
        var (pair, time, traffic) = await StartAsync(TimeSpan.Zero, Quiet);
        await using var _ = pair;
        var peerB = pair.VpnA.FindPeer(pair.IdentityB.PeerId)!;
        pair.TunB.Inject(Udp(B, A, 10)); // A's receive loop has handled all B sent before it (one ordered queue)
        await pair.TunA.NextDeliveredAsync(VpnPair.Patience);
        Assert.Equal(0, Interlocked.Read(ref peerB.FirstUnansweredSend));
        traffic.DropToA = true;
        int before = Volatile.Read(ref traffic.HandshakesFromA);
        pair.TunA.Inject(Udp(A, B, 10));
        await pair.TunB.NextDeliveredAsync(VpnPair.Patience);
        Assert.Equal(time.GetTimestamp(), Interlocked.Read(ref peerB.FirstUnansweredSend)); // the deadline runs from now
        Advance(time, TimeSpan.FromSeconds(14.5));
        Assert.NotEqual(0, Interlocked.Read(ref peerB.FirstUnansweredSend));
        Assert.Equal(before, Volatile.Read(ref traffic.HandshakesFromA));
        Advance(time, TimeSpan.FromSeconds(1));
        await VpnPair.WaitUntilAsync(() => Volatile.Read(ref traffic.HandshakesFromA) > before, "a handshake to an unresponsive peer");
    }
}
