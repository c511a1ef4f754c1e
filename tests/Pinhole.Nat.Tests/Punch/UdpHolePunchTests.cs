using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Time.Testing;

namespace Pinhole.Nat.Tests.Punch;

/// <summary>The punch protocol on loopback (no NAT): authenticated checks, nomination, peer-reflexive learning, keepalives, precise failures.</summary>
public sealed class UdpHolePunchTests
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(30);

    private static UdpMux Mux() => UdpMux.Bind(new IPEndPoint(IPAddress.Loopback, 0), new UdpMuxOptions
    {
        StunClient = new StunClientOptions { InitialRetransmitTimeout = TimeSpan.FromMilliseconds(200), MaxSends = 4, FinalWaitMultiplier = 4 },
    });

    private static UdpPunchOptions Options(UdpPunchCredentials local, UdpPunchCredentials remote, bool controlling, params IPEndPoint[] candidates)
    {
        var options = new UdpPunchOptions { Local = local, Remote = remote, Controlling = controlling, CheckInterval = TimeSpan.FromMilliseconds(50), Timeout = TimeSpan.FromSeconds(20) };
        foreach (IPEndPoint candidate in candidates)
        {
            options.RemoteCandidates.Add(new UdpCandidate(UdpCandidateKind.ServerReflexive, candidate));
        }
        return options;
    }

    [Fact]
    public async Task Both_sides_agree_on_the_pair_that_answers_and_a_dead_candidate_does_not_matter()
    {
        await using UdpMux a = Mux();
        await using UdpMux b = Mux();
        var credA = UdpPunchCredentials.Generate();
        var credB = UdpPunchCredentials.Generate();
        using var dead = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        dead.Bind(new IPEndPoint(IPAddress.Loopback, 0));   // bound, never answers
        using var guard = new CancellationTokenSource(HangGuard);

        Task<UdpPath> punchA = UdpHolePunch.PunchAsync(a, Options(credA, credB, controlling: true, (IPEndPoint)dead.LocalEndPoint!, (IPEndPoint)b.LocalEndPoint), guard.Token);
        Task<UdpPath> punchB = UdpHolePunch.PunchAsync(b, Options(credB, credA, controlling: false, (IPEndPoint)a.LocalEndPoint), guard.Token);
        await using UdpPath pathA = await punchA;
        await using UdpPath pathB = await punchB;

        Assert.Equal(b.LocalEndPoint, pathA.RemoteEndPoint);
        Assert.Equal(a.LocalEndPoint, pathB.RemoteEndPoint);
        Assert.NotNull(pathA.RoundTripTime);
        Assert.True(pathA.Statistics.ChecksAnswered >= 1);
        Assert.True(pathB.Statistics.PeerChecksReceived >= 1);
        // The path keeps answering: a probe from either side after the punch is answered.
        Assert.NotNull(await pathB.ProbeAsync(guard.Token));
        Assert.NotNull(await pathA.ProbeAsync(guard.Token));
    }

    [Fact]
    public async Task A_check_from_an_unlisted_address_becomes_a_peer_reflexive_candidate()
    {
        await using UdpMux a = Mux();
        await using UdpMux b = Mux();
        var credA = UdpPunchCredentials.Generate();
        var credB = UdpPunchCredentials.Generate();
        using var guard = new CancellationTokenSource(HangGuard);
        // B was told a wrong address for A (as behind a NAT that mapped differently): it learns A from A's checks.
        Task<UdpPath> punchA = UdpHolePunch.PunchAsync(a, Options(credA, credB, controlling: true, (IPEndPoint)b.LocalEndPoint), guard.Token);
        Task<UdpPath> punchB = UdpHolePunch.PunchAsync(b, Options(credB, credA, controlling: false, new IPEndPoint(IPAddress.Loopback, 9)), guard.Token);
        await using UdpPath pathA = await punchA;
        await using UdpPath pathB = await punchB;
        Assert.Equal(UdpCandidateKind.PeerReflexive, pathB.Candidate.Kind);
        Assert.Equal(a.LocalEndPoint, pathB.RemoteEndPoint);
    }

    [Fact]
    public async Task Checks_signed_with_the_wrong_password_are_not_answered_and_each_side_says_what_happened()
    {
        await using UdpMux a = Mux();
        await using UdpMux b = Mux();
        var credA = UdpPunchCredentials.Generate();
        var credB = UdpPunchCredentials.Generate();
        var wrongB = credB with { Password = UdpPunchCredentials.Generate().Password };
        using var guard = new CancellationTokenSource(HangGuard);
        // A was told a wrong password for B: B drops A's checks, while B's (right) checks reach A and are answered.
        UdpPunchOptions optionsA = Options(credA, wrongB, controlling: true, (IPEndPoint)b.LocalEndPoint);
        optionsA.Timeout = TimeSpan.FromSeconds(6);   // long enough for loopback datagrams on a loaded machine
        UdpPunchOptions optionsB = Options(credB, credA, controlling: false, (IPEndPoint)a.LocalEndPoint);
        optionsB.Timeout = TimeSpan.FromSeconds(6);
        Task<UdpPath> punchA = UdpHolePunch.PunchAsync(a, optionsA, guard.Token);
        Task<UdpPath> punchB = UdpHolePunch.PunchAsync(b, optionsB, guard.Token);

        UdpPunchException atA = await Assert.ThrowsAsync<UdpPunchException>(() => punchA);
        Assert.Equal(PeerError.Unreachable, atA.Error);
        Assert.Equal(UdpPunchFailure.OneWay, atA.Failure);
        Assert.Equal(0, atA.Statistics.ChecksAnswered);
        Assert.True(atA.Statistics.PeerChecksReceived > 0);
        Assert.Contains(b.LocalEndPoint.ToString()!, atA.Message, StringComparison.Ordinal);

        UdpPunchException atB = await Assert.ThrowsAsync<UdpPunchException>(() => punchB);
        Assert.Equal(UdpPunchFailure.NotNominated, atB.Failure);
        Assert.True(atB.Statistics.ChecksAnswered > 0);
        Assert.Contains("never nominated", atB.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Keepalives_hold_the_path_and_a_silent_peer_makes_it_lost()
    {
        var clock = new FakeTimeProvider();
        await using UdpMux a = Mux();
        await using UdpMux b = Mux();
        var credA = UdpPunchCredentials.Generate();
        var credB = UdpPunchCredentials.Generate();
        using var guard = new CancellationTokenSource(HangGuard);
        UdpPunchOptions optionsA = Options(credA, credB, controlling: true, (IPEndPoint)b.LocalEndPoint);
        optionsA.KeepaliveInterval = TimeSpan.FromSeconds(5);
        optionsA.CheckInterval = TimeSpan.FromSeconds(1);
        optionsA.TimeProvider = clock;
        UdpPunchOptions optionsB = Options(credB, credA, controlling: false, (IPEndPoint)a.LocalEndPoint);
        optionsB.KeepaliveInterval = Timeout.InfiniteTimeSpan;
        Task<UdpPath> punchA = UdpHolePunch.PunchAsync(a, optionsA, guard.Token);
        await using (UdpPath pathB = await UdpHolePunch.PunchAsync(b, optionsB, guard.Token))
        {
            await using UdpPath pathA = await punchA;
            var lost = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            pathA.Lost += (_, _) => lost.TrySetResult();
            clock.Advance(TimeSpan.FromSeconds(5));
            await Pinhole.Testing.Eventually.TrueAsync(() => pathA.ProbesAnswered == 1, "the keepalive answered", cancellationToken: guard.Token);
            Assert.Equal(0, pathA.MissedKeepalives);
            Assert.True(pathA.IsAlive);

            // B goes away: A's keepalives get only the mux's plain STUN answer, without MESSAGE-INTEGRITY.
            await pathB.DisposeAsync();
            for (int missed = 1; missed <= 3; missed++)
            {
                clock.Advance(TimeSpan.FromSeconds(5));
                int expected = missed;
                await Pinhole.Testing.Eventually.TrueAsync(() => pathA.MissedKeepalives == expected, $"keepalive {expected} judged unanswered", cancellationToken: guard.Token);
                Assert.Equal(missed < 3, pathA.IsAlive);
            }
            await lost.Task.WaitAsync(guard.Token);
            Assert.False(pathA.IsAlive);
        }
    }

    [Theory]
    [InlineData(NatMappingBehavior.EndpointIndependent, NatFilteringBehavior.AddressAndPortDependent, NatMappingBehavior.EndpointIndependent, NatFilteringBehavior.AddressAndPortDependent, null)]
    [InlineData(NatMappingBehavior.AddressAndPortDependent, NatFilteringBehavior.AddressAndPortDependent, NatMappingBehavior.EndpointIndependent, NatFilteringBehavior.EndpointIndependent, null)]
    [InlineData(NatMappingBehavior.AddressAndPortDependent, NatFilteringBehavior.AddressAndPortDependent, NatMappingBehavior.NoNat, NatFilteringBehavior.AddressAndPortDependent, null)]
    [InlineData(NatMappingBehavior.AddressAndPortDependent, NatFilteringBehavior.AddressAndPortDependent, NatMappingBehavior.EndpointIndependent, NatFilteringBehavior.AddressDependent, null)]
    [InlineData(NatMappingBehavior.AddressAndPortDependent, NatFilteringBehavior.AddressAndPortDependent, NatMappingBehavior.EndpointIndependent, NatFilteringBehavior.AddressAndPortDependent, UdpPunchFailure.EndpointDependentMappingAgainstFiltering)]
    [InlineData(NatMappingBehavior.EndpointIndependent, NatFilteringBehavior.AddressAndPortDependent, NatMappingBehavior.AddressDependent, NatFilteringBehavior.AddressDependent, UdpPunchFailure.EndpointDependentMappingAgainstFiltering)]
    [InlineData(NatMappingBehavior.AddressDependent, NatFilteringBehavior.EndpointIndependent, NatMappingBehavior.AddressAndPortDependent, NatFilteringBehavior.AddressAndPortDependent, UdpPunchFailure.BothMappingsEndpointDependent)]
    [InlineData(NatMappingBehavior.Unknown, NatFilteringBehavior.Unknown, NatMappingBehavior.AddressAndPortDependent, NatFilteringBehavior.AddressAndPortDependent, null)]
    public void Predicts_which_nat_pairs_cannot_be_punched(NatMappingBehavior lm, NatFilteringBehavior lf, NatMappingBehavior rm, NatFilteringBehavior rf, UdpPunchFailure? expected)
    {
        Assert.Equal(expected, UdpHolePunch.PredictFailure(lm, lf, rm, rf));
        Assert.Equal(expected, UdpHolePunch.PredictFailure(rm, rf, lm, lf));
    }

    [Fact]
    public async Task Bad_options_are_refused_up_front()
    {
        await using UdpMux a = Mux();
        var cred = UdpPunchCredentials.Generate();
        await Assert.ThrowsAsync<ArgumentException>(() => UdpHolePunch.PunchAsync(a, new UdpPunchOptions { Local = cred, Remote = UdpPunchCredentials.Generate() }));
        await Assert.ThrowsAsync<ArgumentException>(() => UdpHolePunch.PunchAsync(a, Options(cred, cred, true, new IPEndPoint(IPAddress.Loopback, 1))));
        await Assert.ThrowsAsync<ArgumentException>(() => UdpHolePunch.PunchAsync(a, Options(cred, new UdpPunchCredentials("ab:cd", "0123456789abcdef0"), true, new IPEndPoint(IPAddress.Loopback, 1))));
        await Assert.ThrowsAsync<ArgumentException>(() => UdpHolePunch.PunchAsync(a, Options(cred, UdpPunchCredentials.Generate(), true, new IPEndPoint(IPAddress.Loopback, 0))));
        foreach (Action<UdpPunchOptions> bad in new Action<UdpPunchOptions>[] { o => o.BirthdaySockets = -1, o => o.BirthdaySockets = 1025, o => o.BirthdayProbesPerCheck = 0, o => o.BirthdayProbesPerCheck = 1001 })
        {
            UdpPunchOptions options = Options(cred, UdpPunchCredentials.Generate(), true, new IPEndPoint(IPAddress.Loopback, 1));
            bad(options);
            await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => UdpHolePunch.PunchAsync(a, options));
        }
    }
}
