namespace Pinhole.Node;

/// <summary>
/// The connection manager's policy (docs/node.md, "Connection manager"): limits, happy-eyeballs dialling,
/// reconnection of keep-connected peers, idle timeout. Every time is measured on the node's TimeProvider.
/// </summary>
public sealed class NodeConnectionOptions
{
    /// <summary>Connections the node keeps at once, both directions. Over it, new inbound connections are closed and dials fail with <see cref="PeerError.LimitExceeded"/>. Default 2048.</summary>
    public int MaxConnections { get; set; } = 2048;

    /// <summary>
    /// Connections to one peer at once (the one in use plus duplicates still draining, e.g. after crossed
    /// dials or a path change). Further connections from that peer are closed at once. Default 3.
    /// </summary>
    public int MaxConnectionsPerPeer { get; set; } = 3;

    /// <summary>A connection with no open stream and no stream traffic for this long is closed, unless its peer is keep-connected. Default 5 min; zero disables.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>A whole <see cref="NodeConnections.ConnectAsync(PeerId, CancellationToken)"/> (every address) must finish within this. Default 30 s.</summary>
    public TimeSpan DialTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Happy eyeballs: the next address is tried when the previous attempt has not succeeded within this (RFC 8305 §5: 250 ms). Default 250 ms.</summary>
    public TimeSpan DialStagger { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Addresses of one peer being dialled at once. Default 4.</summary>
    public int MaxParallelDials { get; set; } = 4;

    /// <summary>Addresses tried per connect, best first (the rest are skipped). Default 16.</summary>
    public int MaxAddressesPerDial { get; set; } = 16;

    /// <summary>First delay before redialling a keep-connected peer; each failure doubles it (with jitter). Default 1 s.</summary>
    public TimeSpan ReconnectInitialDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Upper bound of the reconnect delay, jitter included. Default 5 min.</summary>
    public TimeSpan ReconnectMaxDelay { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How long a duplicate connection (one that lost to another connection to the same peer) stays open for
    /// streams already on it before it is closed. Default 10 s.
    /// </summary>
    public TimeSpan DuplicateDrainTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Peers that dial us are remembered in the peer store (trust state "seen"). Default true.</summary>
    public bool RememberInboundPeers { get; set; } = true;

    internal void Validate()
    {
        if (MaxConnections < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxConnections), MaxConnections, "Must be at least 1.");
        }
        if (MaxConnectionsPerPeer < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxConnectionsPerPeer), MaxConnectionsPerPeer, "Must be at least 1.");
        }
        if (IdleTimeout < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(IdleTimeout), IdleTimeout, "Must not be negative (zero disables it).");
        }
        Positive(DialTimeout, nameof(DialTimeout));
        if (DialStagger < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(DialStagger), DialStagger, "Must not be negative.");
        }
        if (MaxParallelDials < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxParallelDials), MaxParallelDials, "Must be at least 1.");
        }
        if (MaxAddressesPerDial < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxAddressesPerDial), MaxAddressesPerDial, "Must be at least 1.");
        }
        Positive(ReconnectInitialDelay, nameof(ReconnectInitialDelay));
        if (ReconnectMaxDelay < ReconnectInitialDelay)
        {
            throw new ArgumentOutOfRangeException(nameof(ReconnectMaxDelay), ReconnectMaxDelay, $"Must be at least {nameof(ReconnectInitialDelay)}.");
        }
        Positive(DuplicateDrainTimeout, nameof(DuplicateDrainTimeout));
    }

    private static void Positive(TimeSpan value, string name)
    {
        if (value <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(name, value, "Must be positive.");
        }
    }
}
