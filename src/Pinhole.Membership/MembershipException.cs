namespace Pinhole.Membership;

/// <summary>
/// A record, request or coordinator operation was refused. It is a <see cref="PeerException"/> (so callers of the
/// network API see one exception type) that also says which rule failed in <see cref="Reason"/>.
/// </summary>
public class MembershipException : PeerException
{
    /// <summary>Creates an exception for <paramref name="reason"/>.</summary>
    public MembershipException(MembershipError reason, string message, Exception? innerException = null)
        : base(ErrorOf(reason), message, innerException)
    {
        Reason = reason;
    }

    /// <summary>Creates an exception with <see cref="MembershipError.Internal"/>.</summary>
    public MembershipException() : this(MembershipError.Internal, "Membership error.") { }

    /// <summary>Creates an exception with <see cref="MembershipError.Internal"/>.</summary>
    public MembershipException(string message) : this(MembershipError.Internal, message) { }

    /// <summary>Creates an exception with <see cref="MembershipError.Internal"/>.</summary>
    public MembershipException(string message, Exception innerException) : this(MembershipError.Internal, message, innerException) { }

    /// <summary>Which rule refused the record or operation.</summary>
    public MembershipError Reason { get; }

    private static PeerError ErrorOf(MembershipError reason) => reason switch
    {
        MembershipError.Malformed => PeerError.ProtocolViolation,
        MembershipError.LimitExceeded => PeerError.LimitExceeded,
        MembershipError.Internal => PeerError.InternalError,
        _ => PeerError.Refused,
    };
}
