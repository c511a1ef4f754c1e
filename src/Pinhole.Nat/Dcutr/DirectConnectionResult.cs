namespace Pinhole.Nat.Dcutr;

/// <summary>
/// The outcome of one DCUtR exchange. On success <see cref="Direct"/> is a direct TCP connection to the same peer:
/// open new streams on it; the <see cref="Relayed"/> connection keeps its streams until they end (close it after a
/// grace period, as the spec suggests; a connection manager decides when).
/// </summary>
public sealed class DirectConnectionResult
{
    internal DirectConnectionResult(PeerConnection relayed, PeerConnection? direct, int attempts, TimeSpan? relayRtt, TimeSpan elapsed, IReadOnlyList<string> errors)
    {
        Relayed = relayed;
        Direct = direct;
        Attempts = attempts;
        RelayRoundTrip = relayRtt;
        Elapsed = elapsed;
        Errors = errors;
    }

    /// <summary>True when a direct connection was made.</summary>
    public bool Succeeded => Direct is not null;

    /// <summary>The relayed connection the exchange ran over.</summary>
    public PeerConnection Relayed { get; }

    /// <summary>The direct connection, or null when every attempt failed.</summary>
    public PeerConnection? Direct { get; }

    /// <summary>The peer.</summary>
    public PeerId RemotePeer => Relayed.RemotePeer;

    /// <summary>Punch attempts made (1 to <see cref="DcutrOptions.Attempts"/>).</summary>
    public int Attempts { get; }

    /// <summary>The round trip over the relay measured in the last attempt (the inbound side measures it; null on the other).</summary>
    public TimeSpan? RelayRoundTrip { get; }

    /// <summary>From the start of the exchange to the direct connection (or to giving up).</summary>
    public TimeSpan Elapsed { get; }

    /// <summary>Why each failed attempt failed.</summary>
    public IReadOnlyList<string> Errors { get; }

    /// <inheritdoc/>
    public override string ToString() => Succeeded
        ? $"direct to {RemotePeer} after {Attempts} attempt(s), {Elapsed.TotalMilliseconds:0} ms"
        : $"no direct connection to {RemotePeer} after {Attempts} attempt(s): {string.Join("; ", Errors)}";
}

/// <summary>Raised when a hole punch made a direct connection.</summary>
public sealed class DirectConnectionEventArgs(DirectConnectionResult result) : EventArgs
{
    /// <summary>The outcome (always successful here).</summary>
    public DirectConnectionResult Result { get; } = result;
}
