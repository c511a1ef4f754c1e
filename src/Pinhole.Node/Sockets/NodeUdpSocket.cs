using System.Net;
using Pinhole.Dtls;

namespace Pinhole.Node;

/// <summary>A UDP socket the node owns, the layer over it (a demultiplexer, or none) and its DTLS endpoint.</summary>
internal sealed class NodeUdpSocket(UdpDatagramBind socket, NodeDatagramLayer layer, DtlsEndpoint endpoint, DtlsListener? listener) : IAsyncDisposable
{
    private int _disposed;

    public UdpDatagramBind Socket { get; } = socket;

    public NodeDatagramLayer Layer { get; } = layer;

    public DtlsEndpoint Endpoint { get; } = endpoint;

    public DtlsListener? Listener { get; } = listener;

    // Captured at bind: a disposed socket has no LocalEndPoint, and the node lists its addresses during shutdown too.
    public IPEndPoint LocalEndPoint { get; } = (IPEndPoint)socket.LocalEndPoint;

    /// <summary>Closes in order: DTLS sessions (close_notify), the endpoint, the layer, then the socket.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        if (Listener is not null)
        {
            await Listener.DisposeAsync().ConfigureAwait(false);
        }
        await Endpoint.DisposeAsync().ConfigureAwait(false);
        await Layer.DisposeAsync().ConfigureAwait(false);
        await Socket.DisposeAsync().ConfigureAwait(false);
    }
}
