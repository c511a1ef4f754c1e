using Microsoft.Extensions.Logging;

namespace Pinhole.Nat;

/// <summary>Settings of <see cref="UdpHolePunch.PunchAsync"/>: both credentials, the peer's candidates, the role and the timers.</summary>
public sealed class UdpPunchOptions
{
    /// <summary>This side's credential (sent to the peer beforehand). Required.</summary>
    public UdpPunchCredentials? Local { get; set; }

    /// <summary>The peer's credential. Required.</summary>
    public UdpPunchCredentials? Remote { get; set; }

    /// <summary>The peer's candidates (host, server-reflexive, port-mapped). At least one.</summary>
    public IList<UdpCandidate> RemoteCandidates { get; } = [];

    /// <summary>
    /// True on exactly one side (by convention the one with the smaller PeerId): it picks the path by sending a
    /// check with USE-CANDIDATE on the first pair that answered; the other side takes the pair it is told.
    /// </summary>
    public bool Controlling { get; set; }

    /// <summary>A check goes to every candidate this often (both sides at once is what opens the NATs). Default 200 ms.</summary>
    public TimeSpan CheckInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>A check not answered within this is given up (later ones continue). Default 2 s.</summary>
    public TimeSpan CheckTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>The whole punch gives up after this. Default 10 s.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The path found is kept alive with an authenticated check this often (below every NAT's UDP timeout,
    /// 30 s on Linux for unreplied flows). Default 10 s; <see cref="System.Threading.Timeout.InfiniteTimeSpan"/> sends none.
    /// </summary>
    public TimeSpan KeepaliveInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Consecutive unanswered keepalives after which the path is reported lost. Default 3.</summary>
    public int MaxMissedKeepalives { get; set; } = 3;

    /// <summary>This side's NAT mapping from netcheck, if known: it makes a failure's explanation precise.</summary>
    public NatMappingBehavior LocalMapping { get; set; } = NatMappingBehavior.Unknown;

    /// <summary>The peer's NAT mapping from its netcheck, if known.</summary>
    public NatMappingBehavior RemoteMapping { get; set; } = NatMappingBehavior.Unknown;

    /// <summary>This side's NAT filtering from netcheck, if known.</summary>
    public NatFilteringBehavior LocalFiltering { get; set; } = NatFilteringBehavior.Unknown;

    /// <summary>The peer's NAT filtering from its netcheck, if known.</summary>
    public NatFilteringBehavior RemoteFiltering { get; set; } = NatFilteringBehavior.Unknown;

    /// <summary>
    /// Birthday probing, when this side's NAT maps per destination and the peer's filters by address and port (from
    /// both netchecks): this side opens this many extra sockets, each sending a check to the peer, so its NAT holds
    /// that many ports open towards the peer; the peer probes random ports of this side's public address until one
    /// hits (256 ports against 100 probes every <see cref="CheckInterval"/> finds one within a few seconds with
    /// near certainty). The path is then on that extra socket (<see cref="UdpPath.Mux"/>). Default 256; 0 turns it off.
    /// </summary>
    public int BirthdaySockets { get; set; } = 256;

    /// <summary>The peer side of birthday probing: random ports of the hard side probed every <see cref="CheckInterval"/>, none twice. Default 100.</summary>
    public int BirthdayProbesPerCheck { get; set; } = 100;

    /// <summary>Opens each extra socket for birthday probing. Default: a <see cref="UdpMux"/> on the node socket's address, any port.</summary>
    public Func<UdpMux>? BirthdaySocketFactory { get; set; }

    /// <summary>Clock for every timer. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Logging; default none.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    internal void Validate()
    {
        ArgumentNullException.ThrowIfNull(Local, nameof(Local));
        ArgumentNullException.ThrowIfNull(Remote, nameof(Remote));
        Local.Validate(nameof(Local));
        Remote.Validate(nameof(Remote));
        if (Local.Ufrag == Remote.Ufrag)
        {
            throw new ArgumentException("The two sides need different ufrags.", nameof(Remote));
        }
        if (RemoteCandidates.Count == 0)
        {
            throw new ArgumentException("At least one remote candidate is needed.", nameof(RemoteCandidates));
        }
        if (RemoteCandidates.Count > 64)
        {
            throw new ArgumentException("At most 64 remote candidates.", nameof(RemoteCandidates));
        }
        foreach (UdpCandidate candidate in RemoteCandidates)
        {
            if (candidate?.EndPoint is not { Port: > 0 })
            {
                throw new ArgumentException($"Candidate {candidate} has no usable address.", nameof(RemoteCandidates));
            }
        }
        Positive(CheckInterval, nameof(CheckInterval));
        Positive(CheckTimeout, nameof(CheckTimeout));
        Positive(Timeout, nameof(Timeout));
        if (KeepaliveInterval != System.Threading.Timeout.InfiniteTimeSpan)
        {
            Positive(KeepaliveInterval, nameof(KeepaliveInterval));
        }
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxMissedKeepalives, 1, nameof(MaxMissedKeepalives));
        ArgumentOutOfRangeException.ThrowIfNegative(BirthdaySockets, nameof(BirthdaySockets));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(BirthdaySockets, 1024, nameof(BirthdaySockets));
        ArgumentOutOfRangeException.ThrowIfLessThan(BirthdayProbesPerCheck, 1, nameof(BirthdayProbesPerCheck));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(BirthdayProbesPerCheck, 1000, nameof(BirthdayProbesPerCheck));
        ArgumentNullException.ThrowIfNull(TimeProvider, nameof(TimeProvider));
    }

    private static void Positive(TimeSpan value, string name)
    {
        if (value <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(name, value, "Must be positive.");
        }
    }
}
