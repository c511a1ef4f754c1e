using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Time.Testing;
using Pinhole.Nat.Dcutr;
using Pinhole.Nat.Tests.Support;
using Pinhole.Protocols;
using Pinhole.Testing;

namespace Pinhole.Nat.Tests.Dcutr;

/// <summary>
/// B's direct dial before a punch (go-libp2p's short cut): only public TCP addresses are dialed, all at once, within one
/// timeout on the fake clock; the first connection wins and late ones are closed. Then, on loopback relayed connections,
/// the service dials directly when the peer announces an address it may dial, and punches only otherwise.
/// </summary>
public sealed class DirectDialFirstTests
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    private sealed class FakeConnection(string name) : IAsyncDisposable
    {
        public string Name { get; } = name;

        public bool Disposed { get; private set; }

        public ValueTask DisposeAsync()
        {
            Disposed = true;
            return ValueTask.CompletedTask;
        }
    }

    [Fact]
    public void Only_public_tcp_addresses_are_candidates()
    {
        Multiaddr[] announced =
        [
            Multiaddr.Parse("/ip4/10.0.0.5/tcp/4001"),
            Multiaddr.Parse("/ip4/192.168.1.2/tcp/4001"),
            Multiaddr.Parse("/ip4/100.64.0.9/tcp/4001"),
            Multiaddr.Parse("/ip4/127.0.0.1/tcp/4001"),
            Multiaddr.Parse("/ip4/169.254.1.1/tcp/4001"),
            Multiaddr.Parse("/ip4/203.0.113.7/udp/4001"),
            Multiaddr.Parse("/ip4/203.0.113.7/tcp/4001/p2p/12D3KooWCAh4EQkinuHP6BHKbaGL5soJMd7pwD8yBpzYfnHWSBAe/p2p-circuit"),
            Multiaddr.Parse("/ip4/203.0.113.7/tcp/4001"),
            Multiaddr.Parse("/ip4/203.0.113.7/tcp/4001/p2p/12D3KooWCAh4EQkinuHP6BHKbaGL5soJMd7pwD8yBpzYfnHWSBAe"),
            Multiaddr.Parse("/ip6/2001:db8::1/tcp/4002"),
            Multiaddr.Parse("/ip6/fd00::1/tcp/4002"),
        ];
        var candidates = DirectDialFirst.Candidates(announced, DirectDialFirst.IsPublic);
        Assert.Equal([new IPEndPoint(IPAddress.Parse("203.0.113.7"), 4001), new IPEndPoint(IPAddress.Parse("2001:db8::1"), 4002)], candidates);
        Assert.False(DirectDialFirst.IsPublic(IPAddress.Parse("239.255.255.250")));

        var many = Enumerable.Range(1, 20).Select(i => Multiaddr.Parse($"/ip4/198.51.100.{i}/tcp/4001"));
        Assert.Equal(DirectDialFirst.MaxAddresses, DirectDialFirst.Candidates(many, DirectDialFirst.IsPublic).Count);
    }

    [Fact]
    public async Task Dials_that_never_connect_are_cut_at_the_timeout_and_not_before()
    {
        var clock = new FakeTimeProvider();
        var started = 0;
        IPEndPoint[] candidates = [new(IPAddress.Parse("203.0.113.7"), 4001), new(IPAddress.Parse("198.51.100.1"), 4001)];
        var result = DirectDialFirst.TryAsync<FakeConnection>(candidates, async (_, token) =>
        {
            Interlocked.Increment(ref started);
            await Task.Delay(System.Threading.Timeout.InfiniteTimeSpan, token);
            throw new InvalidOperationException("unreachable");
        }, Timeout, clock, CancellationToken.None);

        await Eventually.TrueAsync(() => Volatile.Read(ref started) == 2, "both dials started at once");
        clock.Advance(Timeout - TimeSpan.FromMilliseconds(1));
        Assert.False(result.IsCompleted);
        clock.Advance(TimeSpan.FromMilliseconds(1));
        var outcome = await result.WaitAsync(HangGuard);
        Assert.Null(outcome.Direct);
        Assert.Equal(candidates, outcome.Tried);
        Assert.Equal(2, outcome.Errors.Count);
        Assert.All(outcome.Errors, e => Assert.EndsWith("no connection within 5 s", e, StringComparison.Ordinal));
        Assert.Contains(outcome.Errors, e => e.StartsWith("direct dial to 203.0.113.7:4001", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_first_connection_wins_a_refused_dial_is_reported_and_a_late_one_is_closed()
    {
        var clock = new FakeTimeProvider();
        var winner = new TaskCompletionSource<FakeConnection>(TaskCreationOptions.RunContinuationsAsynchronously);
        var late = new TaskCompletionSource<FakeConnection>(TaskCreationOptions.RunContinuationsAsynchronously);
        IPEndPoint refused = new(IPAddress.Parse("198.51.100.1"), 4001), good = new(IPAddress.Parse("203.0.113.7"), 4001), slow = new(IPAddress.Parse("192.0.2.9"), 4001);
        var outcome = DirectDialFirst.TryAsync<FakeConnection>([refused, good, slow], (at, _) =>
            at.Equals(refused) ? throw new SocketException((int)SocketError.ConnectionRefused)
            : at.Equals(good) ? winner.Task
            : late.Task, Timeout, clock, CancellationToken.None);

        var direct = new FakeConnection("good");
        winner.SetResult(direct);
        var result = await outcome.WaitAsync(HangGuard);
        Assert.Same(direct, result.Direct);
        Assert.Equal(good, result.At);
        Assert.False(direct.Disposed);
        // The refused dial may or may not have been seen before the winner; if it was, it says why.
        Assert.All(result.Errors, e => Assert.StartsWith("direct dial to 198.51.100.1:4001: ", e, StringComparison.Ordinal));

        var straggler = new FakeConnection("late");
        late.SetResult(straggler);
        await Eventually.TrueAsync(() => straggler.Disposed, "the late connection is closed");
    }

    [Fact]
    public async Task No_candidates_no_dial_and_the_callers_cancellation_propagates()
    {
        var clock = new FakeTimeProvider();
        var none = await DirectDialFirst.TryAsync<FakeConnection>([], (_, _) => throw new InvalidOperationException("must not dial"), Timeout, clock, CancellationToken.None);
        Assert.Null(none.Direct);
        Assert.Empty(none.Errors);

        using var cancel = new CancellationTokenSource();
        var dialing = DirectDialFirst.TryAsync<FakeConnection>([new(IPAddress.Parse("203.0.113.7"), 4001)], async (_, token) =>
        {
            await Task.Delay(System.Threading.Timeout.InfiniteTimeSpan, token);
            return new FakeConnection("never");
        }, Timeout, clock, cancel.Token);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => dialing.WaitAsync(HangGuard));
    }

    private static async Task<(TestPeer R, TestPeer A, TestPeer B, PeerConnection RelayedB)> RelayedPairAsync(bool aAnnouncesItsAddress)
    {
        var r = await TestPeer.StartAsync();
        r.ServeRelay();
        var a = await TestPeer.StartAsync(o => o.LimitedConnectionProtocols.Add(DcutrService.ProtocolId));
        var b = await TestPeer.StartAsync(o => o.LimitedConnectionProtocols.Add(DcutrService.ProtocolId));
        a.UseRelayClient(o => o.ListenAddresses = aAnnouncesItsAddress ? () => [a.Address] : null);
        b.UseRelayClient();
        var aToR = await a.ConnectAsync(r);
        var bToR = await b.ConnectAsync(r);
        await b.RelayClient!.ReserveAsync(bToR, TestPeer.Bounded());
        var relayedA = await a.RelayClient!.ConnectAsync(aToR, b.Id, TestPeer.Bounded());
        a.Route(relayedA);
        var relayedB = await b.AcceptAsync();
        return (r, a, b, relayedB);
    }

    private static DcutrService Service(TestPeer peer, bool loopbackIsPublic) => new(new DcutrOptions
    {
        ConnectionOptions = peer.Options,
        LocalEndPoint = new IPEndPoint(IPAddress.Loopback, peer.ListenPort),
        Addresses = () => [Multiaddr.Parse($"/ip4/127.0.0.1/tcp/{peer.ListenPort}")],
        AttemptTimeout = TimeSpan.FromSeconds(20),
        IsPublicAddress = loopbackIsPublic ? _ => true : DirectDialFirst.IsPublic,
    });

    [Fact]
    public async Task A_peer_that_announces_a_public_address_is_dialed_directly_and_no_punch_starts()
    {
        var (r, a, b, relayedB) = await RelayedPairAsync(aAnnouncesItsAddress: true);
        await using (r)
        await using (a)
        await using (b)
        {
            var punchStarted = false;
            a.Handle(DcutrService.ProtocolId, (_, stream) =>
            {
                punchStarted = true;
                stream.Abort();
                return Task.CompletedTask;
            });
            var result = await Service(b, loopbackIsPublic: true).UpgradeAsync(relayedB, TestPeer.Bounded());
            Assert.True(result.Succeeded, result.ToString());
            Assert.Equal(0, result.Attempts);
            Assert.Null(result.RelayRoundTrip);
            Assert.True(result.DialedDirectly);
            Assert.Null(result.Reason);
            Assert.Equal(Multiaddr.Parse($"/ip4/127.0.0.1/tcp/{a.ListenPort}"), result.Direct!.RemoteAddress);
            Assert.Equal(a.Id, result.Direct!.RemotePeer);
            Assert.Equal("tcp", result.Direct.Netlayer);
            Assert.False(result.Direct.IsInbound);
            Assert.False(punchStarted);
            await using var stream = await result.Direct.OpenStreamAsync(PingProtocol.ProtocolId, cancellationToken: TestPeer.Bounded());
        }
    }

    [Fact]
    public async Task A_peer_whose_addresses_are_all_private_gets_the_punch_without_a_dial()
    {
        var (r, a, b, relayedB) = await RelayedPairAsync(aAnnouncesItsAddress: true);
        await using (r)
        await using (a)
        await using (b)
        {
            var punchStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            a.Handle(DcutrService.ProtocolId, async (_, stream) =>
            {
                punchStarted.TrySetResult();
                await using (stream)
                {
                    stream.CompleteWrites();
                }
            });
            // 127.0.0.1 is not public: straight to the exchange, which A ends at once.
            var result = await Service(b, loopbackIsPublic: false).UpgradeAsync(relayedB, TestPeer.Bounded());
            await punchStarted.Task.WaitAsync(HangGuard);
            Assert.False(result.Succeeded);
            Assert.Equal(DirectConnectionFailure.PeerClosed, result.Failure);
            Assert.DoesNotContain(result.Errors, e => e.StartsWith("direct dial", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task Asking_for_the_addresses_and_the_dials_share_one_attempt_timeout()
    {
        var (r, a, b, relayedB) = await RelayedPairAsync(aAnnouncesItsAddress: true);
        await using (r)
        await using (a)
        await using (b)
        {
            var punchStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            a.Handle(DcutrService.ProtocolId, async (_, stream) =>
            {
                punchStarted.TrySetResult();
                await using (stream)
                {
                    stream.CompleteWrites();
                }
            });
            // An announced address that accepts TCP but never answers TLS (a stale mapping in front of something else).
            using var silent = new TcpListener(IPAddress.Loopback, 0);
            silent.Start();
            var silentPort = ((IPEndPoint)silent.LocalEndpoint).Port;
            var clock = new FakeTimeProvider();
            var asked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var service = new DcutrService(new DcutrOptions
            {
                ConnectionOptions = new PeerConnectionOptions { Identity = b.Identity, TimeProvider = clock },
                LocalEndPoint = new IPEndPoint(IPAddress.Loopback, b.ListenPort),
                Addresses = () => [Multiaddr.Parse($"/ip4/127.0.0.1/tcp/{b.ListenPort}")],
                AttemptTimeout = Timeout,
                IsPublicAddress = _ => true,
                // The identify round trip is slow: 3 of the 5 s.
                PeerAddresses = async (_, token) =>
                {
                    var slow = Task.Delay(TimeSpan.FromSeconds(3), clock, token);
                    asked.TrySetResult();
                    await slow;
                    return [Multiaddr.Parse($"/ip4/127.0.0.1/tcp/{silentPort}")];
                },
            });
            var upgrade = service.UpgradeAsync(relayedB, TestPeer.Bounded());
            await asked.Task.WaitAsync(HangGuard);
            clock.Advance(TimeSpan.FromSeconds(3));
            using var dialed = await silent.AcceptSocketAsync().WaitAsync(HangGuard);
            // 5 s after the start, not 3 + 5: the dial is cut and the punch starts.
            clock.Advance(TimeSpan.FromSeconds(2));
            await punchStarted.Task.WaitAsync(HangGuard);
            var result = await upgrade.WaitAsync(HangGuard);
            Assert.False(result.Succeeded);
            Assert.Contains(result.Errors, e => e.StartsWith($"direct dial to 127.0.0.1:{silentPort}", StringComparison.Ordinal));
        }
    }
}
