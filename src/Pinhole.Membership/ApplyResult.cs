namespace Pinhole.Membership;

/// <summary>What <see cref="NetworkState.Apply"/> did with a record.</summary>
public enum ApplyStatus
{
    /// <summary>The record is new and was stored.</summary>
    Added = 1,
    /// <summary>The record replaced an older version (a higher endpoint sequence).</summary>
    Replaced,
    /// <summary>The record was already stored.</summary>
    Duplicate,
    /// <summary>The record was refused; <see cref="ApplyResult.Error"/> says why.</summary>
    Rejected,
}

/// <summary>The outcome of applying one record.</summary>
/// <param name="Status">What happened.</param>
/// <param name="Error">Why it was rejected (or, for an added record, the misbehaviour it revealed, e.g. <see cref="MembershipError.Equivocation"/>).</param>
/// <param name="Message">A sentence for logs.</param>
public readonly record struct ApplyResult(ApplyStatus Status, MembershipError? Error = null, string? Message = null)
{
    /// <summary>True if the state changed.</summary>
    public bool Changed => Status is ApplyStatus.Added or ApplyStatus.Replaced;

    internal static ApplyResult Reject(MembershipError error, string message) => new(ApplyStatus.Rejected, error, message);
}
