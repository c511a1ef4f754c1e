using System.Net;

namespace Pinhole.Nat;

/// <summary>
/// An address reached through something other than a plain UDP send from the mux's socket — a TURN
/// allocation, or a peer's current best path. DTLS and other users of <see cref="UdpMux"/> send to it like
/// to any <see cref="EndPoint"/>; the mux hands the datagram to <see cref="SendAsync"/>. Subclasses define
/// equality, because DTLS keys sessions by remote end point.
/// </summary>
public abstract class RoutedEndPoint : EndPoint
{
    /// <summary>Sends one datagram along the route; best effort, like UDP.</summary>
    public abstract ValueTask SendAsync(ReadOnlyMemory<byte> datagram, CancellationToken cancellationToken);

    /// <inheritdoc/>
    public abstract override bool Equals(object? obj);

    /// <inheritdoc/>
    public abstract override int GetHashCode();
}
