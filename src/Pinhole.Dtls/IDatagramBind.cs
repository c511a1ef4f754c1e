using System.Net;

namespace Pinhole.Dtls;

/// <summary>
/// The layer under DTLS (the seed's "underlying layer"): moves whole datagrams to and from addresses it
/// does not interpret, and may know the public key of the node at an address. One receiver at a time calls
/// <see cref="ReceivePacketAsync"/>; sends may be concurrent. After disposal every call throws
/// <see cref="ObjectDisposedException"/> or <see cref="OperationCanceledException"/>.
/// </summary>
public interface IDatagramBind : IAsyncDisposable
{
    /// <summary>The address peers send to to reach this bind.</summary>
    EndPoint LocalEndPoint { get; }

    /// <summary>Sends one datagram to <paramref name="remote"/>; best effort, like UDP.</summary>
    ValueTask SendPacketAsync(EndPoint remote, ReadOnlyMemory<byte> packet, CancellationToken cancellationToken = default);

    /// <summary>
    /// Waits for the next datagram and copies it into <paramref name="buffer"/> (which should hold 65,535
    /// bytes; a longer datagram is truncated by the bind and will fail DTLS authentication).
    /// </summary>
    ValueTask<DatagramReceiveResult> ReceivePacketAsync(Memory<byte> buffer, CancellationToken cancellationToken = default);

    /// <summary>
    /// The public key of the node at <paramref name="remote"/> if this bind knows it (a directory, a relay),
    /// else null: the DTLS handshake then proves the key. A returned key is checked against the PeerId the
    /// caller asked for before any handshake, and cached.
    /// </summary>
    ValueTask<Libp2pPublicKey?> ObtainPublicKeyAsync(EndPoint remote, CancellationToken cancellationToken = default);
}
