namespace Pinhole.Membership;

/// <summary>Message types of <c>/pinhole/coord/1</c> and <c>/pinhole/gossip/1</c> (field 1 of <see cref="CoordinatorMessage"/>).</summary>
public enum CoordinatorMessageType
{
    /// <summary>Client: send the genesis and admin chain of <c>network</c> (allowed to anyone who knows the id).</summary>
    GetNetwork = 1,
    /// <summary>Client (a member): stream every record changed after <c>cursor</c>, then changes as they happen.</summary>
    Subscribe = 2,
    /// <summary>Client: store <c>records</c> (checked first).</summary>
    Publish = 3,
    /// <summary>Client: redeem an invite; <c>records</c> holds the redemption record, whose peer must be the caller.</summary>
    Redeem = 4,
    /// <summary>Client (a member): leave <c>requests</c> in their recipients' request spaces.</summary>
    PutRequests = 5,
    /// <summary>Client (a member): fetch requests addressed to the caller, after <c>cursor</c>, at most <c>limit</c>.</summary>
    GetRequests = 6,
    /// <summary>Client (a member): delete the caller's requests named in <c>ids</c>.</summary>
    DeleteRequests = 7,

    /// <summary>Server: done; <c>cursor</c> is the change sequence written, if any.</summary>
    Ok = 16,
    /// <summary>Server: refused; <c>error_code</c> and <c>error_message</c> say why.</summary>
    Error = 17,
    /// <summary>Server: <c>records</c> = genesis then admin changes in epoch order.</summary>
    Network = 18,
    /// <summary>Server: <c>records</c> changed up to <c>cursor</c>; <c>caught_up</c> once the backlog is sent.</summary>
    Changes = 19,
    /// <summary>Server: nothing new up to <c>cursor</c>; <c>time</c> is the server clock, <c>pending</c> the caller's request count.</summary>
    Heartbeat = 20,
    /// <summary>Server: <c>requests</c> (with their store <c>ids</c>) for the caller; <c>cursor</c> to continue after.</summary>
    Requests = 21,

    /// <summary>Gossip: <c>digest</c> of the sender's trust records for <c>network</c>.</summary>
    Digest = 32,
    /// <summary>Gossip: the responder's sorted record <c>ids</c>.</summary>
    Inventory = 33,
    /// <summary>Gossip: <c>records</c> the other side lacks, and <c>ids</c> this side wants.</summary>
    Exchange = 34,
}
