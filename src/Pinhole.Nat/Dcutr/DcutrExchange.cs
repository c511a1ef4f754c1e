using System.Net;
using System.Net.Sockets;
using Pinhole.Nat.Dcutr.Protocol;
using Pinhole.Nat.Relay.Protocol;

namespace Pinhole.Nat.Dcutr;

/// <summary>Where a <see cref="DcutrExchange{TDirect}"/> is (observable so tests can drive a fake clock step by step).</summary>
internal enum DcutrPhase
{
    Idle,
    /// <summary>B sent CONNECT and is timing the round trip until A's CONNECT.</summary>
    SentConnect,
    /// <summary>A answered CONNECT and waits for SYNC.</summary>
    AwaitingSync,
    /// <summary>B sent SYNC and waits half the measured round trip before dialing.</summary>
    WaitingToDial,
    /// <summary>The simultaneous open of one attempt is running.</summary>
    Dialing,
    Succeeded,
    Failed,
}

/// <summary>One punch: dial <c>remotes</c> from the listen port and upgrade in the role DCUtR fixes; throws on failure.</summary>
internal delegate Task<TDirect> Puncher<TDirect>(IReadOnlyList<IPEndPoint> remotes, int attempt, CancellationToken cancellationToken);

/// <summary>What an exchange ended with.</summary>
internal sealed record DcutrOutcome<TDirect>(
    TDirect? Direct, int Attempts, TimeSpan? RelayRoundTrip, IReadOnlyList<string> Errors, DirectConnectionFailure Failure, string? Reason)
    where TDirect : class;

/// <summary>
/// The DCUtR state machine over one <c>/libp2p/dcutr</c> stream, apart from connections and sockets: B
/// (<see cref="InitiateAsync"/>) sends CONNECT, times the round trip to A's CONNECT, sends SYNC, waits RTT/2 and punches;
/// A (<see cref="RespondAsync"/>) answers CONNECT and punches the moment SYNC arrives. B retries on the same stream up to
/// <see cref="DcutrOptions.Attempts"/> times. Every wait runs on the <see cref="TimeProvider"/>.
/// </summary>
internal sealed class DcutrExchange<TDirect>
    where TDirect : class
{
    private const int MaxDialed = 8;

    private readonly Stream _stream;
    private readonly DcutrOptions _options;
    private readonly TimeProvider _time;
    private readonly PeerId _peer;
    private readonly Func<IReadOnlyList<Multiaddr>> _ours;
    private readonly Puncher<TDirect> _punch;
    private readonly string? _mappingHint;
    private readonly List<string> _errors = [];
    private DirectConnectionFailure _failure = DirectConnectionFailure.None;
    private string? _reason;
    private int _attempts;
    private TimeSpan? _rtt;

    public DcutrExchange(Stream stream, DcutrOptions options, TimeProvider time, PeerId peer, Func<IReadOnlyList<Multiaddr>> ours, Puncher<TDirect> punch, string? mappingHint)
    {
        _stream = stream;
        _options = options;
        _time = time;
        _peer = peer;
        _ours = ours;
        _punch = punch;
        _mappingHint = mappingHint;
    }

    /// <summary>The current phase.</summary>
    public DcutrPhase Phase { get; private set; }

    /// <summary>Raised on every phase change (on the exchange's thread).</summary>
    public event Action<DcutrPhase>? PhaseChanged;

    /// <summary>Runs the exchange as B. Throws only when <paramref name="cancellationToken"/> is cancelled.</summary>
    public async Task<DcutrOutcome<TDirect>> InitiateAsync(CancellationToken cancellationToken)
    {
        using var deadline = new CancellationTokenSource(_options.StreamTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token, cancellationToken);
        var token = linked.Token;
        try
        {
            while (_attempts < _options.Attempts)
            {
                _attempts++;
                var sent = _time.GetTimestamp();
                await WriteAsync(HolePunchType.Connect, _ours(), token).ConfigureAwait(false);
                Enter(DcutrPhase.SentConnect);
                var answer = await ReadAsync(token).ConfigureAwait(false);
                if (answer is null)
                {
                    return Fail(DirectConnectionFailure.PeerClosed, $"attempt {_attempts}: {_peer} closed the DCUtR stream instead of answering CONNECT");
                }
                if (answer.Type != HolePunchType.Connect)
                {
                    return Fail(DirectConnectionFailure.ProtocolViolation, $"{_peer} answered CONNECT with {answer.Type}");
                }
                _rtt = _time.GetElapsedTime(sent);
                var theirs = Endpoints(answer.Addresses);
                await WriteAsync(HolePunchType.Sync, [], token).ConfigureAwait(false);
                if (theirs.Count == 0)
                {
                    Note(DirectConnectionFailure.NoAddresses, $"attempt {_attempts}: {_peer} sent no TCP address to dial ({answer.Addresses.Count} address(es), {answer.SkippedAddresses} undecodable)");
                    continue;
                }
                // A dials when SYNC arrives, half a round trip from now: dial then too, so both SYNs cross.
                // (The timer starts before the phase is announced, so an observer moving a fake clock cannot outrun it.)
                var halfRoundTrip = Task.Delay(_rtt.Value / 2, _time, token);
                Enter(DcutrPhase.WaitingToDial);
                await halfRoundTrip.ConfigureAwait(false);
                if (await PunchAsync(theirs, token).ConfigureAwait(false) is { } direct)
                {
                    return Succeed(direct);
                }
            }
            return Finish();
        }
        catch (Exception e) when (IsExchangeFault(e) && !cancellationToken.IsCancellationRequested)
        {
            return FailOn(e);
        }
    }

    /// <summary>Runs the exchange as A, as many rounds as B starts (bounded). Throws only when <paramref name="cancellationToken"/> is cancelled.</summary>
    public async Task<DcutrOutcome<TDirect>> RespondAsync(CancellationToken cancellationToken)
    {
        using var deadline = new CancellationTokenSource(_options.StreamTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token, cancellationToken);
        var token = linked.Token;
        try
        {
            // B makes Attempts rounds; a peer configured with more gets a little slack, never an unbounded loop.
            while (_attempts < _options.Attempts + 2)
            {
                var connect = await ReadAsync(token).ConfigureAwait(false);
                if (connect is null)
                {
                    if (_attempts == 0)
                    {
                        return Fail(DirectConnectionFailure.PeerClosed, $"{_peer} closed the DCUtR stream without sending CONNECT");
                    }
                    break;
                }
                if (connect.Type != HolePunchType.Connect)
                {
                    return Fail(DirectConnectionFailure.ProtocolViolation, $"{_peer} sent {connect.Type} where CONNECT belongs");
                }
                _attempts++;
                var theirs = Endpoints(connect.Addresses);
                await WriteAsync(HolePunchType.Connect, _ours(), token).ConfigureAwait(false);
                Enter(DcutrPhase.AwaitingSync);
                var sync = await ReadAsync(token).ConfigureAwait(false);
                if (sync is null)
                {
                    return Fail(DirectConnectionFailure.PeerClosed, $"attempt {_attempts}: {_peer} closed the DCUtR stream instead of sending SYNC");
                }
                if (sync.Type != HolePunchType.Sync)
                {
                    return Fail(DirectConnectionFailure.ProtocolViolation, $"{_peer} sent {sync.Type} where SYNC belongs");
                }
                if (theirs.Count == 0)
                {
                    Note(DirectConnectionFailure.NoAddresses, $"attempt {_attempts}: {_peer} sent no TCP address to dial ({connect.Addresses.Count} address(es), {connect.SkippedAddresses} undecodable)");
                    continue;
                }
                if (await PunchAsync(theirs, token).ConfigureAwait(false) is { } direct)
                {
                    return Succeed(direct);
                }
            }
            return Finish();
        }
        catch (Exception e) when (IsExchangeFault(e) && !cancellationToken.IsCancellationRequested)
        {
            return FailOn(e);
        }
    }

    private async Task<TDirect?> PunchAsync(IReadOnlyList<IPEndPoint> theirs, CancellationToken token)
    {
        using var timeout = new CancellationTokenSource(_options.AttemptTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, token);
        Enter(DcutrPhase.Dialing);
        try
        {
            return await _punch(theirs, _attempts, linked.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is PeerException or IOException || (e is OperationCanceledException && !token.IsCancellationRequested))
        {
            var dialed = string.Join(", ", theirs);
            if (e is OperationCanceledException)
            {
                var hint = _mappingHint is null ? "" : "; " + _mappingHint;
                Note(DirectConnectionFailure.PunchTimedOut, $"attempt {_attempts}: no connection with {dialed} within {_options.AttemptTimeout.TotalSeconds:0.#} s (the SYNs did not cross: a NAT on the path mapped or filtered them){hint}");
            }
            else if (e is PeerException { Error: PeerError.Unreachable } || e.InnerException is SocketException)
            {
                Note(DirectConnectionFailure.PunchRefused, $"attempt {_attempts}: {e.Message}");
            }
            else
            {
                Note(DirectConnectionFailure.HandshakeFailed, $"attempt {_attempts}: the punched connection failed its handshake: {e.Message}");
            }
            return null;
        }
    }

    private DcutrOutcome<TDirect> Succeed(TDirect direct)
    {
        Enter(DcutrPhase.Succeeded);
        return new DcutrOutcome<TDirect>(direct, _attempts, _rtt, _errors, DirectConnectionFailure.None, null);
    }

    private DcutrOutcome<TDirect> Fail(DirectConnectionFailure failure, string reason)
    {
        Note(failure, reason);
        return Finish();
    }

    private DcutrOutcome<TDirect> FailOn(Exception e)
    {
        if (_failure != DirectConnectionFailure.None && e is not OperationCanceledException && e is not PeerException { Error: PeerError.ProtocolViolation })
        {
            // The stream ending after failed punches says nothing new: keep the punches' reason.
            _errors.Add($"then the DCUtR stream ended: {e.Message}");
            return Finish();
        }
        return Classify(e);
    }

    private DcutrOutcome<TDirect> Classify(Exception e) => e switch
    {
        OperationCanceledException => Fail(DirectConnectionFailure.ExchangeTimedOut, $"the exchange took longer than {_options.StreamTimeout.TotalSeconds:0} s"),
        PeerException { Error: PeerError.ProtocolViolation } => Fail(DirectConnectionFailure.ProtocolViolation, e.Message),
        PeerException { Error: PeerError.Refused } => Fail(DirectConnectionFailure.NotSupported, e.Message),
        _ => Fail(DirectConnectionFailure.PeerClosed, $"the DCUtR stream broke: {e.Message}"),
    };

    private DcutrOutcome<TDirect> Finish()
    {
        Enter(DcutrPhase.Failed);
        return new DcutrOutcome<TDirect>(null, _attempts, _rtt, _errors, _failure, _reason);
    }

    private void Note(DirectConnectionFailure failure, string reason)
    {
        _errors.Add(reason);
        _failure = failure;
        _reason = reason;
    }

    private void Enter(DcutrPhase phase)
    {
        Phase = phase;
        PhaseChanged?.Invoke(phase);
    }

    private static bool IsExchangeFault(Exception e) => e is PeerException or IOException or OperationCanceledException;

    /// <summary>The TCP endpoints worth dialing among the peer's addresses (never a wildcard, port 0 or a relay address).</summary>
    internal static List<IPEndPoint> Endpoints(IReadOnlyList<Multiaddr> addresses)
    {
        var result = new List<IPEndPoint>();
        foreach (var address in addresses)
        {
            if (result.Count == MaxDialed)
            {
                break;
            }
            if (CircuitAddress.IsCircuit(address) || !address.TryGetIPEndPoint(out var endPoint, out var transport) || transport != "tcp"
                || endPoint.Port == 0 || endPoint.Address.Equals(IPAddress.Any) || endPoint.Address.Equals(IPAddress.IPv6Any)
                || result.Contains(endPoint))
            {
                continue;
            }
            result.Add(endPoint);
        }
        return result;
    }

    private async Task WriteAsync(HolePunchType type, IReadOnlyList<Multiaddr> addresses, CancellationToken token)
        => await DelimitedMessage.WriteAsync(_stream, new HolePunchMessage(type, addresses).Encode(), token).ConfigureAwait(false);

    private async Task<HolePunchMessage?> ReadAsync(CancellationToken token)
    {
        var body = await DelimitedMessage.ReadAsync(_stream, "dcutr", token).ConfigureAwait(false);
        if (body is null)
        {
            return null;
        }
        try
        {
            return HolePunchMessage.Parse(body);
        }
        catch (FormatException e)
        {
            throw new PeerException(PeerError.ProtocolViolation, $"Malformed DCUtR message from {_peer}: {e.Message}", e);
        }
    }
}
