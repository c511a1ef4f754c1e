using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Pinhole.Connections;
using Pinhole.Reliability.Tests.Support;
using Pinhole.Testing;
using Xunit.Abstractions;

namespace Pinhole.Reliability.Tests.Hostile;

/// <summary>
/// Hostile clients against a real <see cref="PeerListener"/> on loopback. The listener's clock is frozen
/// (a fake <see cref="TimeProvider"/>), so no deadline ever frees a slot: when a real peer gets in, admission
/// control let it in, not a timeout. The real peer's dial runs on the real clock and is timed for
/// docs/reliability.md; the assertion is that it gets in while the attack is still going on.
/// </summary>
[Collection(nameof(HostileCollection))]
public sealed class PeerListenerHostileTests(ITestOutputHelper output) : IDisposable
{
    private readonly NodeIdentity _server = NodeIdentity.Generate();
    private readonly NodeIdentity _peer = NodeIdentity.Generate();

    public void Dispose()
    {
        _server.Dispose();
        _peer.Dispose();
    }

    [Theory]
    [InlineData(AttackKind.Silent, 2000)]
    [InlineData(AttackKind.Slowloris, 1000)]
    [InlineData(AttackKind.Garbage, 1000)]
    [InlineData(AttackKind.OversizedRecord, 1000)]
    [InlineData(AttackKind.StalledRecord, 1000)]
    [InlineData(AttackKind.StalledAfterHello, 500)]
    [InlineData(AttackKind.Mixed, 3000)]
    public async Task A_real_peer_gets_in_while_strangers_attack(AttackKind kind, int connections)
    {
        ProcessLimits.RaiseFileDescriptorLimit();
        var clock = Clocks.StartingNow();
        using var failures = new MetricCollector<long>(null, AdmissionMetrics.MeterName, "pinhole.handshake.failed");
        using var refusals = new MetricCollector<long>(null, AdmissionMetrics.MeterName, "pinhole.connection.refused");
        using var acceptErrors = new MetricCollector<long>(null, AdmissionMetrics.MeterName, "pinhole.listener.accept_errors");
        await using var listener = await PeerListener.ListenAsync(Dialer.Options(_server, clock));
        await using var attack = Attack.Start(Dialer.EndPoint(listener), kind, connections, addresses: 250);
        try
        {
            await RealPeerGetsInAsync(kind, connections, listener, attack);
        }
        finally
        {
            output.WriteLine("handshake failures: " + Summary(failures) + "; refusals: " + Summary(refusals) + "; accept errors: " + Summary(acceptErrors) +
                $"; attack: {attack.Connects} connects, {attack.FailedConnects} failed, {attack.Open} open; listener handshakes {listener.HandshakeCount}");
        }
    }

    private static string Summary(MetricCollector<long> collector) => string.Join(", ",
        collector.GetMeasurementSnapshot().GroupBy(m => m.Tags["reason"] as string).Select(g => $"{g.Key} {g.Sum(m => m.Value)}"));

    private async Task RealPeerGetsInAsync(AttackKind kind, int connections, PeerListener listener, Attack attack)
    {
        await attack.WaitForConnectsAsync(connections, TimeSpan.FromSeconds(120));
        var budgetFull = listener.HandshakeCount;

        var connectsBefore = attack.Connects;
        Assert.Equal(connections, attack.SlotsRunning);
        var times = new List<TimeSpan>();
        for (var i = 0; i < 3; i++)
        {
            var watch = Stopwatch.StartNew();
            var dial = Dialer.ConnectAsync(_peer, listener, Dialer.Bounded());
            var accept = listener.AcceptAsync(Dialer.Bounded()).AsTask();
            var client = await dial;
            var accepted = await accept;
            watch.Stop();
            times.Add(watch.Elapsed);
            Assert.Equal(_peer.PeerId, accepted.RemotePeer);
            // The connection works: a ping round trip.
            await client.PingAsync(Dialer.Bounded());
            await client.DisposeAsync();
            await accepted.DisposeAsync();
        }
        // The attack went on while the real peers connected: every slot still holds or remakes its connection
        // (a state, not a count sampled at some moment: how many reconnects happen meanwhile depends on the load).
        Assert.Equal(connections, attack.SlotsRunning);
        output.WriteLine($"{kind}: {connections} hostile connections from 250 addresses ({attack.Connects} connects, " +
            $"{attack.ClosedByServer} closed by the server, {attack.FailedConnects} failed, {attack.Connects - connectsBefore} while the real peer dialled), budget in use {budgetFull}; " +
            $"real peer connected in {string.Join(", ", times.Select(t => $"{t.TotalMilliseconds:0} ms"))}");
    }

    [Fact]
    public async Task Silent_sockets_cost_little_memory_and_are_counted()
    {
        // A budget big enough to hold them all, to measure what one silent socket costs.
        const int Count = 1000;
        var clock = Clocks.StartingNow();
        await using var listener = await PeerListener.ListenAsync(Dialer.Options(_server, clock, o =>
        {
            o.MaxConcurrentHandshakes = Count + 10;
            o.MaxHandshakesPerAddress = Count + 10;
            o.HandshakeBurstPerAddress = Count + 10;
        }));
        var sockets = new List<Socket>();
        try
        {
            await WarmUpAsync(listener, sockets);
            var before = SettledMemory();
            for (var i = 0; i < Count; i++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                sockets.Add(socket);
                await socket.ConnectAsync(Dialer.EndPoint(listener));
            }
            await Dialer.WaitUntilAsync(() => listener.HandshakeCount >= Count + 1);
            var after = SettledMemory();
            var perConnection = (after - before) / (double)Count;
            output.WriteLine($"silent: {perConnection:0} bytes of managed memory per connection ({1024 * 1024 / perConnection:0} per MiB)");
            Assert.True(perConnection < 8 * 1024, $"a silent connection costs {perConnection:0} bytes");
        }
        finally
        {
            sockets.ForEach(s => s.Dispose());
        }
    }

    [Fact]
    public async Task Negotiating_sockets_cost_bounded_memory()
    {
        // Sockets that sent the multistream header and part of a proposal: they hold a stream and a read buffer.
        const int Count = 500;
        var clock = Clocks.StartingNow();
        await using var listener = await PeerListener.ListenAsync(Dialer.Options(_server, clock, o =>
        {
            o.MaxConcurrentHandshakes = Count + 10;
            o.MaxHandshakesPerAddress = Count + 10;
            o.HandshakeBurstPerAddress = Count + 10;
        }));
        var sockets = new List<Socket>();
        try
        {
            await WarmUpAsync(listener, sockets);
            var before = SettledMemory();
            byte[] partial = Convert.FromHexString("132f6d756c746973747265616d2f312e302e300a0b2f746c73");
            for (var i = 0; i < Count; i++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                sockets.Add(socket);
                await socket.ConnectAsync(Dialer.EndPoint(listener));
                await socket.SendAsync(partial, SocketFlags.None);
            }
            await Dialer.WaitUntilAsync(() => listener.HandshakeCount >= Count + 1);
            await Task.Delay(500); // let every handshake reach its read of the proposal
            var after = SettledMemory();
            var perConnection = (after - before) / (double)Count;
            output.WriteLine($"negotiating: {perConnection:0} bytes of managed memory per connection ({1024 * 1024 / perConnection:0} per MiB)");
            Assert.True(perConnection < 16 * 1024, $"a negotiating connection costs {perConnection:0} bytes");
        }
        finally
        {
            sockets.ForEach(s => s.Dispose());
        }
    }

    [Fact]
    public async Task One_identity_cannot_take_every_slot()
    {
        var clock = Clocks.StartingNow();
        await using var listener = await PeerListener.ListenAsync(Dialer.Options(_server, clock, o =>
        {
            o.MaxConnections = 16;
            o.MaxConnectionsPerPeer = 4;
        }));
        using var greedy = NodeIdentity.Generate();
        using var refused = new MetricCollector<long>(null, AdmissionMetrics.MeterName, "pinhole.connection.refused");
        var held = new List<PeerConnection>();
        for (var i = 0; i < 4; i++)
        {
            held.Add(await Dialer.ConnectAsync(greedy, listener, Dialer.Bounded()));
            held.Add(await listener.AcceptAsync(Dialer.Bounded()));
        }
        // The fifth is refused right after TLS: a GoAway, so its first stream fails with Refused.
        var fifth = await Dialer.ConnectAsync(greedy, listener, Dialer.Bounded());
        var e = await Assert.ThrowsAsync<PeerException>(async () => await fifth.OpenStreamAsync("/test/1", Dialer.Bounded()));
        Assert.True(e.Error is PeerError.Refused or PeerError.ConnectionClosed, e.ToString());
        await fifth.DisposeAsync();
        Assert.Equal(4, listener.AuthenticatedCount);
        Assert.Contains(refused.GetMeasurementSnapshot(), m => m.Tags["reason"] as string == "peer_limit");

        // Someone else still gets in.
        var client = await Dialer.ConnectAsync(_peer, listener, Dialer.Bounded());
        var server = await listener.AcceptAsync(Dialer.Bounded());
        Assert.Equal(_peer.PeerId, server.RemotePeer);
        await client.DisposeAsync();
        await server.DisposeAsync();
        foreach (var connection in held)
        {
            await connection.DisposeAsync();
        }
    }

    [Fact]
    public async Task One_address_with_many_identities_cannot_take_every_slot()
    {
        var clock = Clocks.StartingNow();
        await using var listener = await PeerListener.ListenAsync(Dialer.Options(_server, clock, o =>
        {
            o.MaxConnections = 16;
            o.MaxConnectionsPerAddress = 4;
        }));
        var attacker = IPAddress.Parse("127.1.0.9");
        var held = new List<PeerConnection>();
        var identities = new List<NodeIdentity>();
        for (var i = 0; i < 4; i++)
        {
            var identity = NodeIdentity.Generate();
            identities.Add(identity);
            held.Add(await Dialer.ConnectFromAsync(attacker, identity, listener, Dialer.Bounded()));
            held.Add(await listener.AcceptAsync(Dialer.Bounded()));
        }
        // A fresh identity from the same address is refused before any handshake work.
        using (var fresh = NodeIdentity.Generate())
        {
            var e = await Assert.ThrowsAsync<PeerException>(() => Dialer.ConnectFromAsync(attacker, fresh, listener, Dialer.Bounded()));
            Assert.Equal(PeerError.Refused, e.Error);
        }
        // A peer from another address gets in.
        var client = await Dialer.ConnectFromAsync(IPAddress.Parse("127.1.0.10"), _peer, listener, Dialer.Bounded());
        var server = await listener.AcceptAsync(Dialer.Bounded());
        Assert.Equal(_peer.PeerId, server.RemotePeer);
        await client.DisposeAsync();
        await server.DisposeAsync();
        foreach (var connection in held)
        {
            await connection.DisposeAsync();
        }
        identities.ForEach(i => i.Dispose());
    }

    [Fact]
    public async Task Refusals_are_cheap_and_tell_the_dialer()
    {
        // Over the per-address handshake cap, sockets are refused at once: "na", then close, no linger for a timeout.
        var clock = Clocks.StartingNow();
        await using var listener = await PeerListener.ListenAsync(Dialer.Options(_server, clock, o => o.MaxHandshakesPerAddress = 2));
        var holders = new List<Socket>();
        for (var i = 0; i < 2; i++)
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            holders.Add(s);
            await s.ConnectAsync(Dialer.EndPoint(listener));
        }
        await Dialer.WaitUntilAsync(() => listener.HandshakeCount == 2);
        using var refused = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await refused.ConnectAsync(Dialer.EndPoint(listener));
        var received = new MemoryStream();
        var buffer = new byte[256];
        int n;
        while ((n = await refused.ReceiveAsync(buffer, SocketFlags.None, Dialer.Bounded())) > 0)
        {
            received.Write(buffer, 0, n);
        }
        Assert.Equal(ConnectionUpgrader.Refusal, received.ToArray());
        Assert.Equal(2, listener.HandshakeCount);
        holders.ForEach(s => s.Dispose());
    }

    [Fact]
    public async Task The_first_byte_deadline_frees_silent_sockets_long_before_the_handshake_timeout()
    {
        var firstByte = TimeSpan.FromSeconds(2);
        var clock = new WatchedClock();
        await using var listener = await PeerListener.ListenAsync(Dialer.Options(_server, clock, o =>
        {
            o.FirstByteTimeout = firstByte;
            o.HandshakeTimeout = TimeSpan.FromSeconds(60);
        }));
        using var failed = new MetricCollector<long>(null, AdmissionMetrics.MeterName, "pinhole.handshake.failed");
        using var silent = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await silent.ConnectAsync(Dialer.EndPoint(listener));
        // The clock moves only once the handshake has armed its first-byte deadline (the slot is counted a moment before).
        await Dialer.WaitUntilAsync(() => listener.HandshakeCount == 1);
        await clock.WaitForTimerAsync(firstByte);
        var closed = silent.ReceiveAsync(new byte[16], SocketFlags.None, Dialer.Bounded()).AsTask();
        clock.Advance(firstByte - TimeSpan.FromMilliseconds(1));
        // Timers fire synchronously inside Advance: had the deadline fired, the slot would be released by now or soon;
        // it must still be held, and the socket open.
        Assert.Equal(1, listener.HandshakeCount);
        Assert.False(closed.IsCompleted, "the listener closed a silent socket before its first-byte deadline");
        clock.Advance(TimeSpan.FromMilliseconds(1));
        // 2 s of a 60 s handshake timeout: the deadline that fired is the first-byte one.
        Assert.Equal(0, await closed);
        await Dialer.WaitUntilAsync(() => listener.HandshakeCount == 0);
        Assert.Contains(failed.GetMeasurementSnapshot(), m => m.Tags["reason"] as string == "first_byte_timeout");
    }

    private static async Task WarmUpAsync(PeerListener listener, List<Socket> sockets)
    {
        // One of each path first, so that lazily created statics and pools are not counted.
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        sockets.Add(socket);
        await socket.ConnectAsync(Dialer.EndPoint(listener));
        await Dialer.WaitUntilAsync(() => listener.HandshakeCount >= 1);
    }

    private static long SettledMemory()
    {
        for (var i = 0; i < 3; i++)
        {
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
        }
        return GC.GetTotalMemory(forceFullCollection: true);
    }
}

/// <summary>Hostile tests open thousands of sockets each: never two at once.</summary>
[CollectionDefinition(nameof(HostileCollection), DisableParallelization = true)]
public sealed class HostileCollection;
