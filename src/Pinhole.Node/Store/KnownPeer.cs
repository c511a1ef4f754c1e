namespace Pinhole.Node;

/// <summary>A peer in the node's store.</summary>
/// <param name="PeerId">Who it is.</param>
/// <param name="Alias">A local name (unique), or null.</param>
/// <param name="Trust">Whether a person or configuration named this PeerId, or it merely showed up.</param>
/// <param name="KeepConnected">The connection manager keeps a connection to it, redialling with backoff.</param>
/// <param name="FirstSeen">When the store first heard of it.</param>
/// <param name="LastSeen">When a connection with it was last established, or null.</param>
/// <param name="Addresses">Where it may be reached, best first.</param>
public sealed record KnownPeer(
    PeerId PeerId,
    string? Alias,
    PeerTrust Trust,
    bool KeepConnected,
    DateTimeOffset FirstSeen,
    DateTimeOffset? LastSeen,
    IReadOnlyList<KnownAddress> Addresses);

/// <summary>An address of a known peer (a multiaddr without the trailing <c>/p2p/&lt;id&gt;</c>).</summary>
/// <param name="Address">The transport address.</param>
/// <param name="Source">Who told us.</param>
/// <param name="Added">When it was first stored.</param>
/// <param name="LastSuccess">When a dial to it last succeeded, or null.</param>
/// <param name="LastFailure">When a dial to it last failed, or null.</param>
/// <param name="ConsecutiveFailures">Failed dials since the last success.</param>
/// <param name="LastError">The last dial error, or null.</param>
public sealed record KnownAddress(
    Multiaddr Address,
    AddressSource Source,
    DateTimeOffset Added,
    DateTimeOffset? LastSuccess,
    DateTimeOffset? LastFailure,
    int ConsecutiveFailures,
    string? LastError);

/// <summary>How much the node knows about who a peer is.</summary>
public enum PeerTrust
{
    /// <summary>It connected to us (authenticated, but nobody named it to us).</summary>
    Seen,
    /// <summary>We dialled an address without a PeerId and accepted the key that answered ("trust on first use").</summary>
    TrustedOnFirstUse,
    /// <summary>A person, the configuration or a membership record named this PeerId ("pinned").</summary>
    Pinned,
}

/// <summary>Where an address came from.</summary>
public enum AddressSource
{
    /// <summary>Given by a person or the configuration (API, CLI, config file).</summary>
    Configured,
    /// <summary>The peer's own listen addresses, from libp2p identify.</summary>
    Identify,
    /// <summary>From a coordinator's directory (a signed peer record).</summary>
    Coordinator,
    /// <summary>The address a connection from the peer came from.</summary>
    Observed,
}

/// <summary>Changes to a known peer; null members stay as they are.</summary>
public sealed class PeerUpdate
{
    /// <summary>New alias; an empty string removes it.</summary>
    public string? Alias { get; init; }

    /// <summary>True pins the peer; false demotes a pinned peer to <see cref="PeerTrust.Seen"/>.</summary>
    public bool? Pinned { get; init; }

    /// <summary>Whether the connection manager keeps it connected.</summary>
    public bool? KeepConnected { get; init; }
}
