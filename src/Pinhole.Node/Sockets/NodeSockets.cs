using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Pinhole.Dtls;

namespace Pinhole.Node;

/// <summary>
/// The seed's sockets API for the control plane: create a UDP socket bound by the node (its local address,
/// and its public one once NAT traversal provides it), connect it to a peer over DTLS or let a named peer
/// connect to it, delete it. Reached as <see cref="PinholeNode.Sockets"/>.
/// </summary>
public sealed class NodeSockets
{
    private readonly PinholeNode _node;
    private readonly ConcurrentDictionary<string, NodeSocket> _sockets = new(StringComparer.Ordinal);
    private long _next;

    internal NodeSockets(PinholeNode node) => _node = node;

    /// <summary>Sockets held.</summary>
    public int Count => _sockets.Count;

    /// <summary>Every socket, oldest first.</summary>
    public IReadOnlyList<NodeSocketInfo> List() => [.. _sockets.Values.OrderBy(s => s.Created).ThenBy(s => s.Id, StringComparer.Ordinal).Select(s => s.Snapshot())];

    /// <summary>The socket named <paramref name="id"/>, or null.</summary>
    public NodeSocket? Find(string id) => _sockets.TryGetValue(id, out var socket) ? socket : null;

    /// <summary>Binds a new UDP socket (and its forward port). Throws <see cref="PeerException"/> when the address is in use or the limit is reached.</summary>
    public async Task<NodeSocket> CreateAsync(NodeSocketOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (_node.State != NodeState.Running && _node.State != NodeState.Starting)
        {
            throw new InvalidOperationException("The node is not running.");
        }
        if (_sockets.Count >= _node.Options.Transport.MaxSockets)
        {
            throw new PeerException(PeerError.LimitExceeded, $"The node already holds {_node.Options.Transport.MaxSockets} sockets (MaxSockets).");
        }
        UdpDatagramBind bind;
        try
        {
            bind = _node.Options.Transport.BindDatagrams(options.LocalEndPoint);
        }
        catch (SocketException e)
        {
            throw new PeerException(PeerError.InternalError, $"Cannot bind UDP {options.LocalEndPoint}: {e.Message}", e);
        }
        var udp = _node.CreateUdpSocket(bind, NodeSocketPurpose.ApiSocket, listen: false);
        Socket? forward = null;
        try
        {
            if (options.Forward)
            {
                forward = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                forward.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            }
            IPEndPoint? publicEndPoint;
            using (var discovery = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                discovery.CancelAfter(_node.Options.Transport.HandshakeTimeout);
                try
                {
                    publicEndPoint = await udp.Layer.GetPublicEndPointAsync(discovery.Token).ConfigureAwait(false);
                }
                catch (Exception e) when (e is OperationCanceledException or IOException && !cancellationToken.IsCancellationRequested)
                {
                    publicEndPoint = null;
                }
            }
            var id = "s" + Interlocked.Increment(ref _next).ToString(CultureInfo.InvariantCulture);
            var socket = new NodeSocket(this, id, udp, forward, options.ForwardTo, publicEndPoint, _node.Options.TimeProvider.GetUtcNow());
            _sockets[id] = socket;
            Changed(socket);
            return socket;
        }
        catch
        {
            forward?.Dispose();
            await udp.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Connects socket <paramref name="id"/> to <paramref name="peer"/> at <paramref name="remote"/> over DTLS
    /// (the peer must prove its key). Throws <see cref="KeyNotFoundException"/> for an unknown socket,
    /// <see cref="PeerException"/> when the handshake fails.
    /// </summary>
    public async Task<NodeSocket> ConnectAsync(string id, PeerId peer, IPEndPoint remote, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(peer);
        ArgumentNullException.ThrowIfNull(remote);
        var socket = Find(id) ?? throw new KeyNotFoundException($"No socket {id}.");
        await socket.ConnectAsync(peer, remote, cancellationToken).ConfigureAwait(false);
        return socket;
    }

    /// <summary>Lets <paramref name="peer"/> (and only it) connect to socket <paramref name="id"/>; returns at once, the socket turns connected when it does.</summary>
    public NodeSocket WaitFor(string id, PeerId peer)
    {
        ArgumentNullException.ThrowIfNull(peer);
        var socket = Find(id) ?? throw new KeyNotFoundException($"No socket {id}.");
        socket.WaitFor(peer);
        return socket;
    }

    /// <summary>Closes and forgets socket <paramref name="id"/>. False if there is none.</summary>
    public async Task<bool> DeleteAsync(string id)
    {
        if (!_sockets.TryRemove(id, out var socket))
        {
            return false;
        }
        await socket.DisposeAsync().ConfigureAwait(false);
        _node.Events.Publish(new SocketChangedEvent(_node.Options.TimeProvider.GetUtcNow(), socket.Snapshot() with { State = NodeSocketState.Failed, Error = "deleted" }));
        return true;
    }

    internal void Changed(NodeSocket socket) => _node.Events.Publish(new SocketChangedEvent(_node.Options.TimeProvider.GetUtcNow(), socket.Snapshot()));

    internal async Task DisposeAllAsync()
    {
        foreach (var id in _sockets.Keys.ToList())
        {
            if (_sockets.TryRemove(id, out var socket))
            {
                await socket.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
