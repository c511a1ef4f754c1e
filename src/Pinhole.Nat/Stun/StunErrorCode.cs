namespace Pinhole.Nat;

/// <summary>An ERROR-CODE attribute: a code 300-699 and a reason phrase (RFC 8489 §14.8).</summary>
/// <param name="Code">The numeric code (class × 100 + number).</param>
/// <param name="Reason">The reason phrase, UTF-8 on the wire, at most 128 characters.</param>
public readonly record struct StunErrorCode(int Code, string Reason)
{
    /// <summary>300 Try Alternate.</summary>
    public const int TryAlternate = 300;
    /// <summary>400 Bad Request.</summary>
    public const int BadRequest = 400;
    /// <summary>401 Unauthenticated: retry with credentials (REALM and NONCE given).</summary>
    public const int Unauthenticated = 401;
    /// <summary>403 Forbidden (TURN: peer address not allowed).</summary>
    public const int Forbidden = 403;
    /// <summary>420 Unknown Attribute (UNKNOWN-ATTRIBUTES lists them).</summary>
    public const int UnknownAttribute = 420;
    /// <summary>437 Allocation Mismatch (TURN).</summary>
    public const int AllocationMismatch = 437;
    /// <summary>438 Stale Nonce: retry with the new NONCE.</summary>
    public const int StaleNonce = 438;
    /// <summary>440 Address Family not Supported (TURN).</summary>
    public const int AddressFamilyNotSupported = 440;
    /// <summary>441 Wrong Credentials (TURN).</summary>
    public const int WrongCredentials = 441;
    /// <summary>442 Unsupported Transport Protocol (TURN).</summary>
    public const int UnsupportedTransportProtocol = 442;
    /// <summary>486 Allocation Quota Reached (TURN).</summary>
    public const int AllocationQuotaReached = 486;
    /// <summary>487 Role Conflict (ICE).</summary>
    public const int RoleConflict = 487;
    /// <summary>500 Server Error.</summary>
    public const int ServerError = 500;
    /// <summary>508 Insufficient Capacity (TURN).</summary>
    public const int InsufficientCapacity = 508;

    /// <inheritdoc/>
    public override string ToString() => $"{Code} {Reason}";
}
