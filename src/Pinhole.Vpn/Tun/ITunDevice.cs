using Pinhole.Vpn.Offload;

namespace Pinhole.Vpn.Tun;

/// <summary>
/// The operating system's side of the tunnel: plain IP packets in batches. <see cref="Read"/> is called by
/// one thread and <see cref="Write"/> by one (other) thread; after <see cref="IDisposable.Dispose"/> both
/// return 0 or throw <see cref="ObjectDisposedException"/> at once, never block.
/// </summary>
internal interface ITunDevice : IDisposable
{
    /// <summary>Interface name (e.g. ph0).</summary>
    string Name { get; }

    /// <summary>The interface MTU.</summary>
    int Mtu { get; }

    /// <summary>Offloads in use (after probing).</summary>
    VpnOffloads Offloads { get; }

    /// <summary>
    /// Blocks until at least one packet is available, then fills up to <paramref name="packets"/>.Length of
    /// them: packet i is written into packets[i].Buffer at packets[i].Offset and packets[i].Length is set.
    /// Returns the number filled, or 0 once the device is closed. Buffers must hold <see cref="Mtu"/> bytes
    /// after their offset.
    /// </summary>
    int Read(Span<PacketRef> packets);

    /// <summary>
    /// Writes <paramref name="packets"/> to the operating system (coalesced where the offloads allow; the
    /// packets' header bytes may be rewritten). Returns the number of packets the device refused.
    /// </summary>
    int Write(ReadOnlySpan<PacketRef> packets);
}
