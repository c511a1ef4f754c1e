using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Pinhole.Coordinator.Internal;
using Pinhole.Membership;

namespace Pinhole.Coordinator;

/// <summary>
/// The rendezvous service of private networks: it stores and serves signed records, redeems invites (exactly once),
/// streams changes to members from their cursor, and keeps request spaces, all over <c>/pinhole/coord/1</c> on the
/// ordinary authenticated connection (the caller's PeerId is its identity). It checks every record when it is
/// written, but it holds no network key and is no root of trust: nodes check every record again themselves.
/// Stateless over its store, so several instances can share one PostgreSQL database.
/// </summary>
public sealed partial class CoordinatorServer : IAsyncDisposable
{
    private readonly CoordinatorOptions _options;
    private readonly CoordinatorStore _store;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CoordinatorMetrics _metrics = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<NetworkId, Lazy<Task<NetworkFeed?>>> _feeds = new();
    private readonly ConcurrentDictionary<PeerConnection, byte> _connections = new();
    private readonly ConcurrentDictionary<(NetworkId, PeerId), int> _subscriptions = new();
    private readonly ConcurrentDictionary<(NetworkId, PeerId), TaskCompletionSource> _requestSignals = new();
    private readonly List<Task> _loops = [];
    private PeerListener? _listener;
    private AdminApi? _adminApi;
    private int _disposed;

    private CoordinatorServer(CoordinatorOptions options)
    {
        _options = options;
        _store = options.Store!;
        _time = options.TimeProvider;
        _logger = options.LoggerFactory.CreateLogger<CoordinatorServer>();
        PeerId = options.Identity!.PeerId;
    }

    /// <summary>The coordinator's PeerId (what invites pin).</summary>
    public PeerId PeerId { get; }

    /// <summary>Dialable addresses, each ending in <c>/p2p/&lt;PeerId&gt;</c> (empty when started without a listener).</summary>
    public IReadOnlyList<Multiaddr> ListenAddresses => _listener?.GetDialableAddresses() ?? [];

    /// <summary>The admin API's base address with the real port, or null.</summary>
    public Uri? AdminApiAddress => _adminApi?.Address;

    /// <summary>Live change subscriptions.</summary>
    public int SubscriberCount => _subscriptions.Values.Sum();

    /// <summary>Live connections.</summary>
    public int ConnectionCount => _connections.Count;

    internal CoordinatorOptions Options => _options;

    internal ILogger Logger => _logger;

    /// <summary>Validates the options, listens, and starts serving.</summary>
    public static async Task<CoordinatorServer> StartAsync(CoordinatorOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var server = new CoordinatorServer(options);
        try
        {
            server._store.ChangeNotified += server.OnStoreChange;
            server._store.RequestNotified += server.OnStoreRequest;
            if (options.ListenAddresses.Count > 0 || options.AdminApi is null)
            {
                server._listener = await PeerListener.ListenAsync(new PeerListenerOptions
                {
                    Identity = options.Identity,
                    ListenAddresses = options.ListenAddresses.Count > 0 ? options.ListenAddresses : [Multiaddr.Parse("/ip4/0.0.0.0/tcp/4100")],
                    MaxConnections = options.MaxConnections,
                    MaxConcurrentHandshakes = 256,
                    HandshakeTimeout = options.HandshakeTimeout,
                    AcceptQueueLength = 1024,
                    Protocols = [CoordinatorMessage.Protocol],
                    TimeProvider = options.TimeProvider,
                    LoggerFactory = options.LoggerFactory,
                }, cancellationToken).ConfigureAwait(false);
                server._loops.Add(Task.Run(server.AcceptLoopAsync, CancellationToken.None));
            }
            if (options.AdminApi is not null)
            {
                server._adminApi = await AdminApi.StartAsync(server, options, cancellationToken).ConfigureAwait(false);
                CoordinatorLog.AdminApi(server._logger, server._adminApi.Address);
            }
            if (server._store.IsShared)
            {
                server._loops.Add(Task.Run(server.PollLoopAsync, CancellationToken.None));
            }
            CoordinatorLog.Started(server._logger, server.PeerId, server.ListenAddresses, server._store);
            return server;
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Serves one already authenticated connection (for transports other than the listener, such as <see cref="MemoryNetwork"/>).</summary>
    public Task ServeAsync(PeerConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        return ServeConnectionAsync(connection);
    }

    /// <summary>Stops listening and closes every connection gracefully.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        _store.ChangeNotified -= OnStoreChange;
        _store.RequestNotified -= OnStoreRequest;
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_adminApi is not null)
        {
            await _adminApi.DisposeAsync().ConfigureAwait(false);
        }
        if (_listener is not null)
        {
            await _listener.DisposeAsync().ConfigureAwait(false);
        }
        await Task.WhenAll(_connections.Keys.Select(c => c.DisposeAsync().AsTask())).ConfigureAwait(false);
        try
        {
            await Task.WhenAll(_loops).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        foreach (var lazy in _feeds.Values)
        {
            if (lazy.IsValueCreated && lazy.Value.IsCompletedSuccessfully)
            {
                lazy.Value.Result?.Dispose();
            }
        }
        _metrics.Dispose();
        _stopping.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            PeerConnection connection;
            try
            {
                connection = await _listener!.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            _ = ServeConnectionAsync(connection);
        }
    }

    private async Task ServeConnectionAsync(PeerConnection connection)
    {
        _connections.TryAdd(connection, 0);
        try
        {
            while (!_stopping.IsCancellationRequested)
            {
                var stream = await connection.AcceptStreamAsync(_stopping.Token).ConfigureAwait(false);
                _ = ServeStreamAsync(connection, stream);
            }
        }
        catch (Exception e) when (e is PeerException or OperationCanceledException or ObjectDisposedException)
        {
            CoordinatorLog.ConnectionEnded(_logger, connection.RemotePeer, e.Message);
        }
        finally
        {
            _connections.TryRemove(connection, out _);
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task PollLoopAsync()
    {
        // A shared store's notifications can be lost (a listener reconnecting); re-reading on a timer bounds the delay.
        using var timer = _time.CreateTimer(_ => RefreshAll(), null, _options.PollInterval, _options.PollInterval);
        try
        {
            await Task.Delay(Timeout.Infinite, _stopping.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void OnStoreChange(NetworkId? network, ulong sequence)
    {
        if (network is null)
        {
            RefreshAll();
        }
        else if (_feeds.TryGetValue(network, out var lazy) && lazy.IsValueCreated && lazy.Value.IsCompletedSuccessfully && lazy.Value.Result is { } feed && feed.Known < sequence)
        {
            feed.RequestRefresh(OnRefreshError);
        }
    }

    private void OnStoreRequest(NetworkId network, PeerId recipient) => SignalRequest(network, recipient);

    private void RefreshAll()
    {
        foreach (var lazy in _feeds.Values)
        {
            if (lazy.IsValueCreated && lazy.Value.IsCompletedSuccessfully && lazy.Value.Result is { } feed)
            {
                feed.RequestRefresh(OnRefreshError);
            }
        }
    }

    private void OnRefreshError(Exception e) => CoordinatorLog.RefreshFailed(_logger, e.Message, e);

    /// <summary>The feed of a network, loading it from the store on first use; null if the network is unknown.</summary>
    internal async Task<NetworkFeed?> GetFeedAsync(NetworkId network, CancellationToken cancellationToken)
    {
        var lazy = _feeds.GetOrAdd(network, n => new Lazy<Task<NetworkFeed?>>(() => LoadFeedAsync(n)));
        NetworkFeed? feed;
        try
        {
            feed = await lazy.Value.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            _feeds.TryRemove(new KeyValuePair<NetworkId, Lazy<Task<NetworkFeed?>>>(network, lazy));
            throw;
        }
        if (feed is null)
        {
            // Not cached: the network may be created later (by this or another instance).
            _feeds.TryRemove(new KeyValuePair<NetworkId, Lazy<Task<NetworkFeed?>>>(network, lazy));
        }
        return feed;
    }

    private async Task<NetworkFeed?> LoadFeedAsync(NetworkId network)
    {
        var stored = await _store.GetNetworkAsync(network, _stopping.Token).ConfigureAwait(false);
        if (stored is null)
        {
            return null;
        }
        if (NetworkRecord.Decode(stored.Value.Genesis) is not GenesisRecord genesis || !genesis.Network.Equals(network))
        {
            throw new MembershipException(MembershipError.Internal, $"The stored genesis of {network} does not match its id.");
        }
        var feed = new NetworkFeed(_store, genesis, _options.ClockSkew, _time);
        await feed.RefreshAsync(_stopping.Token).ConfigureAwait(false);
        if (feed.Unreadable > 0)
        {
            CoordinatorLog.Unreadable(_logger, feed.Unreadable, network);
        }
        return feed;
    }

    private Task RequestSignal(NetworkId network, PeerId peer) =>
        _requestSignals.GetOrAdd((network, peer), _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    private void SignalRequest(NetworkId network, PeerId peer)
    {
        if (_requestSignals.TryRemove((network, peer), out var signal))
        {
            signal.TrySetResult();
        }
    }
}
