using System.Net;
using Pinhole.Vpn.Offload;

namespace Pinhole.Vpn.DataPlane;

/// <summary>One datagram received: where it is (in the transport's buffer) and who sent it.</summary>
internal struct ReceivedDatagram
{
    internal PacketRef Packet;
    internal UdpAddress Source;
}

/// <summary>
/// The data plane's datagram socket. <see cref="Receive"/> is called by one thread (the receive loop),
/// <see cref="Send"/> by one thread (the TUN loop); <see cref="SendOne"/> and <see cref="Wake"/> by any.
/// After <see cref="IDisposable.Dispose"/>, <see cref="Receive"/> returns -1 at once.
/// </summary>
internal interface IPacketTransport : IDisposable
{
    /// <summary>The bound address.</summary>
    IPEndPoint LocalEndPoint { get; }

    /// <summary>UDP offloads in use.</summary>
    VpnOffloads Offloads { get; }

    /// <summary>
    /// Blocks until datagrams arrive, then fills <paramref name="datagrams"/> (at most its length; the
    /// packets point into the transport's buffers and stay valid until the next call). Returns the count;
    /// 0 when woken by <see cref="Wake"/>; -1 once disposed.
    /// </summary>
    int Receive(Span<ReceivedDatagram> datagrams);

    /// <summary>Most datagrams one <see cref="Receive"/> can return.</summary>
    int MaxReceiveBatch { get; }

    /// <summary>Makes a blocked (or the next) <see cref="Receive"/> return 0.</summary>
    void Wake();

    /// <summary>
    /// Sends whole datagrams to <paramref name="destination"/>, batched (equal-sized runs as one GSO
    /// send where enabled). The buffers must be pinned. Returns the number that could not be sent.
    /// </summary>
    int Send(UdpAddress destination, ReadOnlySpan<PacketRef> datagrams);

    /// <summary>Sends one datagram (from any thread); false if the kernel refused it.</summary>
    bool SendOne(UdpAddress destination, ReadOnlySpan<byte> datagram);

    /// <summary>The canonical address object for <paramref name="endPoint"/>.</summary>
    UdpAddress Resolve(IPEndPoint endPoint);
}
