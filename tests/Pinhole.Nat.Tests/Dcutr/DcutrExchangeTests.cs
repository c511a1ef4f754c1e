using System.Net;
using System.Threading.Channels;
using Microsoft.Extensions.Time.Testing;
using Pinhole.Nat.Dcutr;
using Pinhole.Nat.Dcutr.Protocol;
using Pinhole.Nat.Relay.Protocol;
using Pinhole.Nat.Tests.Support;
using Pinhole.Testing;

namespace Pinhole.Nat.Tests.Dcutr;

/// <summary>
/// The DCUtR state machine on a fake clock: the test plays the other peer byte for byte over an in-memory stream and moves
/// the clock only at announced phases, so RTT, the RTT/2 wait, attempt and stream timeouts are asserted exactly.
/// </summary>
public sealed class DcutrExchangeTests
{
    private static readonly Multiaddr Ours = Multiaddr.Parse("/ip4/198.51.100.7/tcp/4001");
    private static readonly Multiaddr Theirs = Multiaddr.Parse("/ip4/203.0.113.9/tcp/4002");

    private sealed class Harness
    {
        public FakeTimeProvider Clock { get; } = Clocks.StartingNow();

        public DuplexStream Peer { get; }

        public DuplexStream Local { get; }

        public Channel<DcutrPhase> Phases { get; } = Channel.CreateUnbounded<DcutrPhase>();

        public Channel<(DateTimeOffset At, IReadOnlyList<IPEndPoint> Remotes, int Attempt)> Punches { get; } = Channel.CreateUnbounded<(DateTimeOffset, IReadOnlyList<IPEndPoint>, int)>();

        public DcutrOptions Options { get; } = new() { AttemptTimeout = TimeSpan.FromSeconds(5), StreamTimeout = TimeSpan.FromSeconds(60) };

        public Harness() => (Local, Peer) = DuplexStream.CreatePair();

        /// <summary>The punch: records the call, then does what <paramref name="behave"/> says (succeed, throw, hang until cancelled).</summary>
        public DcutrExchange<string> Exchange(Func<int, CancellationToken, Task<string>> behave, string? hint = null)
        {
            var exchange = new DcutrExchange<string>(Local, Options, Clock, NodeIdentity.Generate().PeerId, () => [Ours],
                (remotes, attempt, token) =>
                {
                    Punches.Writer.TryWrite((Clock.GetUtcNow(), remotes, attempt));
                    return behave(attempt, token);
                }, hint);
            exchange.PhaseChanged += p => Phases.Writer.TryWrite(p);
            return exchange;
        }

        public async Task WaitForAsync(DcutrPhase phase)
        {
            while (await Phases.Reader.ReadAsync(TestPeer.Bounded()) != phase)
            {
            }
        }

        public async Task<HolePunchMessage> ReadAsync()
        {
            var body = await DelimitedMessage.ReadAsync(Peer, "dcutr", TestPeer.Bounded());
            Assert.NotNull(body);
            return HolePunchMessage.Parse(body);
        }

        public async Task SendAsync(HolePunchType type, params Multiaddr[] addresses)
            => await DelimitedMessage.WriteAsync(Peer, new HolePunchMessage(type, addresses).Encode(), TestPeer.Bounded());
    }

    private static Task<string> Hang(CancellationToken token) => Task.Delay(Timeout.Infinite, token).ContinueWith<string>(_ => throw new OperationCanceledException(token), TaskScheduler.Default);

    [Fact]
    public async Task TheInitiatorTimesTheRelayRoundTripAndDialsHalfOfItAfterSync()
    {
        var h = new Harness();
        var run = h.Exchange((_, _) => Task.FromResult("direct")).InitiateAsync(TestPeer.Bounded());

        var connect = await h.ReadAsync();
        Assert.Equal(HolePunchType.Connect, connect.Type);
        Assert.Equal([Ours], connect.Addresses);
        h.Clock.Advance(TimeSpan.FromMilliseconds(80)); // the relay's round trip
        await h.SendAsync(HolePunchType.Connect, Theirs);
        Assert.Equal(HolePunchType.Sync, (await h.ReadAsync()).Type);
        var syncAt = h.Clock.GetUtcNow();
        await h.WaitForAsync(DcutrPhase.WaitingToDial);

        h.Clock.Advance(TimeSpan.FromMilliseconds(39));
        Assert.False(h.Punches.Reader.TryRead(out _)); // no timer is due yet: nothing can have dialed
        h.Clock.Advance(TimeSpan.FromMilliseconds(1));
        var punch = await h.Punches.Reader.ReadAsync(TestPeer.Bounded());
        Assert.Equal(syncAt + TimeSpan.FromMilliseconds(40), punch.At);
        Assert.Equal([Theirs.ToIPEndPoint()], punch.Remotes);

        var outcome = await run.WaitAsync(TestPeer.Timeout);
        Assert.Equal("direct", outcome.Direct);
        Assert.Equal(1, outcome.Attempts);
        Assert.Equal(TimeSpan.FromMilliseconds(80), outcome.RelayRoundTrip);
        Assert.Equal(DirectConnectionFailure.None, outcome.Failure);
    }

    [Fact]
    public async Task TheResponderDialsTheMomentSyncArrives()
    {
        var h = new Harness();
        var run = h.Exchange((_, _) => Task.FromResult("direct")).RespondAsync(TestPeer.Bounded());
        await h.SendAsync(HolePunchType.Connect, Theirs);
        var answer = await h.ReadAsync();
        Assert.Equal(HolePunchType.Connect, answer.Type);
        Assert.Equal([Ours], answer.Addresses);
        await h.WaitForAsync(DcutrPhase.AwaitingSync);
        Assert.False(h.Punches.Reader.TryRead(out _)); // not before SYNC
        var syncAt = h.Clock.GetUtcNow();
        await h.SendAsync(HolePunchType.Sync);
        var punch = await h.Punches.Reader.ReadAsync(TestPeer.Bounded());
        Assert.Equal(syncAt, punch.At); // no wait at all on this side
        var outcome = await run.WaitAsync(TestPeer.Timeout);
        Assert.Equal("direct", outcome.Direct);
        Assert.Null(outcome.RelayRoundTrip);
    }

    [Fact]
    public async Task ThreeTimedOutPunchesLeaveTheConnectionRelayedWithThePreciseReason()
    {
        var h = new Harness();
        const string hint = "this node's NAT does not preserve ports";
        var exchange = h.Exchange((_, token) => Hang(token), hint);
        var run = exchange.InitiateAsync(TestPeer.Bounded());
        for (var attempt = 1; attempt <= 3; attempt++)
        {
            Assert.Equal(HolePunchType.Connect, (await h.ReadAsync()).Type);
            await h.SendAsync(HolePunchType.Connect, Theirs);
            Assert.Equal(HolePunchType.Sync, (await h.ReadAsync()).Type);
            await h.WaitForAsync(DcutrPhase.Dialing);
            Assert.Equal(attempt, (await h.Punches.Reader.ReadAsync(TestPeer.Bounded())).Attempt);
            h.Clock.Advance(h.Options.AttemptTimeout);
        }
        var outcome = await run.WaitAsync(TestPeer.Timeout);
        Assert.Null(outcome.Direct);
        Assert.Equal(3, outcome.Attempts);
        Assert.Equal(3, outcome.Errors.Count);
        Assert.Equal(DirectConnectionFailure.PunchTimedOut, outcome.Failure);
        Assert.Contains("no connection with 203.0.113.9:4002 within 5 s", outcome.Reason, StringComparison.Ordinal);
        Assert.Contains(hint, outcome.Reason, StringComparison.Ordinal);
        Assert.Equal(DcutrPhase.Failed, exchange.Phase);
    }

    [Fact]
    public async Task ARefusedPunchIsRetriedAndTheSecondAttemptWins()
    {
        var h = new Harness();
        var run = h.Exchange((attempt, _) => attempt == 1
            ? Task.FromException<string>(new PeerException(PeerError.Unreachable, "No simultaneous open: 203.0.113.9:4002: ConnectionRefused"))
            : Task.FromResult("direct")).InitiateAsync(TestPeer.Bounded());
        for (var attempt = 1; attempt <= 2; attempt++)
        {
            await h.ReadAsync();
            await h.SendAsync(HolePunchType.Connect, Theirs);
            await h.ReadAsync();
        }
        var outcome = await run.WaitAsync(TestPeer.Timeout);
        Assert.Equal("direct", outcome.Direct);
        Assert.Equal(2, outcome.Attempts);
        Assert.Contains("ConnectionRefused", Assert.Single(outcome.Errors), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AResponderThatNeverAnswersEndsAtTheStreamDeadline()
    {
        var h = new Harness();
        var run = h.Exchange((_, _) => Task.FromResult("direct")).InitiateAsync(TestPeer.Bounded());
        await h.ReadAsync();
        await h.WaitForAsync(DcutrPhase.SentConnect);
        h.Clock.Advance(TimeSpan.FromSeconds(59));
        Assert.False(run.IsCompleted);
        h.Clock.Advance(TimeSpan.FromSeconds(1));
        var outcome = await run.WaitAsync(TestPeer.Timeout);
        Assert.Equal(DirectConnectionFailure.ExchangeTimedOut, outcome.Failure);
        Assert.Equal(1, outcome.Attempts);
        Assert.Contains("longer than 60 s", outcome.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task APeerWithoutADialableTcpAddressIsReportedAndNeverDialed()
    {
        var h = new Harness();
        var run = h.Exchange((_, _) => Task.FromResult("direct")).InitiateAsync(TestPeer.Bounded());
        var unusable = new[] { Multiaddr.Parse("/ip4/203.0.113.9/udp/4002"), Multiaddr.Parse("/ip4/0.0.0.0/tcp/4002") };
        for (var attempt = 1; attempt <= 3; attempt++)
        {
            await h.ReadAsync();
            await h.SendAsync(HolePunchType.Connect, unusable);
            Assert.Equal(HolePunchType.Sync, (await h.ReadAsync()).Type);
        }
        var outcome = await run.WaitAsync(TestPeer.Timeout);
        Assert.Equal(DirectConnectionFailure.NoAddresses, outcome.Failure);
        Assert.Equal(3, outcome.Attempts);
        Assert.False(h.Punches.Reader.TryRead(out _));
    }

    [Fact]
    public async Task SyncBeforeConnectIsAProtocolViolation()
    {
        var h = new Harness();
        var run = h.Exchange((_, _) => Task.FromResult("direct")).RespondAsync(TestPeer.Bounded());
        await h.SendAsync(HolePunchType.Sync);
        var outcome = await run.WaitAsync(TestPeer.Timeout);
        Assert.Equal(DirectConnectionFailure.ProtocolViolation, outcome.Failure);
        Assert.Contains("where CONNECT belongs", outcome.Reason, StringComparison.Ordinal);
        Assert.Equal(0, outcome.Attempts);
    }

    [Fact]
    public async Task TheResponderFollowsTheInitiatorsRetriesAndStopsWhenTheStreamEnds()
    {
        var h = new Harness();
        var run = h.Exchange((_, _) => Task.FromException<string>(new PeerException(PeerError.HandshakeFailed, "TLS alert"))).RespondAsync(TestPeer.Bounded());
        for (var attempt = 1; attempt <= 2; attempt++)
        {
            await h.SendAsync(HolePunchType.Connect, Theirs);
            await h.ReadAsync();
            await h.SendAsync(HolePunchType.Sync);
            Assert.Equal(attempt, (await h.Punches.Reader.ReadAsync(TestPeer.Bounded())).Attempt);
        }
        h.Peer.CompleteWrites();
        var outcome = await run.WaitAsync(TestPeer.Timeout);
        Assert.Equal(2, outcome.Attempts);
        Assert.Equal(DirectConnectionFailure.HandshakeFailed, outcome.Failure);
        Assert.Contains("TLS alert", outcome.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MalformedBytesAreAProtocolViolationNotACrash()
    {
        var h = new Harness();
        var run = h.Exchange((_, _) => Task.FromResult("direct")).RespondAsync(TestPeer.Bounded());
        await DelimitedMessage.WriteAsync(h.Peer, Convert.FromHexString("08c801"), TestPeer.Bounded()); // type 200
        var outcome = await run.WaitAsync(TestPeer.Timeout);
        Assert.Equal(DirectConnectionFailure.ProtocolViolation, outcome.Failure);
        Assert.Contains("neither CONNECT", outcome.Reason, StringComparison.Ordinal);
    }
}
