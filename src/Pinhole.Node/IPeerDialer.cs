namespace Pinhole.Node;

/// <summary>
/// Dials one kind of address for the connection manager. The node has a TCP dialer built in; a relay
/// dialer (<c>/p2p-circuit</c>) or any other netlayer plugs in with <see cref="PinholeNodeBuilder.AddDialer"/>.
/// The manager picks the first dialer, in the order added and before the built-in one, whose
/// <see cref="CanDial"/> accepts the address.
/// </summary>
public interface IPeerDialer
{
    /// <summary>The path kind of the connections this dialer makes (shown by the API, preferred in that order).</summary>
    ConnectionPathKind PathKind { get; }

    /// <summary>True if this dialer handles <paramref name="address"/> (without its trailing <c>/p2p/&lt;id&gt;</c>).</summary>
    bool CanDial(Multiaddr address);

    /// <summary>
    /// Connects to <paramref name="peer"/> at <paramref name="address"/>; the connection must have proved
    /// <paramref name="peer"/>. <paramref name="options"/> are the node's (identity, protocols, limits, clock).
    /// Failures are <see cref="PeerException"/>s.
    /// </summary>
    ValueTask<PeerConnection> DialAsync(PeerId peer, Multiaddr address, PeerConnectOptions options, CancellationToken cancellationToken);
}

/// <summary>How a connection reaches its peer.</summary>
public enum ConnectionPathKind
{
    /// <summary>Straight to the peer's address (possibly through NATs).</summary>
    Direct,
    /// <summary>Through a relay that forwards the (end-to-end encrypted) bytes.</summary>
    Relayed,
}
