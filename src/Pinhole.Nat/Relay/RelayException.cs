namespace Pinhole.Nat.Relay;

/// <summary>A relay answered with a status other than OK; <see cref="Status"/> says which.</summary>
public sealed class RelayException : PeerException
{
    /// <summary>Creates the exception.</summary>
    public RelayException(RelayStatus status, PeerError error, string message, Exception? innerException = null)
        : base(error, message, innerException)
    {
        Status = status;
    }

    /// <summary>Creates an exception for <see cref="RelayStatus.ConnectionFailed"/>.</summary>
    public RelayException() : this(RelayStatus.ConnectionFailed, PeerError.Refused, "Relay error.") { }

    /// <summary>Creates an exception for <see cref="RelayStatus.ConnectionFailed"/>.</summary>
    public RelayException(string message) : this(RelayStatus.ConnectionFailed, PeerError.Refused, message) { }

    /// <summary>Creates an exception for <see cref="RelayStatus.ConnectionFailed"/>.</summary>
    public RelayException(string message, Exception innerException) : this(RelayStatus.ConnectionFailed, PeerError.Refused, message, innerException) { }

    /// <summary>The relay's status code.</summary>
    public RelayStatus Status { get; }

    /// <summary>The spec's name of a status, e.g. <c>NO_RESERVATION</c>, or its number when unknown.</summary>
    public static string Name(RelayStatus status) => status switch
    {
        RelayStatus.Ok => "OK",
        RelayStatus.ReservationRefused => "RESERVATION_REFUSED",
        RelayStatus.ResourceLimitExceeded => "RESOURCE_LIMIT_EXCEEDED",
        RelayStatus.PermissionDenied => "PERMISSION_DENIED",
        RelayStatus.ConnectionFailed => "CONNECTION_FAILED",
        RelayStatus.NoReservation => "NO_RESERVATION",
        RelayStatus.MalformedMessage => "MALFORMED_MESSAGE",
        RelayStatus.UnexpectedMessage => "UNEXPECTED_MESSAGE",
        RelayStatus.Unused => "(none)",
        _ => ((int)status).ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
