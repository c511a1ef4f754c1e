using System.Net;
using Pinhole.Dtls;

namespace Pinhole.Node;

/// <summary>
/// What sits between a UDP socket the node owns and its DTLS endpoint. By default nothing: DTLS gets the
/// socket itself. NAT traversal (<c>Pinhole.Nat</c>) plugs in here with
/// <see cref="PinholeNodeBuilder.UseDatagramLayer"/>: a STUN/DTLS demultiplexer (RFC 7983: the first byte
/// 0–3 is STUN, 20–63 DTLS) that hands DTLS its share and keeps STUN for itself, on the node's port and on
/// every socket created through the API.
/// </summary>
public interface INodeDatagramLayerFactory
{
    /// <summary>
    /// Wraps <paramref name="socket"/> (owned by the node, disposed by it after the layer). Called once per
    /// UDP socket the node binds: the node's own (<paramref name="purpose"/> <see cref="NodeSocketPurpose.Node"/>)
    /// and each API socket.
    /// </summary>
    NodeDatagramLayer Create(IDatagramBind socket, NodeSocketPurpose purpose);
}

/// <summary>Why the node bound a UDP socket.</summary>
public enum NodeSocketPurpose
{
    /// <summary>The node's own socket, on its listening port.</summary>
    Node,
    /// <summary>A socket created through the sockets API (<c>POST /v1/sockets</c>).</summary>
    ApiSocket,
}

/// <summary>A layer over one UDP socket: the bind DTLS uses and, once known, the socket's public address.</summary>
public abstract class NodeDatagramLayer : IAsyncDisposable
{
    /// <summary>The bind the DTLS endpoint reads and writes (the DTLS share of a demultiplexer).</summary>
    public abstract IDatagramBind DtlsBind { get; }

    /// <summary>
    /// The socket's address as the internet sees it (STUN, port mapping), or null when unknown. The default
    /// layer knows none.
    /// </summary>
    public virtual ValueTask<IPEndPoint?> GetPublicEndPointAsync(CancellationToken cancellationToken = default)
        => ValueTask.FromResult<IPEndPoint?>(null);

    /// <summary>Releases the layer (not the socket under it, which the node disposes next).</summary>
    public virtual ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }

    /// <summary>The default: DTLS uses the socket directly.</summary>
    internal sealed class Passthrough(IDatagramBind socket) : NodeDatagramLayer
    {
        public override IDatagramBind DtlsBind { get; } = socket;
    }
}
