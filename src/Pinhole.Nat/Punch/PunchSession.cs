using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Pinhole.Nat;

/// <summary>
/// The state of one punch, and afterwards of its <see cref="UdpPath"/>: the credentials, the candidates being
/// checked, and the STUN handler that answers the peer's checks (it stays registered while the path lives,
/// so the peer's late nominations and keepalives are answered).
/// </summary>
internal sealed partial class PunchSession : IAsyncDisposable
{
    // PRIORITY of our checks (RFC 8445 §5.1.2 for a peer-reflexive candidate); carried for ICE-shaped messages, not used to rank.
    private const uint CheckPriority = (110u << 24) | (65535u << 8) | 255u;

    private readonly UdpMux _mux;
    private readonly byte[] _localKey;
    private readonly byte[] _remoteKey;
    private readonly string _outgoingUsername;
    private readonly string _incomingUsername;
    private readonly ulong _tieBreaker = BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8));
    private readonly ConcurrentDictionary<IPEndPoint, UdpCandidate> _targets = new();
    private readonly TaskCompletionSource<(UdpCandidate Candidate, TimeSpan Rtt, UdpMux Mux)> _validated = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<(IPEndPoint EndPoint, UdpMux Mux)> _nominated = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly IDisposable _registration;
    private long _checksSent, _checksAnswered, _peerChecks;
    private IPEndPoint? _firstPeerCheckSource;
    private CancellationToken _running;
    private volatile Action<IPEndPoint>? _onPeerCheck;

    internal PunchSession(UdpMux mux, UdpPunchOptions options)
    {
        _mux = mux;
        Options = options;
        Logger = options.LoggerFactory?.CreateLogger(typeof(UdpHolePunch)) ?? (ILogger)NullLogger.Instance;
        _localKey = StunCredentials.ShortTermKey(options.Local!.Password);
        _remoteKey = StunCredentials.ShortTermKey(options.Remote!.Password);
        _outgoingUsername = $"{options.Remote.Ufrag}:{options.Local.Ufrag}";
        _incomingUsername = $"{options.Local.Ufrag}:{options.Remote.Ufrag}";
        foreach (UdpCandidate candidate in options.RemoteCandidates)
        {
            _targets.TryAdd(UdpHolePunch.Normalize(candidate.EndPoint), candidate with { EndPoint = UdpHolePunch.Normalize(candidate.EndPoint) });
        }
        _registration = mux.AddStunHandler((source, message) => OnStun(mux, source, message));
    }

    internal UdpPunchOptions Options { get; }

    internal ILogger Logger { get; }

    /// <summary>The socket the path is on: the node's, or the birthday socket that found the peer.</summary>
    internal UdpMux Mux => _chosen ?? _mux;

    internal UdpPunchStatistics Statistics => new(Interlocked.Read(ref _checksSent), Interlocked.Read(ref _checksAnswered), Interlocked.Read(ref _peerChecks));

    /// <summary>Called with the source of every valid check from the peer (the path's liveness).</summary>
    internal Action<IPEndPoint>? OnPeerCheck
    {
        set => _onPeerCheck = value;
    }

    internal async Task<(UdpCandidate Remote, TimeSpan? Rtt)> RunAsync(CancellationToken cancellationToken)
    {
        TimeProvider time = Options.TimeProvider;
        long started = time.GetTimestamp();
        using var deadline = new CancellationTokenSource(Options.Timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        using var pacing = CancellationTokenSource.CreateLinkedTokenSource(linked.Token);
        _running = pacing.Token;
        StartBirthday();
        Task pacer = PaceAsync(pacing.Token);
        try
        {
            if (Options.Controlling)
            {
                (UdpCandidate candidate, TimeSpan rtt, UdpMux via) = await _validated.Task.WaitAsync(linked.Token).ConfigureAwait(false);
                PunchLog.Validated(Logger, candidate, rtt);
                // Nominate: a check with USE-CANDIDATE on that pair, answered, fixes the path on both sides.
                while (true)
                {
                    if (await CheckAsync(candidate, nominate: true, linked.Token, via).ConfigureAwait(false) is { } answered)
                    {
                        PunchLog.Selected(Logger, candidate, time.GetElapsedTime(started));
                        await ChooseAsync(via).ConfigureAwait(false);
                        return (candidate, answered);
                    }
                    linked.Token.ThrowIfCancellationRequested();
                }
            }
            (IPEndPoint nominated, UdpMux on) = await _nominated.Task.WaitAsync(linked.Token).ConfigureAwait(false);
            UdpCandidate chosen = ReferenceEquals(on, _mux) && _targets.TryGetValue(nominated, out UdpCandidate? known) ? known : new UdpCandidate(UdpCandidateKind.PeerReflexive, nominated);
            TimeSpan? ourRtt = _validated.Task.IsCompletedSuccessfully && _validated.Task.Result.Candidate.EndPoint.Equals(nominated) && ReferenceEquals(_validated.Task.Result.Mux, on)
                ? _validated.Task.Result.Rtt : null;
            PunchLog.Selected(Logger, chosen, time.GetElapsedTime(started));
            await ChooseAsync(on).ConfigureAwait(false);
            return (chosen, ourRtt);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw Failure();
        }
        finally
        {
            await pacing.CancelAsync().ConfigureAwait(false);
            await pacer.ConfigureAwait(false);
        }
    }

    private StunMessageBuilder NewCheck(bool nominate)
    {
        StunMessageBuilder request = StunMessageBuilder.Request(StunMethod.Binding)
            .AddText(StunAttributeType.Username, _outgoingUsername)
            .AddUInt32(StunAttributeType.Priority, CheckPriority)
            .AddUInt64(Options.Controlling ? StunAttributeType.IceControlling : StunAttributeType.IceControlled, _tieBreaker);
        if (nominate)
        {
            request.Add(StunAttributeType.UseCandidate, []);
        }
        return request.AddMessageIntegrity(_remoteKey).AddFingerprint();
    }

    /// <summary>
    /// One authenticated check to <paramref name="target"/> from <paramref name="via"/> (default: the path's socket): the
    /// round-trip time when the peer answered from that very address, null when it did not (within
    /// <see cref="UdpPunchOptions.CheckTimeout"/>, or cancelled).
    /// </summary>
    internal async Task<TimeSpan?> CheckAsync(UdpCandidate target, bool nominate, CancellationToken cancellationToken, UdpMux? via = null)
    {
        UdpMux mux = via ?? Mux;
        StunMessageBuilder request = NewCheck(nominate);
        using var bound = new CancellationTokenSource(Options.CheckTimeout, Options.TimeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, bound.Token);
        Interlocked.Increment(ref _checksSent);
        StunResponse response;
        try
        {
            response = await mux.Stun.SendRequestAsync(target.EndPoint, request, linked.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
        {
            return null;
        }
        catch (PeerException e)
        {
            // Timeout, or the network refused the send (no route: a host candidate on another LAN).
            PunchLog.CheckFailed(Logger, target, e.Message);
            return null;
        }
        // Answers count only from the address checked (RFC 8445 §7.2.5.2.1) and signed with the peer's password.
        if (response.Source is not IPEndPoint source || !UdpHolePunch.Normalize(source).Equals(target.EndPoint)
            || !response.IsSuccess || !response.Message.VerifyMessageIntegrity(_remoteKey))
        {
            PunchLog.CheckFailed(Logger, target, $"an answer from {response.Source} that is not the peer's ({response.Message.Class})");
            return null;
        }
        Interlocked.Increment(ref _checksAnswered);
        _validated.TrySetResult((target, response.RoundTripTime, mux));
        return response.RoundTripTime;
    }

    public async ValueTask DisposeAsync()
    {
        _registration.Dispose();
        await DisposeBirthdayAsync(keep: null).ConfigureAwait(false);
    }

    private async Task PaceAsync(CancellationToken cancellationToken)
    {
        var inFlight = new List<Task>();
        try
        {
            using var timer = new PeriodicTimer(Options.CheckInterval, Options.TimeProvider);
            long tick = 0;
            do
            {
                inFlight.RemoveAll(t => t.IsCompleted);
                foreach (UdpCandidate target in _targets.Values)
                {
                    inFlight.Add(CheckAsync(target, nominate: false, cancellationToken, _mux));
                }
                BirthdayTick(tick++);
            }
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException)
        {
        }
        await Task.WhenAll(inFlight).ConfigureAwait(false);
    }

    // The peer's checks: USERNAME "ours:theirs" and MESSAGE-INTEGRITY with our password, else not ours to answer.
    private bool OnStun(UdpMux mux, EndPoint source, StunMessage message)
    {
        if (message.Method != StunMethod.Binding || message.Class != StunClass.Request || source is not IPEndPoint ip || message.Username != _incomingUsername)
        {
            return false;
        }
        if (!message.VerifyMessageIntegrity(_localKey))
        {
            PunchLog.BadCheck(Logger, source);
            return true;
        }
        ip = UdpHolePunch.Normalize(ip);
        byte[] answer = new StunMessageBuilder(StunMethod.Binding, StunClass.SuccessResponse, message.TransactionId)
            .AddXorAddress(StunAttributeType.XorMappedAddress, ip)
            .AddMessageIntegrity(_localKey)
            .AddFingerprint()
            .ToArray();
        _ = SendDetachedAsync(mux, ip, answer);
        Interlocked.Increment(ref _peerChecks);
        Interlocked.CompareExchange(ref _firstPeerCheckSource, ip, null);
        _onPeerCheck?.Invoke(ip);
        // Check the sender back at once (RFC 8445 §7.3.1.4 triggered check): our NAT has just seen its packet
        // arrive, so our answer and this check are what cross. An address we do not know is a peer-reflexive
        // candidate (its NAT mapped it differently than its STUN server saw); their number is bounded.
        if (!_running.IsCancellationRequested && !_validated.Task.IsCompleted && !ReferenceEquals(mux, _mux))
        {
            // A birthday socket was found: check the peer back from it (its NAT port is the one that lets the peer in).
            _ = CheckAsync(new UdpCandidate(UdpCandidateKind.PeerReflexive, ip), nominate: false, _running, mux);
        }
        else if (!_running.IsCancellationRequested && !_validated.Task.IsCompleted)
        {
            if (!_targets.TryGetValue(ip, out UdpCandidate? target) && _targets.Count < Options.RemoteCandidates.Count + 16)
            {
                target = _targets.GetOrAdd(ip, new UdpCandidate(UdpCandidateKind.PeerReflexive, ip));
                PunchLog.PeerReflexive(Logger, ip);
            }
            if (target is not null)
            {
                _ = CheckAsync(target, nominate: false, _running, _mux);
            }
        }
        if (!Options.Controlling && message.TryGetAttribute(StunAttributeType.UseCandidate, out _))
        {
            _nominated.TrySetResult((ip, mux));
        }
        return true;
    }

    private async Task SendDetachedAsync(UdpMux mux, IPEndPoint remote, byte[] datagram)
    {
        try
        {
            await mux.SendAsync(remote, datagram).ConfigureAwait(false);
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or ObjectDisposedException or OperationCanceledException)
        {
            PunchLog.CheckFailed(Logger, new UdpCandidate(UdpCandidateKind.PeerReflexive, remote), e.Message);
        }
    }

    private UdpPunchException Failure()
    {
        UdpPunchStatistics stats = Statistics;
        string tried = string.Join(", ", _targets.Values.Select(c => c.ToString()));
        UdpPunchFailure? predicted = UdpHolePunch.PredictFailure(Options.LocalMapping, Options.LocalFiltering, Options.RemoteMapping, Options.RemoteFiltering);
        string natsSay = $"this side's NAT maps {Describe(Options.LocalMapping)} and filters {Describe(Options.LocalFiltering)}, the peer's maps {Describe(Options.RemoteMapping)} and filters {Describe(Options.RemoteFiltering)}";
        (UdpPunchFailure failure, string why) = (stats, _validated.Task.IsCompleted, predicted) switch
        {
            (_, true, _) => (UdpPunchFailure.NotNominated, Options.Controlling
                ? "a pair answered but the peer never acknowledged its nomination"
                : "our checks were answered but the controlling peer never nominated a pair"),
            ({ PeerChecksReceived: > 0 }, _, _) => (UdpPunchFailure.OneWay,
                $"the peer's checks arrived (first from {_firstPeerCheckSource}) but none of ours was answered: something drops this direction"),
            (_, _, UdpPunchFailure.BothMappingsEndpointDependent) => (UdpPunchFailure.BothMappingsEndpointDependent,
                $"both NATs give a new port per destination ({natsSay}): no candidate pair can open; use a relay"),
            (_, _, UdpPunchFailure.EndpointDependentMappingAgainstFiltering) => (UdpPunchFailure.EndpointDependentMappingAgainstFiltering,
                $"one NAT gives a new port per destination and the other filters by address and port ({natsSay}): {BirthdaySummary()}; use a relay"),
            _ => (UdpPunchFailure.NoResponse, $"nothing came back and none of the peer's checks arrived ({natsSay}): UDP blocked, the peer not punching, or NATs that filter each other's packets"),
        };
        PunchLog.Failed(Logger, failure, why);
        return new UdpPunchException(failure, stats,
            $"UDP hole punch failed after {Options.Timeout.TotalSeconds:0.#} s: {why}. Tried {tried}; {stats.ChecksSent} checks sent, {stats.ChecksAnswered} answered, {stats.PeerChecksReceived} of the peer's received.");
    }

    private static string Describe(NatMappingBehavior m) => m switch
    {
        NatMappingBehavior.Unknown => "(unknown)",
        NatMappingBehavior.NoNat => "nothing (no NAT)",
        NatMappingBehavior.EndpointIndependent => "endpoint-independently",
        NatMappingBehavior.AddressDependent => "per destination address",
        _ => "per destination address and port",
    };

    private static string Describe(NatFilteringBehavior f) => f switch
    {
        NatFilteringBehavior.Unknown => "(unknown)",
        NatFilteringBehavior.EndpointIndependent => "nothing",
        NatFilteringBehavior.AddressDependent => "by address",
        _ => "by address and port",
    };
}
