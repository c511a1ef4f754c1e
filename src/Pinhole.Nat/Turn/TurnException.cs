namespace Pinhole.Nat;

/// <summary>A TURN server refused a request; <see cref="ErrorCode"/> is its STUN ERROR-CODE (null when the failure was ours).</summary>
public sealed class TurnException : PeerException
{
    /// <summary>Creates the exception.</summary>
    public TurnException(PeerError error, int? errorCode, string message, Exception? innerException = null)
        : base(error, message, innerException)
    {
        ErrorCode = errorCode;
    }

    /// <summary>Creates an exception for a refused request.</summary>
    public TurnException() : this(PeerError.Refused, null, "TURN request refused.") { }

    /// <summary>Creates an exception for a refused request.</summary>
    public TurnException(string message) : this(PeerError.Refused, null, message) { }

    /// <summary>Creates an exception for a refused request.</summary>
    public TurnException(string message, Exception innerException) : this(PeerError.Refused, null, message, innerException) { }

    /// <summary>The server's ERROR-CODE (401, 403, 437, 438, 441, 486, 508, ...), if it sent one.</summary>
    public int? ErrorCode { get; }

    /// <summary>The <see cref="PeerError"/> a TURN error code means for the caller.</summary>
    internal static PeerError Classify(int code) => code switch
    {
        StunErrorCode.AllocationQuotaReached or StunErrorCode.InsufficientCapacity => PeerError.LimitExceeded,
        StunErrorCode.AllocationMismatch => PeerError.ConnectionClosed,
        StunErrorCode.BadRequest or StunErrorCode.UnknownAttribute => PeerError.ProtocolViolation,
        _ => PeerError.Refused,
    };
}
