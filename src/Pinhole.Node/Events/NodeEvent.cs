namespace Pinhole.Node;

/// <summary>
/// Something that happened on the node, delivered to <see cref="NodeEvents"/> subscribers and on the API's
/// event stream (<c>GET /v1/events</c>, server-sent events named by <see cref="Type"/>).
/// </summary>
/// <param name="Time">When it happened (node clock).</param>
public abstract record NodeEvent(DateTimeOffset Time)
{
    /// <summary>The event name on the wire: <c>peer.connected</c>, <c>peer.disconnected</c>, <c>path.changed</c>, <c>dial.failed</c>, ...</summary>
    public abstract string Type { get; }
}

/// <summary>The node has a connection with <paramref name="Peer"/> where it had none.</summary>
public sealed record PeerConnectedEvent(DateTimeOffset Time, PeerId Peer, NodeConnectionInfo Connection) : NodeEvent(Time)
{
    /// <inheritdoc/>
    public override string Type => "peer.connected";
}

/// <summary>The node's last connection with <paramref name="Peer"/> closed.</summary>
public sealed record PeerDisconnectedEvent(DateTimeOffset Time, PeerId Peer, string Reason) : NodeEvent(Time)
{
    /// <inheritdoc/>
    public override string Type => "peer.disconnected";
}

/// <summary>The connection in use for <paramref name="Peer"/> changed (a duplicate resolved, relay to direct, a reconnect on another address).</summary>
public sealed record PathChangedEvent(DateTimeOffset Time, PeerId Peer, NodeConnectionInfo From, NodeConnectionInfo To) : NodeEvent(Time)
{
    /// <inheritdoc/>
    public override string Type => "path.changed";
}

/// <summary>A connect to <paramref name="Peer"/> failed on every address.</summary>
public sealed record DialFailedEvent(DateTimeOffset Time, PeerId Peer, string Reason) : NodeEvent(Time)
{
    /// <inheritdoc/>
    public override string Type => "dial.failed";
}

/// <summary>An API socket changed state (bound, connected, closed).</summary>
public sealed record SocketChangedEvent(DateTimeOffset Time, NodeSocketInfo Socket) : NodeEvent(Time)
{
    /// <inheritdoc/>
    public override string Type => "socket.changed";
}
