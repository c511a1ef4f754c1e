namespace Pinhole.Nat;

/// <summary>Why a UDP hole punch found no path.</summary>
public enum UdpPunchFailure
{
    /// <summary>No check was answered and none of the peer's arrived: UDP is blocked, the peer is not punching, or both NATs filter what the other sends.</summary>
    NoResponse,
    /// <summary>The peer's checks arrived but ours were never answered: something drops our direction.</summary>
    OneWay,
    /// <summary>Both NATs give a new port per destination: no candidate pair can open. Use a relay (TURN or circuit relay).</summary>
    BothMappingsEndpointDependent,
    /// <summary>
    /// One NAT gives a new port per destination and the other filters by address and port, so the first side's
    /// port for this peer cannot be predicted, and birthday probing found none within the time (or is off). Use a relay.
    /// </summary>
    EndpointDependentMappingAgainstFiltering,
    /// <summary>A pair answered but the nomination (USE-CANDIDATE) was never acknowledged, or the controlling side never nominated one.</summary>
    NotNominated,
}

/// <summary>A UDP hole punch gave up; <see cref="Failure"/> says why, the message names the candidates tried and what came back.</summary>
public sealed class UdpPunchException : PeerException
{
    /// <summary>Creates the exception.</summary>
    public UdpPunchException(UdpPunchFailure failure, UdpPunchStatistics statistics, string message)
        : base(PeerError.Unreachable, message)
    {
        Failure = failure;
        Statistics = statistics;
    }

    /// <summary>Creates an exception for a punch that found nothing.</summary>
    public UdpPunchException() : this(UdpPunchFailure.NoResponse, default, "No UDP path.") { }

    /// <summary>Creates an exception for a punch that found nothing.</summary>
    public UdpPunchException(string message) : this(UdpPunchFailure.NoResponse, default, message) { }

    /// <summary>Creates an exception for a punch that found nothing.</summary>
    public UdpPunchException(string message, Exception innerException) : base(PeerError.Unreachable, message, innerException) { }

    /// <summary>Why.</summary>
    public UdpPunchFailure Failure { get; }

    /// <summary>What was sent and received.</summary>
    public UdpPunchStatistics Statistics { get; }
}

/// <summary>Counts of one punch: checks sent, answers received, and the peer's checks received (valid ones).</summary>
public readonly record struct UdpPunchStatistics(long ChecksSent, long ChecksAnswered, long PeerChecksReceived);
