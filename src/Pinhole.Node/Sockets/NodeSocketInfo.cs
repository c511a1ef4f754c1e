using System.Net;

namespace Pinhole.Node;

/// <summary>What to bind for <see cref="NodeSockets.CreateAsync"/>.</summary>
public sealed class NodeSocketOptions
{
    /// <summary>Local address and port; default all IPv4 addresses, a free port.</summary>
    public IPEndPoint LocalEndPoint { get; set; } = new(IPAddress.Any, 0);

    /// <summary>
    /// Also bind a loopback UDP port that bridges plaintext datagrams to the peer: each datagram sent to it
    /// goes to the peer over DTLS, and each packet from the peer comes out of it. Default true.
    /// </summary>
    public bool Forward { get; set; } = true;

    /// <summary>
    /// The only local application address the forward port talks to. Null: the first sender is latched and
    /// others are dropped.
    /// </summary>
    public IPEndPoint? ForwardTo { get; set; }

    internal void Validate()
    {
        ArgumentNullException.ThrowIfNull(LocalEndPoint, nameof(LocalEndPoint));
        if (ForwardTo is not null && !IPAddress.IsLoopback(ForwardTo.Address))
        {
            throw new ArgumentException($"{nameof(ForwardTo)} must be a loopback address; {ForwardTo} is not.", nameof(ForwardTo));
        }
    }
}

/// <summary>A snapshot of an API socket (what <c>GET /v1/sockets/{id}</c> returns).</summary>
/// <param name="Id">The socket's id.</param>
/// <param name="LocalEndPoint">Where it is bound.</param>
/// <param name="PublicEndPoint">Its address as the internet sees it, when NAT traversal found it; else null.</param>
/// <param name="State">Bound, connecting, waiting for the peer, connected, closed.</param>
/// <param name="Peer">The peer it is connected (or connecting, or waiting) to.</param>
/// <param name="RemoteEndPoint">The peer's address, once known.</param>
/// <param name="ForwardEndPoint">The loopback plaintext port, if any.</param>
/// <param name="Created">When it was bound.</param>
/// <param name="PacketsSent">Packets sent to the peer.</param>
/// <param name="PacketsReceived">Packets received from the peer.</param>
/// <param name="PacketsDropped">Packets dropped (not connected yet, from a stranger on the forward port, queue full).</param>
/// <param name="Error">Why it failed or closed, or null.</param>
public sealed record NodeSocketInfo(
    string Id,
    IPEndPoint LocalEndPoint,
    IPEndPoint? PublicEndPoint,
    NodeSocketState State,
    PeerId? Peer,
    IPEndPoint? RemoteEndPoint,
    IPEndPoint? ForwardEndPoint,
    DateTimeOffset Created,
    long PacketsSent,
    long PacketsReceived,
    long PacketsDropped,
    string? Error);

/// <summary>Where an API socket is in its life.</summary>
public enum NodeSocketState
{
    /// <summary>Bound; neither dialled nor waiting.</summary>
    Bound,
    /// <summary>A DTLS handshake to the peer is running.</summary>
    Connecting,
    /// <summary>Waiting for the named peer to dial it.</summary>
    Waiting,
    /// <summary>A DTLS session with the peer is up.</summary>
    Connected,
    /// <summary>The session failed or closed; the socket stays bound until deleted.</summary>
    Failed,
}
