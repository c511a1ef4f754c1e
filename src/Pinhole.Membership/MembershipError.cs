namespace Pinhole.Membership;

/// <summary>Why a network record, a request or a coordinator operation was refused.</summary>
public enum MembershipError
{
    /// <summary>The bytes do not decode as the record they claim to be (the message says which field).</summary>
    Malformed = 1,
    /// <summary>A signature does not verify for the record's domain.</summary>
    BadSignature,
    /// <summary>The record belongs to another network.</summary>
    WrongNetwork,
    /// <summary>The signer is not an admin or issuer of the network (now).</summary>
    Unauthorized,
    /// <summary>Not enough distinct admin signatures for an admin-set change.</summary>
    ThresholdNotMet,
    /// <summary>An admin change does not extend the current chain (wrong epoch or previous hash).</summary>
    BrokenChain,
    /// <summary>The record's validity has not begun yet (beyond the clock-skew tolerance).</summary>
    NotYetValid,
    /// <summary>The record has expired (beyond the clock-skew tolerance).</summary>
    Expired,
    /// <summary>The peer (or invite) is revoked.</summary>
    Revoked,
    /// <summary>An older version of a record the receiver already holds in a newer version (a replay).</summary>
    Stale,
    /// <summary>Two conflicting records signed by the same authority: an invite redeemed by two keys, or a forked admin chain.</summary>
    Equivocation,
    /// <summary>The invite was already redeemed (by another key).</summary>
    AlreadyRedeemed,
    /// <summary>The record names something the receiver does not know (a network, a peer without membership).</summary>
    Unknown,
    /// <summary>Two members claim the same virtual address.</summary>
    Conflict,
    /// <summary>A size or count limit was exceeded.</summary>
    LimitExceeded,
    /// <summary>The caller may not do this (not a member, not the owner of the request space, ...).</summary>
    Forbidden,
    /// <summary>The record is already stored.</summary>
    Duplicate,
    /// <summary>The coordinator ran out of addresses in the network's prefix.</summary>
    AddressesExhausted,
    /// <summary>The coordinator failed internally.</summary>
    Internal,
}
