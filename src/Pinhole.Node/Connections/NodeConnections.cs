using Microsoft.Extensions.Logging;

namespace Pinhole.Node;

/// <summary>
/// The connection manager (docs/node.md): at most one connection in use per peer, dials by PeerId over the
/// stored addresses (happy eyeballs), keeps keep-connected peers connected, closes idle connections, enforces
/// limits, and serves registered protocols on every connection. Reached as <see cref="PinholeNode.Connections"/>.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The stop token source is cancelled by StopAsync and needs no disposal (no timer).")]
public sealed partial class NodeConnections
{
    private readonly PinholeNode _node;
    private readonly NodeConnectionOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly Dictionary<PeerId, PeerSlot> _peers = [];
    private readonly CancellationTokenSource _stopping = new();
    private readonly Random _jitter;
    private readonly Lock _handlersLock = new();
    private TaskCompletionSource? _handlersIdle;
    private int _runningHandlers;
    private ITimer? _housekeeping;
    private long _nextId;
    private int _count;
    private bool _stopped;

    internal NodeConnections(PinholeNode node, Random? jitter = null)
    {
        _node = node;
        _options = node.Options.Connections;
        _time = node.Options.TimeProvider;
        _logger = node.Options.LoggerFactory.CreateLogger<NodeConnections>();
        _jitter = jitter ?? Random.Shared;
    }

    /// <summary>Connections held right now (in use and draining).</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Peers with a connection in use.</summary>
    public int ConnectedPeerCount
    {
        get
        {
            lock (_lock)
            {
                return _peers.Values.Count(s => s.Primary is not null);
            }
        }
    }

    /// <summary>The connection in use for <paramref name="peer"/>, or null.</summary>
    public PeerConnection? Get(PeerId peer)
    {
        ArgumentNullException.ThrowIfNull(peer);
        lock (_lock)
        {
            return _peers.TryGetValue(peer, out var slot) ? slot.Primary?.Connection : null;
        }
    }

    /// <summary>Every connection, in use first, grouped by peer.</summary>
    public IReadOnlyList<NodeConnectionInfo> List()
    {
        List<ManagedConnection> all;
        lock (_lock)
        {
            all = [.. _peers.Values.SelectMany(s => s.Connections)];
        }
        return [.. all.Select(c => c.Snapshot()).OrderBy(c => c.State).ThenBy(c => c.Peer.ToString(), StringComparer.Ordinal).ThenBy(c => c.Id)];
    }

    /// <summary>The connections with <paramref name="peer"/> (in use first).</summary>
    public IReadOnlyList<NodeConnectionInfo> List(PeerId peer)
    {
        ArgumentNullException.ThrowIfNull(peer);
        List<ManagedConnection> all;
        lock (_lock)
        {
            all = _peers.TryGetValue(peer, out var slot) ? [.. slot.Connections] : [];
        }
        return [.. all.Select(c => c.Snapshot()).OrderBy(c => c.State).ThenBy(c => c.Id)];
    }

    /// <summary>Whether the manager keeps <paramref name="peer"/> connected (from the peer store).</summary>
    public bool IsKeptConnected(PeerId peer)
    {
        lock (_lock)
        {
            return _peers.TryGetValue(peer, out var slot) && slot.KeepConnected;
        }
    }

    /// <summary>
    /// Hands the manager a connection made or accepted elsewhere (a relay's, a hole punch's). It applies the
    /// limits and the one-connection rule to it and serves the node's protocols on it, as for its own.
    /// Returns false (and closes it) when a limit refused it.
    /// </summary>
    public bool Adopt(PeerConnection connection, ConnectionPathKind path = ConnectionPathKind.Direct)
    {
        ArgumentNullException.ThrowIfNull(connection);
        return AdoptCore(connection, path) is not null;
    }

    /// <summary>
    /// Closes every connection with <paramref name="peer"/>. A keep-connected peer is not redialled until the
    /// next <see cref="ConnectAsync(PeerId, CancellationToken)"/> or restart. False if there was none.
    /// </summary>
    public async Task<bool> DisconnectAsync(PeerId peer, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(peer);
        List<ManagedConnection> connections;
        lock (_lock)
        {
            if (!_peers.TryGetValue(peer, out var slot))
            {
                return false;
            }
            slot.ReconnectSuspended = true;
            slot.CancelReconnect();
            connections = [.. slot.Connections];
        }
        foreach (var c in connections)
        {
            await CloseAsync(c, "closed by request", cancellationToken).ConfigureAwait(false);
        }
        return connections.Count > 0;
    }

    /// <summary>Round-trip time to <paramref name="peer"/> with <c>/ipfs/ping/1.0.0</c>, connecting first if needed.</summary>
    public async Task<TimeSpan> PingAsync(PeerId peer, CancellationToken cancellationToken = default)
    {
        var connection = await ConnectAsync(peer, cancellationToken).ConfigureAwait(false);
        return await connection.PingAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Opens a stream of <paramref name="protocol"/> to <paramref name="peer"/>, connecting first if needed.</summary>
    public async ValueTask<PeerStream> OpenStreamAsync(PeerId peer, string protocol, CancellationToken cancellationToken = default)
    {
        var connection = await ConnectAsync(peer, cancellationToken).ConfigureAwait(false);
        return await connection.OpenStreamAsync(protocol, cancellationToken).ConfigureAwait(false);
    }

    // dialled: the address this node dialled to open the connection (its success is stored with the connection).
    internal ManagedConnection? AdoptCore(PeerConnection connection, ConnectionPathKind path, Multiaddr? dialled = null)
    {
        ManagedConnection managed;
        NodeEvent? published = null;
        string? refusal = null;
        lock (_lock)
        {
            var slot = Slot(connection.RemotePeer);
            if (_stopped)
            {
                refusal = "the node is stopping";
            }
            else if (_count >= _options.MaxConnections)
            {
                refusal = $"the node is at its connection limit ({_options.MaxConnections}, MaxConnections)";
            }
            else if (slot.Connections.Count >= _options.MaxConnectionsPerPeer)
            {
                refusal = $"the peer already has {slot.Connections.Count} connections (MaxConnectionsPerPeer)";
            }
            if (refusal is not null)
            {
                DropIfEmpty(slot);
                managed = null!;
            }
            else
            {
                var now = _time.GetUtcNow();
                managed = new ManagedConnection(++_nextId, connection, path, now);
                slot.Connections.Add(managed);
                _count++;
                var current = slot.Primary;
                if (current is null)
                {
                    slot.Primary = managed;
                    slot.Failures = 0;
                    slot.CancelReconnect();
                    published = new PeerConnectedEvent(now, connection.RemotePeer, managed.Snapshot());
                }
                else if (ManagedConnection.IsBetter(managed, current))
                {
                    slot.Primary = managed;
                    current.DrainingSince = now;
                    published = new PathChangedEvent(now, connection.RemotePeer, current.Snapshot(), managed.Snapshot());
                }
                else
                {
                    managed.DrainingSince = now;
                }
            }
        }
        if (refusal is not null)
        {
            NodeLog.ConnectionRefused(_logger, connection.RemotePeer, refusal);
            _node.Metrics.ConnectionRefused(connection, refusal);
            _ = connection.DisposeAsync().AsTask();
            return null;
        }
        _node.Metrics.ConnectionOpened(managed);
        NodeLog.ConnectionAdopted(_logger, managed.Id, connection.RemotePeer, connection.IsInbound ? "inbound" : "outbound", connection.RemoteAddress,
            managed.DrainingSince is null ? "in use" : "duplicate, draining");
        if (published is not null)
        {
            _node.Events.Publish(published);
        }
        _ = ServeAsync(managed);
        _ = connection.Completion.ContinueWith(
            static (_, state) => { var (self, c) = ((NodeConnections, ManagedConnection))state!; self.OnClosed(c); },
            (this, managed), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        _ = RememberAsync(managed, dialled);
        return managed;
    }

    private async Task RememberAsync(ManagedConnection managed, Multiaddr? dialled)
    {
        var connection = managed.Connection;
        try
        {
            var store = _node.Peers;
            if (connection.IsInbound && !_options.RememberInboundPeers && store.Get(connection.RemotePeer) is null)
            {
                return;
            }
            store.RecordConnected(connection.RemotePeer, connection.TrustedOnFirstUse ? PeerTrust.TrustedOnFirstUse : PeerTrust.Seen, dialled);
            if (connection.IsInbound)
            {
                // Learn where the peer listens, so that a keep-connected peer that dialled us can be redialled.
                using var timeout = new CancellationTokenSource(_node.Options.Transport.HandshakeTimeout, _time);
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, managed.Serving);
                var identify = await connection.IdentifyAsync(linked.Token).ConfigureAwait(false);
                foreach (var address in identify.ListenAddrs.Take(8))
                {
                    if (address.TryGetIPEndPoint(out var ep, out var transport) && transport == "tcp" && ep.Port != 0)
                    {
                        store.AddAddress(connection.RemotePeer, address, AddressSource.Identify);
                    }
                }
            }
        }
        catch (Exception e) when (e is PeerException or PeerStoreException or OperationCanceledException or ObjectDisposedException or ArgumentException)
        {
            NodeLog.IdentifyFailed(_logger, connection.RemotePeer, e.Message);
        }
    }

    private void OnClosed(ManagedConnection managed)
    {
        NodeEvent? published = null;
        bool reconnect = false;
        PeerSlot slot;
        lock (_lock)
        {
            if (managed.Closed)
            {
                return;
            }
            managed.Closed = true;
            _count--;
            slot = Slot(managed.Peer);
            slot.Connections.Remove(managed);
            var now = _time.GetUtcNow();
            if (slot.Primary == managed)
            {
                var next = slot.Connections.Where(c => !c.Closed).Aggregate((ManagedConnection?)null, (best, c) => best is null || ManagedConnection.IsBetter(c, best) ? c : best);
                slot.Primary = next;
                if (next is not null)
                {
                    next.DrainingSince = null;
                    published = new PathChangedEvent(now, managed.Peer, managed.Snapshot(), next.Snapshot());
                }
                else
                {
                    published = new PeerDisconnectedEvent(now, managed.Peer, CloseReason(managed));
                    reconnect = slot.KeepConnected && !slot.ReconnectSuspended && !_stopped;
                }
            }
            if (!reconnect)
            {
                DropIfEmpty(slot);
            }
        }
        managed.StopServing();
        _node.Metrics.ConnectionClosed(managed, _time.GetUtcNow() - managed.Opened);
        var closeReason = CloseReason(managed);
        NodeLog.ConnectionClosed(_logger, managed.Id, managed.Peer, closeReason);
        if (published is not null)
        {
            _node.Events.Publish(published);
        }
        if (reconnect)
        {
            ScheduleReconnect(slot);
        }
    }

    private static string CloseReason(ManagedConnection managed)
    {
        var completion = managed.Connection.Completion;
        if (managed.CloseNote is { } note)
        {
            return note;
        }
        return completion.IsFaulted ? completion.Exception?.InnerException?.Message ?? "closed" : "closed";
    }

    /// <summary>
    /// Closes a connection the node decided to close; once it returns, the manager has done its bookkeeping too
    /// (slot, events), so a caller that connects again right after gets a new connection, never this one.
    /// </summary>
    private async Task CloseAsync(ManagedConnection managed, string reason, CancellationToken cancellationToken)
    {
        managed.CloseNote ??= reason;
        try
        {
            await managed.Connection.CloseAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
        {
        }
        await managed.Connection.DisposeAsync().ConfigureAwait(false);
        // The completion callback may still be on its way; OnClosed runs once whoever comes first.
        OnClosed(managed);
    }

    private PeerSlot Slot(PeerId peer)
    {
        if (!_peers.TryGetValue(peer, out var slot))
        {
            slot = new PeerSlot(peer);
            _peers.Add(peer, slot);
        }
        return slot;
    }

    private void DropIfEmpty(PeerSlot slot)
    {
        if (slot.Connections.Count == 0 && slot.Dial is null && !slot.KeepConnected && slot.ReconnectTimer is null)
        {
            _peers.Remove(slot.Peer);
        }
    }

    /// <summary>Per-peer state, guarded by the manager's lock.</summary>
    private sealed class PeerSlot(PeerId peer)
    {
        public PeerId Peer { get; } = peer;

        public List<ManagedConnection> Connections { get; } = [];

        public ManagedConnection? Primary { get; set; }

        public Task<ManagedConnection>? Dial { get; set; }

        public bool KeepConnected { get; set; }

        public bool ReconnectSuspended { get; set; }

        public int Failures { get; set; }

        public ITimer? ReconnectTimer { get; set; }

        public DateTimeOffset? NextReconnect { get; set; }

        public void CancelReconnect()
        {
            ReconnectTimer?.Dispose();
            ReconnectTimer = null;
            NextReconnect = null;
        }
    }
}
