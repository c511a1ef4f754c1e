using System.Security.Cryptography;
using Pinhole.Membership.Internal;

namespace Pinhole.Membership;

public sealed partial class MembershipClient
{
    private readonly SemaphoreSlim _connectLock = new(1, 1);
    private readonly SemaphoreSlim _saveLock = new(1, 1);
    private PeerConnection? _connection;
    private CoordinatorClient? _client;
    private int _nextCoordinator;
    private bool _cacheDirty;

    private void Start(PeerConnection? connected)
    {
        if (connected is not null)
        {
            _connection = connected;
            _client = new CoordinatorClient(connected);
        }
        _loops.Add(Task.Run(EventLoopAsync));
        if (_coordinators.Count > 0)
        {
            _loops.Add(Task.Run(SyncLoopAsync));
        }
        else
        {
            lock (_lock)
            {
                _status = MembershipStatus.Offline;
            }
        }
        if (_cachePath is not null)
        {
            _loops.Add(Task.Run(CacheLoopAsync));
        }
    }

    private async Task SyncLoopAsync()
    {
        var delay = _options.ReconnectDelay;
        var token = _stopping.Token;
        while (!token.IsCancellationRequested)
        {
            string where = "coordinator";
            var reached = false;
            try
            {
                var client = await GetClientAsync(token).ConfigureAwait(false);
                reached = true;
                where = client.Coordinator.ToString();
                var cursor = Cursor;
                MembershipLog.Connected(_logger, client.Coordinator, Network, cursor);
                await RepublishEndpointAsync(client, token).ConfigureAwait(false);
                using var silence = CancellationTokenSource.CreateLinkedTokenSource(token);
                using var watchdog = _time.CreateTimer(s => ((CancellationTokenSource)s!).Cancel(), silence, _options.SilenceTimeout, Timeout.InfiniteTimeSpan);
                await foreach (var message in client.SubscribeAsync(Network, cursor, silence.Token).ConfigureAwait(false))
                {
                    watchdog.Change(_options.SilenceTimeout, Timeout.InfiniteTimeSpan);
                    Receive(message, client.Coordinator);
                    if (message.CaughtUp)
                    {
                        delay = _options.ReconnectDelay;
                        var member = IsMember(LocalPeer);
                        lock (_lock)
                        {
                            _status = member ? MembershipStatus.Synced : MembershipStatus.NotMember;
                        }
                        _caughtUp.TrySetResult();
                    }
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (MembershipException e) when (e.Reason is MembershipError.Revoked or MembershipError.Expired or MembershipError.Forbidden && !IsMember(LocalPeer))
            {
                // The coordinator and our own check agree: not a member. Keep the cache and ask again now and then.
                lock (_lock)
                {
                    _status = MembershipStatus.NotMember;
                }
                _caughtUp.TrySetResult();
                delay = _options.MaxReconnectDelay;
                where = e.Message;
            }
            catch (Exception e) when (e is PeerException or IOException or OperationCanceledException or FormatException or ObjectDisposedException)
            {
                where = $"{where}: {e.Message}";
            }
            await DisconnectAsync().ConfigureAwait(false);
            lock (_lock)
            {
                if (_status is MembershipStatus.Synced or MembershipStatus.Connecting)
                {
                    _status = MembershipStatus.Offline;
                }
            }
            var wait = Jitter(delay);
            MembershipLog.Disconnected(_logger, where, "subscription ended", wait);
            try
            {
                await Task.Delay(wait, _time, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.MaxReconnectDelay.Ticks));
            if (reached)
            {
                // A failed connect already moved on in GetClientAsync; moving again would bring a two-coordinator
                // client back to the dead one every time.
                Interlocked.Increment(ref _nextCoordinator);
            }
        }
    }

    private void Receive(CoordinatorMessage message, PeerId coordinator)
    {
        if (message.Type == CoordinatorMessageType.Heartbeat || message.CaughtUp)
        {
            if (message.Pending > 0)
            {
                var pending = (int)Math.Min(message.Pending, int.MaxValue);
                _events.Writer.TryWrite(() => RequestsPending?.Invoke(this, pending));
            }
        }
        if (message.Records.Count == 0)
        {
            lock (_lock)
            {
                _cursor = Math.Max(_cursor, message.Cursor);
            }
            return;
        }
        var records = new List<NetworkRecord>(message.Records.Count);
        foreach (var blob in message.Records)
        {
            try
            {
                records.Add(NetworkRecord.Decode(blob.Span));
            }
            catch (Exception e) when (e is FormatException or MembershipException)
            {
                MembershipLog.Undecodable(_logger, e.Message);
            }
        }
        Apply(records, "coordinator " + coordinator, message.Cursor);
    }

    private async Task<CoordinatorClient> GetClientAsync(CancellationToken cancellationToken)
    {
        await _connectLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_client is { } live && !live.Connection.Completion.IsCompleted)
            {
                return live;
            }
            await DisconnectCoreAsync().ConfigureAwait(false);
            if (_coordinators.Count == 0)
            {
                throw new PeerException(PeerError.Unreachable, $"No coordinator address is known for {Network}.");
            }
            var address = _coordinators[(int)((uint)Volatile.Read(ref _nextCoordinator) % (uint)_coordinators.Count)];
            _connection = await ConnectAsync(_options, address, cancellationToken).ConfigureAwait(false);
            _client = new CoordinatorClient(_connection);
            return _client;
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Any failure to reach this coordinator (a Connect delegate may throw IOException or anything else)
            // moves on to the next one; only our own cancellation does not.
            Interlocked.Increment(ref _nextCoordinator);
            throw;
        }
        finally
        {
            _connectLock.Release();
        }
    }

    private async Task DisconnectAsync()
    {
        await _connectLock.WaitAsync().ConfigureAwait(false);
        try
        {
            await DisconnectCoreAsync().ConfigureAwait(false);
        }
        finally
        {
            _connectLock.Release();
        }
    }

    private async Task DisconnectCoreAsync()
    {
        var connection = _connection;
        _connection = null;
        _client = null;
        if (connection is not null)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static async Task<PeerConnection> ConnectAsync(MembershipClientOptions options, Multiaddr address, CancellationToken cancellationToken)
    {
        var remote = PeerAddress.FromMultiaddr(address);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.OperationTimeout);
        try
        {
            if (options.Connect is { } connect)
            {
                return await connect(remote, timeout.Token).ConfigureAwait(false);
            }
            return await PeerConnection.ConnectAsync(new PeerConnectOptions
            {
                Identity = options.Identity,
                Remote = remote,
                TimeProvider = options.TimeProvider,
                LoggerFactory = options.LoggerFactory,
            }, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new PeerException(PeerError.Timeout, $"Connecting to coordinator {address} took longer than {options.OperationTimeout.TotalSeconds:0} s.");
        }
    }

    private async Task CacheLoopAsync()
    {
        var token = _stopping.Token;
        while (!token.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_options.CacheWriteInterval > TimeSpan.Zero ? _options.CacheWriteInterval : TimeSpan.FromSeconds(1), _time, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            await SaveCacheAsync(token).ConfigureAwait(false);
        }
    }

    /// <summary>Writes the cache now if anything changed since the last write.</summary>
    public async Task SaveCacheAsync(CancellationToken cancellationToken = default)
    {
        if (_cachePath is null)
        {
            return;
        }
        await _saveLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            byte[] bytes;
            lock (_lock)
            {
                if (!_cacheDirty && File.Exists(_cachePath))
                {
                    return;
                }
                bytes = NetworkCache.Encode(Network, _cursor, [.. _state.Records]);
                _cacheDirty = false;
            }
            await PrivateFile.ReplaceAsync(_cachePath, bytes, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            MembershipLog.CacheWriteFailed(_logger, _cachePath, e.Message);
            lock (_lock)
            {
                _cacheDirty = true;
            }
        }
        finally
        {
            _saveLock.Release();
        }
    }

    private static TimeSpan Jitter(TimeSpan delay) =>
        TimeSpan.FromTicks(delay.Ticks * (80 + RandomNumberGenerator.GetInt32(41)) / 100);
}
