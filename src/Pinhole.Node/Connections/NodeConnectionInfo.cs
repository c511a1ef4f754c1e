namespace Pinhole.Node;

/// <summary>A snapshot of one connection the node holds (what <c>GET /v1/connections</c> lists).</summary>
/// <param name="Id">The node's id for it (stable while it lives).</param>
/// <param name="Peer">The verified peer.</param>
/// <param name="Direction">Who dialled.</param>
/// <param name="Netlayer"><c>tcp</c>, <c>memory</c>, or a plugged-in netlayer's name.</param>
/// <param name="Path">Direct or relayed.</param>
/// <param name="State">In use, a duplicate draining before it closes, or closing (the node decided to close it).</param>
/// <param name="LocalAddress">Our end's address, when the netlayer has one.</param>
/// <param name="RemoteAddress">The peer's address as we see it.</param>
/// <param name="Opened">When it was established.</param>
/// <param name="RoundTripTime">Latest round-trip time measured on it, or null.</param>
/// <param name="BytesSent">Bytes sent (multiplexer level).</param>
/// <param name="BytesReceived">Bytes received (multiplexer level).</param>
/// <param name="Streams">Open streams.</param>
public sealed record NodeConnectionInfo(
    long Id,
    PeerId Peer,
    ConnectionDirection Direction,
    string Netlayer,
    ConnectionPathKind Path,
    ConnectionState State,
    Multiaddr? LocalAddress,
    Multiaddr? RemoteAddress,
    DateTimeOffset Opened,
    TimeSpan? RoundTripTime,
    long BytesSent,
    long BytesReceived,
    int Streams);

/// <summary>Who dialled a connection.</summary>
public enum ConnectionDirection
{
    /// <summary>The peer dialled us.</summary>
    Inbound,
    /// <summary>We dialled the peer.</summary>
    Outbound,
}

/// <summary>The role of a connection in the one-connection-per-peer rule.</summary>
public enum ConnectionState
{
    /// <summary>The connection the node uses for the peer.</summary>
    Active,
    /// <summary>A duplicate: no new streams; it closes once its streams are done (docs/node.md).</summary>
    Draining,
    /// <summary>
    /// The node has decided to close it (idle timeout, a drained duplicate, a disconnect, the node stopping);
    /// it leaves the list once the close completes. Set in the same step as the decision, so a caller that
    /// drives the node's clock sees it at once.
    /// </summary>
    Closing,
}
