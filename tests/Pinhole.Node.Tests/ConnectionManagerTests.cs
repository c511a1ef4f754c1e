using System.Net;
using System.Net.Sockets;

namespace Pinhole.Node.Tests;

public sealed class ConnectionManagerTests : IAsyncLifetime
{
    private readonly TestNodes _nodes = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _nodes.DisposeAsync();

    [Fact]
    public async Task ConnectsByPeerIdOverAStoredAddressAndRecordsTheDial()
    {
        var server = await _nodes.StartAsync();
        var client = await _nodes.StartAsync();
        using var events = client.Events.Subscribe();

        var unknown = await Assert.ThrowsAsync<PeerException>(async () => await client.Connections.ConnectAsync(server.LocalPeer));
        Assert.Equal(PeerError.Unreachable, unknown.Error);
        Assert.Contains("No known address", unknown.Message, StringComparison.Ordinal);

        client.Peers.Add(server.LocalPeer, addresses: [TestNodes.TcpAddress(server)]);
        var connection = await client.Connections.ConnectAsync(server.LocalPeer);

        Assert.Equal(server.LocalPeer, connection.RemotePeer);
        var connected = await TestNodes.NextAsync<PeerConnectedEvent>(events);
        Assert.Equal(server.LocalPeer, connected.Peer);
        Assert.Equal(ConnectionDirection.Outbound, connected.Connection.Direction);
        Assert.NotNull(client.Peers.Get(server.LocalPeer)!.Addresses[0].LastSuccess);
        Assert.NotNull(client.Peers.Get(server.LocalPeer)!.LastSeen);
        // The server remembers who dialled it, and learns where that peer listens (identify).
        await TestNodes.UntilAsync(() => server.Peers.Get(client.LocalPeer)?.Addresses.Count > 0, "the server learns the client's listen address");
        var learned = server.Peers.Get(client.LocalPeer)!;
        Assert.Equal(PeerTrust.Seen, learned.Trust);
        Assert.Equal(AddressSource.Identify, learned.Addresses[0].Source);
        Assert.Same(connection, await client.Connections.ConnectAsync(server.LocalPeer));
    }

    [Fact]
    public async Task ConcurrentConnectsShareOneDial()
    {
        var server = await _nodes.StartAsync();
        var client = await _nodes.StartAsync();
        client.Peers.Add(server.LocalPeer, addresses: [TestNodes.TcpAddress(server)]);

        var connections = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => client.Connections.ConnectAsync(server.LocalPeer).AsTask()));

        Assert.All(connections, c => Assert.Same(connections[0], c));
        Assert.Equal(1, client.Connections.Count);
        await TestNodes.UntilAsync(() => server.Connections.Count == 1, "the server holds the one connection");
    }

    [Fact]
    public async Task CrossedDialsEndWithTheSameSingleConnectionOnBothSides()
    {
        for (var round = 0; round < 4; round++)
        {
            var time = TestNodes.FakeClock();
            var a = await _nodes.StartAsync(time: time);
            var b = await _nodes.StartAsync(time: time);
            a.Peers.Add(b.LocalPeer, addresses: [TestNodes.TcpAddress(b)]);
            b.Peers.Add(a.LocalPeer, addresses: [TestNodes.TcpAddress(a)]);

            await Task.WhenAll(a.Connections.ConnectAsync(b.LocalPeer).AsTask(), b.Connections.ConnectAsync(a.LocalPeer).AsTask());
            // Both sides must hold the same connections (and have measured their RTT) before the clock moves.
            await TestNodes.UntilAsync(() => SameConnections(a, b), "both sides hold the same connections");

            var expectedDialer = PeerIdOrder.Compare(a.LocalPeer, b.LocalPeer) < 0 ? a : b;
            var crossed = a.Connections.Count == 2;
            for (var step = 0; step < 40 && (a.Connections.Count > 1 || b.Connections.Count > 1); step++)
            {
                time.Advance(TimeSpan.FromSeconds(1));
                await Task.Delay(50);
            }
            await TestNodes.UntilAsync(() => a.Connections.Count == 1 && b.Connections.Count == 1, "one connection left on each side");

            var onA = Assert.Single(a.Connections.List());
            var onB = Assert.Single(b.Connections.List());
            Assert.Equal(ConnectionState.Active, onA.State);
            Assert.Equal(onA.LocalAddress, onB.RemoteAddress);
            Assert.Equal(onA.RemoteAddress, onB.LocalAddress);
            if (crossed)
            {
                // Both dials completed: the survivor is the one the smaller PeerId dialled.
                Assert.Equal(expectedDialer == a, onA.Direction == ConnectionDirection.Outbound);
            }
            await a.Connections.PingAsync(b.LocalPeer);
            await b.Connections.PingAsync(a.LocalPeer);
            await a.StopAsync();
            await b.StopAsync();
        }
    }

    [Fact]
    public async Task TheConnectionDialledByTheSmallerPeerIdWins()
    {
        var time = TestNodes.FakeClock();
        var a = await _nodes.StartAsync(time: time);
        var b = await _nodes.StartAsync(time: time);
        var (low, high) = PeerIdOrder.Compare(a.LocalPeer, b.LocalPeer) < 0 ? (a, b) : (b, a);
        low.Peers.Add(high.LocalPeer, addresses: [TestNodes.TcpAddress(high)]);
        high.Peers.Add(low.LocalPeer, addresses: [TestNodes.TcpAddress(low)]);
        using var highEvents = high.Events.Subscribe();

        // The higher PeerId dials first; then the lower one dials too (bypassing the manager's reuse).
        await high.Connections.ConnectAsync(low.LocalPeer);
        await TestNodes.UntilAsync(() => low.Connections.Count == 1, "the low side accepted");
        var direct = await PeerConnection.ConnectAsync(low.CreateConnectOptions(new PeerAddress(high.LocalPeer, [TestNodes.TcpAddress(high)])));
        Assert.True(low.Connections.Adopt(direct));

        var changed = await TestNodes.NextAsync<PathChangedEvent>(highEvents);
        await TestNodes.UntilAsync(() => SameConnections(low, high), "both sides hold both connections");
        Assert.Equal(ConnectionDirection.Outbound, changed.From.Direction);
        Assert.Equal(ConnectionDirection.Inbound, changed.To.Direction);
        for (var step = 0; step < 40 && (low.Connections.Count > 1 || high.Connections.Count > 1); step++)
        {
            time.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(50);
        }
        await TestNodes.UntilAsync(() => low.Connections.Count == 1 && high.Connections.Count == 1, "the duplicate closed");
        Assert.Equal(ConnectionDirection.Outbound, Assert.Single(low.Connections.List()).Direction);
        Assert.Equal(ConnectionDirection.Inbound, Assert.Single(high.Connections.List()).Direction);
    }

    [Fact]
    public async Task AKeepConnectedPeerIsRedialledWithBoundedBackoffAfterItRestarts()
    {
        var time = TestNodes.FakeClock();
        using var serverIdentity = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var port = Pinhole.Testing.FreePort.TcpAndUdp();
        var server = await _nodes.StartAsync(identity: serverIdentity, port: port);
        var client = await _nodes.StartAsync(time: time);
        using var events = client.Events.Subscribe();
        client.Peers.Add(server.LocalPeer, addresses: [TestNodes.TcpAddress(server)]);
        client.Connections.KeepConnected(server.LocalPeer, true);
        await TestNodes.NextAsync<PeerConnectedEvent>(events);

        await server.StopAsync();
        await TestNodes.NextAsync<PeerDisconnectedEvent>(events);

        // While the server is down every redial fails and the next delay grows, never past the bound.
        var options = client.Options.Connections;
        var delays = new List<TimeSpan>();
        for (var failures = 0; failures < 12; failures++)
        {
            await TestNodes.UntilAsync(() => client.Connections.NextReconnect(server.LocalPeer) is not null, "a redial is scheduled");
            var due = client.Connections.NextReconnect(server.LocalPeer)!.Value;
            var delay = due - time.GetUtcNow();
            delays.Add(delay);
            Assert.InRange(delay, options.ReconnectInitialDelay / 2, options.ReconnectMaxDelay);
            time.Advance(delay);
            await TestNodes.NextAsync<DialFailedEvent>(events);
        }
        Assert.True(delays[6] > delays[0] * 4, $"backoff grows: {string.Join(", ", delays)}");
        Assert.True(delays[^1] > options.ReconnectMaxDelay / 2 - TimeSpan.FromSeconds(1));

        var restarted = await _nodes.StartAsync(identity: serverIdentity, port: port);
        await TestNodes.UntilAsync(() => client.Connections.NextReconnect(server.LocalPeer) is not null, "a redial is scheduled");
        time.Advance(client.Connections.NextReconnect(server.LocalPeer)!.Value - time.GetUtcNow());
        var connected = await TestNodes.NextAsync<PeerConnectedEvent>(events);
        Assert.Equal(restarted.LocalPeer, connected.Peer);
        Assert.Null(client.Connections.NextReconnect(server.LocalPeer));
    }

    [Fact]
    public void BackoffStaysWithinItsBoundsAndIsJittered()
    {
        var initial = TimeSpan.FromSeconds(1);
        var max = TimeSpan.FromMinutes(5);
        var random = new Random(1234);
        for (var failures = 0; failures < 64; failures++)
        {
            var step = TimeSpan.FromTicks((long)Math.Min(max.Ticks, initial.Ticks * Math.Pow(2, Math.Min(failures, 30))));
            for (var i = 0; i < 50; i++)
            {
                var delay = ReconnectBackoff.Delay(failures, initial, max, random);
                Assert.InRange(delay, step / 2, step);
                Assert.InRange(delay, initial / 2, max);
            }
        }
        var samples = Enumerable.Range(0, 20).Select(_ => ReconnectBackoff.Delay(5, initial, max, random)).Distinct().Count();
        Assert.True(samples > 10, "jittered");
    }

    [Fact]
    public async Task DisconnectClosesAndSuspendsRedialsUntilTheNextConnect()
    {
        var time = TestNodes.FakeClock();
        var server = await _nodes.StartAsync();
        var client = await _nodes.StartAsync(time: time);
        using var events = client.Events.Subscribe();
        client.Peers.Add(server.LocalPeer, keepConnected: true, addresses: [TestNodes.TcpAddress(server)]);
        client.Connections.KeepConnected(server.LocalPeer, true);
        await TestNodes.NextAsync<PeerConnectedEvent>(events);

        Assert.True(await client.Connections.DisconnectAsync(server.LocalPeer));
        var gone = await TestNodes.NextAsync<PeerDisconnectedEvent>(events);
        Assert.Equal("closed by request", gone.Reason);
        Assert.Null(client.Connections.NextReconnect(server.LocalPeer));
        time.Advance(TimeSpan.FromMinutes(10));
        Assert.Equal(0, client.Connections.Count);
        Assert.False(await client.Connections.DisconnectAsync(server.LocalPeer));
        // The server learns of the close on its own time; until then a new dial meets the old connection there
        // (a duplicate to resolve), which is another test's subject.
        await Pinhole.Testing.Eventually.TrueAsync(() => server.Connections.Count == 0, "the server saw the connection close");

        await client.Connections.ConnectAsync(server.LocalPeer);
        Assert.Equal(1, client.Connections.Count);
    }

    [Fact]
    public async Task ConnectOnAStoppedNodeIsAPeerExceptionNotObjectDisposed()
    {
        var server = await _nodes.StartAsync();
        var client = await _nodes.StartAsync();
        client.Peers.Add(server.LocalPeer, addresses: [TestNodes.TcpAddress(server)]);
        await client.StopAsync();
        var e = await Assert.ThrowsAsync<PeerException>(async () => await client.Connections.ConnectAsync(server.LocalPeer));
        Assert.Equal(PeerError.ConnectionClosed, e.Error);
    }

    [Fact]
    public async Task ConnectAfterDisconnectNeverJoinsTheStaleDialOfTheClosedConnection()
    {
        var server = await _nodes.StartAsync();
        var client = await _nodes.StartAsync();
        client.Peers.Add(server.LocalPeer, addresses: [TestNodes.TcpAddress(server)]);
        // The first dial adopts its connection, then its thread stalls before the dial completes.
        var adopted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var resume = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        client.Connections.DialUnwindingForTests = async _ => { adopted.TrySetResult(); await resume.Task; };
        var first = client.Connections.ConnectAsync(server.LocalPeer).AsTask();
        await adopted.Task.WaitAsync(TestNodes.Wait);
        client.Connections.DialUnwindingForTests = null;
        Assert.True(await client.Connections.DisconnectAsync(server.LocalPeer));
        Assert.Equal(0, client.Connections.Count);

        var second = client.Connections.ConnectAsync(server.LocalPeer).AsTask();
        resume.SetResult();
        var connection = await second.WaitAsync(TestNodes.Wait);
        Assert.Equal(1, client.Connections.Count);
        Assert.Same(client.Connections.Get(server.LocalPeer), connection);
        Assert.False(connection.Completion.IsCompleted);
        // The stalled first call's own connection was closed by request under it: it says so (or, if it finishes
        // after the fresh dial, returns the fresh connection); it never hands out the closed one.
        try
        {
            Assert.Same(connection, await first.WaitAsync(TestNodes.Wait));
        }
        catch (PeerException e)
        {
            Assert.Equal(PeerError.ConnectionClosed, e.Error);
            Assert.Contains("closed by request", e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task IdleConnectionsCloseButKeepConnectedOnesStay()
    {
        var time = TestNodes.FakeClock();
        var idleTimeout = TimeSpan.FromMinutes(1);
        var server = await _nodes.StartAsync();
        var kept = await _nodes.StartAsync();
        var client = await _nodes.StartAsync(b => b.Options.Connections.IdleTimeout = idleTimeout, time: time);
        using var events = client.Events.Subscribe();
        client.Peers.Add(server.LocalPeer, addresses: [TestNodes.TcpAddress(server)]);
        client.Peers.Add(kept.LocalPeer, keepConnected: true, addresses: [TestNodes.TcpAddress(kept)]);
        client.Connections.KeepConnected(kept.LocalPeer, true);
        await client.Connections.ConnectAsync(server.LocalPeer);
        // Jumping the clock while a ping is in flight would time it out: let the first pings come back. And the
        // peers' identify streams (they learn where the client listens) count as activity: let them finish first.
        await TestNodes.UntilAsync(() => client.Connections.Count == 2 && client.Connections.List().All(c => c.RoundTripTime is not null), "both connected, RTT measured");
        await TestNodes.UntilAsync(() => server.Peers.Get(client.LocalPeer)?.Addresses.Count > 0 && kept.Peers.Get(client.LocalPeer)?.Addresses.Count > 0, "the peers identified the client");
        await TestNodes.UntilAsync(() => client.Connections.List().All(c => c.Streams == 0), "no stream open");

        // The clock has not moved since the connections opened, so no activity is stamped later than now. The
        // housekeeping passes run inside Advance (FakeTimeProvider calls timers on the caller's thread) and mark
        // what they close as Closing in the same step: each state below is the decision of the passes so far.
        var quiet = time.GetUtcNow();
        var period = NodeConnections.HousekeepingPeriod(client.Options.Connections);
        ConnectionState StateOf(PinholeNode peer) =>
            client.Connections.List(peer.LocalPeer) is [var only] ? only.State : throw new InvalidOperationException($"{peer.LocalPeer}: not exactly one connection");
        while (time.GetUtcNow() + period < quiet + idleTimeout)
        {
            time.Advance(period);
            Assert.Equal(ConnectionState.Active, StateOf(server));
            Assert.Equal(ConnectionState.Active, StateOf(kept));
        }
        // The first pass at or past the timeout closes the idle one (yamux stamps activity before it handles a
        // frame, so nothing seen above was stamped later than `quiet`); the kept one is never touched.
        time.Advance(period);
        Assert.True(time.GetUtcNow() - quiet >= idleTimeout);
        // Closing, or already gone if the close completed inside that step (the event below says which it was).
        Assert.All(client.Connections.List(server.LocalPeer), c => Assert.Equal(ConnectionState.Closing, c.State));
        Assert.Equal(ConnectionState.Active, StateOf(kept));
        var closed = await TestNodes.NextAsync<PeerDisconnectedEvent>(events);

        Assert.Equal(server.LocalPeer, closed.Peer);
        Assert.StartsWith("idle for", closed.Reason, StringComparison.Ordinal);
        var keptFor = time.GetUtcNow() + TimeSpan.FromMinutes(5);
        while (time.GetUtcNow() < keptFor)
        {
            time.Advance(period);
            Assert.Equal(ConnectionState.Active, StateOf(kept));
        }
        Assert.Equal(kept.LocalPeer, Assert.Single(client.Connections.List()).Peer);
    }

    [Fact]
    public async Task LimitsRefuseConnectionsOverThem()
    {
        var server = await _nodes.StartAsync(b => b.Options.Connections.MaxConnections = 1);
        var first = await _nodes.StartAsync();
        var second = await _nodes.StartAsync();
        first.Peers.Add(server.LocalPeer, addresses: [TestNodes.TcpAddress(server)]);
        second.Peers.Add(server.LocalPeer, addresses: [TestNodes.TcpAddress(server)]);
        using var secondEvents = second.Events.Subscribe();

        await first.Connections.ConnectAsync(server.LocalPeer);
        await TestNodes.UntilAsync(() => server.Connections.Count == 1, "the server took the first");
        await second.Connections.ConnectAsync(server.LocalPeer);
        // The server closes it at once; the second node sees it go.
        await TestNodes.NextAsync<PeerDisconnectedEvent>(secondEvents);
        Assert.Equal(1, server.Connections.Count);
        Assert.Equal(first.LocalPeer, Assert.Single(server.Connections.List()).Peer);

        server.Peers.Add(second.LocalPeer, addresses: [TestNodes.TcpAddress(second)]);
        var refused = await Assert.ThrowsAsync<PeerException>(async () => await server.Connections.ConnectAsync(second.LocalPeer));
        Assert.Equal(PeerError.LimitExceeded, refused.Error);
    }

    [Fact]
    public async Task ConnectionsPerPeerAreCapped()
    {
        var server = await _nodes.StartAsync(b => b.Options.Connections.MaxConnectionsPerPeer = 1);
        var client = await _nodes.StartAsync();
        var options = client.CreateConnectOptions(new PeerAddress(server.LocalPeer, [TestNodes.TcpAddress(server)]));
        await using var one = await PeerConnection.ConnectAsync(options);
        await TestNodes.UntilAsync(() => server.Connections.Count == 1, "the first is kept");
        await using var two = await PeerConnection.ConnectAsync(options);
        await ((Task)two.Completion).ContinueWith(_ => { }, TaskScheduler.Default).WaitAsync(TestNodes.Wait);
        Assert.Equal(1, server.Connections.Count);
        Assert.False(one.Completion.IsCompleted);
    }

    [Fact]
    public async Task HappyEyeballsStartsTheNextAddressWhenTheFirstHangs()
    {
        // A black hole: it accepts TCP and never says a word, so a handshake there never ends (fake clock).
        using var hole = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        hole.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        hole.Listen(16);
        var holeAddress = Multiaddr.FromIPEndPoint((IPEndPoint)hole.LocalEndPoint!, "tcp");
        // A refused port fails at once and starts the next attempt immediately.
        var refusedPort = Pinhole.Testing.FreePort.Tcp();
        var time = TestNodes.FakeClock();
        var server = await _nodes.StartAsync();
        var client = await _nodes.StartAsync(time: time);
        // Newest first among equals: the refused address, then the black hole, then the good one (a weaker source).
        client.Peers.Add(server.LocalPeer, addresses: [holeAddress]);
        time.Advance(TimeSpan.FromMilliseconds(5));
        client.Peers.Add(server.LocalPeer, addresses: [Multiaddr.Parse($"/ip4/127.0.0.1/tcp/{refusedPort}")]);
        client.Peers.AddAddress(server.LocalPeer, TestNodes.TcpAddress(server), AddressSource.Identify);

        var connecting = client.Connections.ConnectAsync(server.LocalPeer).AsTask();
        // The refused address failed; the black hole is being tried; the good one waits for the stagger.
        await TestNodes.UntilAsync(() => client.Peers.Get(server.LocalPeer)!.Addresses.Any(a => a.ConsecutiveFailures == 1), "the refused address failed");
        Assert.False(connecting.IsCompleted);
        // The dial loop arms the next stagger just after it records that failure, a moment a loaded machine can
        // stretch: one advance made before it would never fire it. So move the clock a stagger at a time until the good
        // address connects: in all by less than the black hole's handshake timeout (its failure would also start the
        // next address, without the stagger), and for at most 10 s of real time.
        var stagger = client.Options.Connections.DialStagger;
        var real = System.Diagnostics.Stopwatch.StartNew();
        for (var moved = TimeSpan.Zero;
             !connecting.IsCompleted && moved + stagger < client.Options.Transport.HandshakeTimeout && real.Elapsed < TimeSpan.FromSeconds(10);
             moved += stagger)
        {
            time.Advance(stagger);
            await Task.WhenAny(connecting, Task.Delay(100));
        }
        var connection = await connecting.WaitAsync(TestNodes.Wait);

        Assert.Equal(TestNodes.TcpAddress(server), connection.RemoteAddress);
        var addresses = client.Peers.Get(server.LocalPeer)!.Addresses;
        Assert.NotNull(addresses.Single(a => a.Address == TestNodes.TcpAddress(server)).LastSuccess);
        Assert.Contains("refused", addresses.Single(a => a.Address.ToString().EndsWith($"/{refusedPort}", StringComparison.Ordinal)).LastError, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task AWrongKeyAtTheAddressIsAnAuthenticationError()
    {
        var impostor = await _nodes.StartAsync();
        var client = await _nodes.StartAsync();
        using var expected = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        client.Peers.Add(expected.PeerId, addresses: [TestNodes.TcpAddress(impostor)]);

        var error = await Assert.ThrowsAsync<PeerException>(async () => await client.Connections.ConnectAsync(expected.PeerId));
        Assert.Equal(PeerError.PeerMismatch, error.Error);
        Assert.Contains(impostor.LocalPeer.ToString(), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConnectByAddressPinsThePeerAndTrustOnFirstUseIsExplicit()
    {
        var server = await _nodes.StartAsync();
        var client = await _nodes.StartAsync();
        var address = TestNodes.TcpAddress(server).Encapsulate(server.LocalPeer);

        await client.Connections.ConnectAsync(PeerAddress.Parse(address.ToString()));
        Assert.Equal(PeerTrust.Pinned, client.Peers.Get(server.LocalPeer)!.Trust);

        var other = await _nodes.StartAsync();
        var hostPort = PeerAddress.Parse("127.0.0.1:" + TestNodes.TcpAddress(other).ToIPEndPoint().Port);
        await Assert.ThrowsAsync<ArgumentException>(async () => await client.Connections.ConnectAsync(hostPort));
        var tofu = await client.Connections.ConnectAsync(hostPort, trustOnFirstUse: true);
        Assert.Equal(other.LocalPeer, tofu.RemotePeer);
        Assert.Equal(PeerTrust.TrustedOnFirstUse, client.Peers.Get(other.LocalPeer)!.Trust);
    }

    /// <summary>Each side's connections are the other's, seen from the other end, and every RTT is measured.</summary>
    private static bool SameConnections(PinholeNode a, PinholeNode b)
    {
        var onA = a.Connections.List(b.LocalPeer);
        var onB = b.Connections.List(a.LocalPeer);
        return onA.Count > 0
            && onA.Select(c => (c.LocalAddress, c.RemoteAddress)).ToHashSet().SetEquals(onB.Select(c => (c.RemoteAddress, c.LocalAddress)))
            && onA.Concat(onB).All(c => c.RoundTripTime is not null);
    }
}
