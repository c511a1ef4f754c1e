namespace Pinhole.Nat.Dcutr;

/// <summary>
/// The outcome of one DCUtR exchange. On success <see cref="Direct"/> is a direct TCP connection to the same peer:
/// open new streams on it; the <see cref="Relayed"/> connection keeps its streams until they end (close it after a
/// grace period, as the spec suggests; a connection manager decides when).
/// </summary>
public sealed class DirectConnectionResult
{
    internal DirectConnectionResult(
        PeerConnection relayed, PeerConnection? direct, int attempts, TimeSpan? relayRtt, TimeSpan elapsed, IReadOnlyList<string> errors,
        DirectConnectionFailure failure, string? reason)
    {
        Relayed = relayed;
        Failure = direct is null ? failure : DirectConnectionFailure.None;
        Reason = direct is null ? reason ?? "no attempt was made" : null;
        Direct = direct;
        Attempts = attempts;
        RelayRoundTrip = relayRtt;
        Elapsed = elapsed;
        Errors = errors;
    }

    /// <summary>True when a direct connection was made.</summary>
    public bool Succeeded => Direct is not null;

    /// <summary>
    /// True when the inbound side reached the peer with a plain dial to a public address it announces
    /// (<see cref="DcutrOptions.DirectDialFirst"/>), so no punch was needed.
    /// </summary>
    public bool DialedDirectly => Direct is not null && Attempts == 0;

    /// <summary>The relayed connection the exchange ran over.</summary>
    public PeerConnection Relayed { get; }

    /// <summary>The direct connection, or null when every attempt failed.</summary>
    public PeerConnection? Direct { get; }

    /// <summary>The peer.</summary>
    public PeerId RemotePeer => Relayed.RemotePeer;

    /// <summary>Punch attempts made (1 to <see cref="DcutrOptions.Attempts"/>; 0 when <see cref="DialedDirectly"/>).</summary>
    public int Attempts { get; }

    /// <summary>The round trip over the relay measured in the last attempt (the inbound side measures it; null on the other).</summary>
    public TimeSpan? RelayRoundTrip { get; }

    /// <summary>From the start of the exchange to the direct connection (or to giving up).</summary>
    public TimeSpan Elapsed { get; }

    /// <summary>Why each failed attempt failed.</summary>
    public IReadOnlyList<string> Errors { get; }

    /// <summary>Why the connection stayed relayed (the last attempt's failure), or <see cref="DirectConnectionFailure.None"/>.</summary>
    public DirectConnectionFailure Failure { get; }

    /// <summary>The failure in words (which addresses, which timeout, what the NAT did), or null on success.</summary>
    public string? Reason { get; }

    /// <inheritdoc/>
    public override string ToString() => DialedDirectly
        ? $"direct to {RemotePeer} by a plain dial to its public address, {Elapsed.TotalMilliseconds:0} ms"
        : Succeeded
        ? $"direct to {RemotePeer} after {Attempts} attempt(s), {Elapsed.TotalMilliseconds:0} ms"
        : $"no direct connection to {RemotePeer} after {Attempts} attempt(s) ({Failure}): {string.Join("; ", Errors)}";
}

/// <summary>Why a DCUtR exchange left the connection relayed.</summary>
public enum DirectConnectionFailure
{
    /// <summary>It did not: a direct connection was made.</summary>
    None,
    /// <summary>The peer does not run <c>/libp2p/dcutr</c> (or not on limited connections), or this node refused the exchange.</summary>
    NotSupported,
    /// <summary>This node knows no public TCP address to offer (no observed address yet).</summary>
    NoLocalAddress,
    /// <summary>The peer offered no TCP address this node can dial.</summary>
    NoAddresses,
    /// <summary>The peer closed or reset the DCUtR stream.</summary>
    PeerClosed,
    /// <summary>The peer sent a malformed or out-of-order message.</summary>
    ProtocolViolation,
    /// <summary>
    /// No connection within <see cref="DcutrOptions.AttemptTimeout"/>: the SYNs never crossed. The usual cause is a NAT whose
    /// mapping depends on the destination (address/port-dependent), so the predicted address was not the one it used.
    /// </summary>
    PunchTimedOut,
    /// <summary>The peer's address answered with a reset (a NAT or host that rejects unsolicited SYNs, or nothing listening).</summary>
    PunchRefused,
    /// <summary>TCP connected but TLS or multistream failed (or another key answered).</summary>
    HandshakeFailed,
    /// <summary>The whole exchange ran past <see cref="DcutrOptions.StreamTimeout"/>.</summary>
    ExchangeTimedOut,
}

/// <summary>Raised when a hole punch made a direct connection.</summary>
public sealed class DirectConnectionEventArgs(DirectConnectionResult result) : EventArgs
{
    /// <summary>The outcome (always successful here).</summary>
    public DirectConnectionResult Result { get; } = result;
}
