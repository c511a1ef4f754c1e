using System.Net;
using System.Net.Sockets;
using Pinhole.Dtls;

namespace Pinhole.Node;

/// <summary>
/// One API socket: a UDP socket bound by the node (with the node's datagram layer and a DTLS endpoint on
/// it), optionally bridged to a loopback plaintext port. At most one DTLS session, to one peer.
/// </summary>
public sealed class NodeSocket : IAsyncDisposable
{
    private readonly NodeSockets _owner;
    private readonly NodeUdpSocket _udp;
    private readonly Socket? _forward;
    private readonly CancellationTokenSource _closing = new();
    private readonly Lock _lock = new();
    private readonly bool _latched;
    private IPEndPoint? _forwardTo;
    private DtlsConnection? _session;
    private NodeSocketState _state = NodeSocketState.Bound;
    private PeerId? _peer;
    private IPEndPoint? _remote;
    private string? _error;
    private long _sent;
    private long _received;
    private long _dropped;
    private readonly Task? _forwardLoop;
    private int _disposed;

    internal NodeSocket(NodeSockets owner, string id, NodeUdpSocket udp, Socket? forward, IPEndPoint? forwardTo, IPEndPoint? publicEndPoint, DateTimeOffset created)
    {
        _owner = owner;
        Id = id;
        _udp = udp;
        _forward = forward;
        _forwardTo = forwardTo;
        _latched = forwardTo is not null;
        ForwardEndPoint = forward?.LocalEndPoint as IPEndPoint;
        PublicEndPoint = publicEndPoint;
        Created = created;
        if (_forward is not null)
        {
            _forwardLoop = Task.Run(ForwardLoopAsync);
        }
    }

    /// <summary>The socket's id in the API.</summary>
    public string Id { get; }

    /// <summary>Where the UDP socket is bound.</summary>
    public IPEndPoint LocalEndPoint => _udp.LocalEndPoint;

    /// <summary>Its public address (from the datagram layer), or null.</summary>
    public IPEndPoint? PublicEndPoint { get; }

    /// <summary>When it was bound.</summary>
    public DateTimeOffset Created { get; }

    /// <summary>The loopback plaintext port, or null.</summary>
    public IPEndPoint? ForwardEndPoint { get; }

    /// <summary>The DTLS endpoint on this socket (in-process users such as the VPN may dial or listen on it directly).</summary>
    public DtlsEndpoint Endpoint => _udp.Endpoint;

    /// <summary>The DTLS session with the peer once connected, else null.</summary>
    public DtlsConnection? Session
    {
        get { lock (_lock) { return _session; } }
    }

    /// <summary>A snapshot.</summary>
    public NodeSocketInfo Snapshot()
    {
        lock (_lock)
        {
            return new NodeSocketInfo(Id, LocalEndPoint, PublicEndPoint, _state, _peer, _remote, ForwardEndPoint, Created,
                Interlocked.Read(ref _sent), Interlocked.Read(ref _received), Interlocked.Read(ref _dropped), _error);
        }
    }

    internal async Task ConnectAsync(PeerId peer, IPEndPoint remote, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (_state is NodeSocketState.Connecting or NodeSocketState.Connected or NodeSocketState.Waiting)
            {
                throw new InvalidOperationException($"Socket {Id} is already {_state.ToString().ToLowerInvariant()} ({_peer}); delete it and create another.");
            }
            _state = NodeSocketState.Connecting;
            _peer = peer;
            _remote = remote;
            _error = null;
        }
        _owner.Changed(this);
        try
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _closing.Token);
            var session = await _udp.Endpoint.ConnectAsync(remote, peer, linked.Token).ConfigureAwait(false);
            Attach(session);
        }
        catch (Exception e) when (e is PeerException or OperationCanceledException)
        {
            Fail(e is OperationCanceledException ? "cancelled" : e.Message);
            throw;
        }
    }

    internal void WaitFor(PeerId peer)
    {
        lock (_lock)
        {
            if (_state is NodeSocketState.Connecting or NodeSocketState.Connected or NodeSocketState.Waiting)
            {
                throw new InvalidOperationException($"Socket {Id} is already {_state.ToString().ToLowerInvariant()} ({_peer}); delete it and create another.");
            }
            _state = NodeSocketState.Waiting;
            _peer = peer;
            _error = null;
        }
        _owner.Changed(this);
        var listener = _udp.Endpoint.Listen();
        _ = AcceptAsync(listener, peer);
    }

    private async Task AcceptAsync(DtlsListener listener, PeerId peer)
    {
        await using (listener.ConfigureAwait(false))
        {
            while (true)
            {
                DtlsConnection session;
                try
                {
                    session = await listener.AcceptAsync(_closing.Token).ConfigureAwait(false);
                }
                catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
                {
                    return;
                }
                if (!session.RemotePeer.Equals(peer))
                {
                    // Only the named peer may take this socket.
                    await session.CloseAsync().ConfigureAwait(false);
                    continue;
                }
                lock (_lock)
                {
                    _remote = (IPEndPoint)session.RemoteEndPoint;
                }
                Attach(session);
                return;
            }
        }
    }

    private void Attach(DtlsConnection session)
    {
        lock (_lock)
        {
            _session = session;
            _state = NodeSocketState.Connected;
        }
        session.SetPacketHandler(OnPacket);
        _ = session.Closed.ContinueWith(_ => Fail(session.CloseReason?.Message ?? "closed"), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        _owner.Changed(this);
    }

    private void OnPacket(DtlsConnection session, ReadOnlySpan<byte> packet)
    {
        Interlocked.Increment(ref _received);
        IPEndPoint? to;
        lock (_lock)
        {
            to = _forwardTo;
        }
        if (_forward is null || to is null)
        {
            Interlocked.Increment(ref _dropped);
            return;
        }
        try
        {
            _forward.SendTo(packet, SocketFlags.None, to);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            Interlocked.Increment(ref _dropped);
        }
    }

    private void Fail(string reason)
    {
        lock (_lock)
        {
            if (_state == NodeSocketState.Failed)
            {
                return;
            }
            _state = NodeSocketState.Failed;
            _error = reason;
            _session = null;
        }
        _owner.Changed(this);
    }

    /// <summary>Sends one packet to the connected peer (in-process use; the forward port does the same).</summary>
    public ValueTask SendAsync(ReadOnlyMemory<byte> packet, CancellationToken cancellationToken = default)
    {
        var session = Session ?? throw new PeerException(PeerError.ConnectionClosed, $"Socket {Id} has no DTLS session.");
        Interlocked.Increment(ref _sent);
        return session.SendAsync(packet, cancellationToken);
    }

    private async Task ForwardLoopAsync()
    {
        var buffer = new byte[65536];
        EndPoint any = new IPEndPoint(IPAddress.Loopback, 0);
        while (!_closing.IsCancellationRequested)
        {
            SocketReceiveFromResult received;
            try
            {
                received = await _forward!.ReceiveFromAsync(buffer, SocketFlags.None, any, _closing.Token).ConfigureAwait(false);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
            {
                continue;
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            var from = (IPEndPoint)received.RemoteEndPoint;
            DtlsConnection? session;
            lock (_lock)
            {
                if (_forwardTo is null && !_latched)
                {
                    _forwardTo = from;
                }
                session = _forwardTo is not null && _forwardTo.Equals(from) ? _session : null;
            }
            if (session is null)
            {
                Interlocked.Increment(ref _dropped);
                continue;
            }
            try
            {
                await session.SendAsync(buffer.AsMemory(0, received.ReceivedBytes), _closing.Token).ConfigureAwait(false);
                Interlocked.Increment(ref _sent);
            }
            catch (Exception e) when (e is PeerException or OperationCanceledException)
            {
                Interlocked.Increment(ref _dropped);
            }
        }
    }

    /// <summary>Closes the session (close_notify), the DTLS endpoint, the forward port and the UDP socket.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        await _closing.CancelAsync().ConfigureAwait(false);
        var session = Session;
        if (session is not null)
        {
            await session.CloseAsync().ConfigureAwait(false);
        }
        await _udp.DisposeAsync().ConfigureAwait(false);
        _forward?.Dispose();
        if (_forwardLoop is not null)
        {
            await _forwardLoop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        _closing.Dispose();
    }
}
