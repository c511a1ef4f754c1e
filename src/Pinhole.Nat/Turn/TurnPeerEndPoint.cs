using System.Net;

namespace Pinhole.Nat;

/// <summary>
/// A peer reached through a <see cref="TurnAllocation"/>: what DTLS (or anything using the <see cref="UdpMux"/>)
/// sends to and receives from when the path to <see cref="Peer"/> is the TURN relay. Two are equal when they
/// name the same peer on the same allocation, so a DTLS session keyed by it stays one session.
/// </summary>
public sealed class TurnPeerEndPoint : RoutedEndPoint
{
    internal TurnPeerEndPoint(TurnAllocation allocation, IPEndPoint peer)
    {
        Allocation = allocation;
        Peer = peer;
    }

    /// <summary>The allocation the datagrams go through.</summary>
    public TurnAllocation Allocation { get; }

    /// <summary>The peer's address as the TURN server sees it (what the server relays to and from).</summary>
    public IPEndPoint Peer { get; }

    /// <inheritdoc/>
    public override System.Net.Sockets.AddressFamily AddressFamily => Peer.AddressFamily;

    /// <inheritdoc/>
    public override ValueTask SendAsync(ReadOnlyMemory<byte> datagram, CancellationToken cancellationToken) => Allocation.SendAsync(Peer, datagram, cancellationToken);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is TurnPeerEndPoint other && ReferenceEquals(other.Allocation, Allocation) && other.Peer.Equals(Peer);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(Allocation), Peer);

    /// <inheritdoc/>
    public override string ToString() => $"turn:{Allocation.Server}/{Allocation.RelayedAddress}/{Peer}";
}
