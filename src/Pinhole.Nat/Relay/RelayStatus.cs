namespace Pinhole.Nat.Relay;

/// <summary>Status codes of circuit relay v2 (libp2p/specs relay/circuit-v2.md, <c>enum Status</c>).</summary>
public enum RelayStatus
{
    /// <summary>Not on the wire: the message carried no status.</summary>
    Unused = 0,
    /// <summary>Success.</summary>
    Ok = 100,
    /// <summary>The relay refused the reservation (e.g. too many reservations).</summary>
    ReservationRefused = 200,
    /// <summary>Too many circuits from the initiator or to the target, or the relay is full.</summary>
    ResourceLimitExceeded = 201,
    /// <summary>Refused by policy (ACLs, or a reservation over a relayed connection).</summary>
    PermissionDenied = 202,
    /// <summary>The relay could not reach the target, or the target failed to accept.</summary>
    ConnectionFailed = 203,
    /// <summary>The target has no reservation on this relay.</summary>
    NoReservation = 204,
    /// <summary>The message could not be parsed.</summary>
    MalformedMessage = 400,
    /// <summary>A well-formed message that makes no sense here.</summary>
    UnexpectedMessage = 401,
}
