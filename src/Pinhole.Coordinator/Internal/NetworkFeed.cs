using Pinhole.Membership;

namespace Pinhole.Coordinator.Internal;

/// <summary>
/// One network as a coordinator instance holds it: the verified <see cref="NetworkState"/> (to check writes and to
/// know who may subscribe), the last change sequence read from the store, and a window of recent changes that
/// subscribers are served from, so a change costs one store read per instance however many clients stream it.
/// The store is the only source: writes go to the store first and reach the state by the same re-read as changes
/// made by other instances.
/// </summary>
internal sealed class NetworkFeed : IDisposable
{
    private const int WindowLimit = 8192;
    private const int ReadBatch = 1000;

    private readonly CoordinatorStore _store;
    private readonly TimeProvider _time;
    private readonly object _lock = new();
    private readonly SemaphoreSlim _refreshing = new(1, 1);
    private readonly List<StoredRecord> _window = [];
    private TaskCompletionSource _advanced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private ulong _known;
    private ulong _windowFrom;
    private int _refreshRequested;

    public NetworkFeed(CoordinatorStore store, GenesisRecord genesis, TimeSpan clockSkew, TimeProvider time)
    {
        _store = store;
        _time = time;
        State = new NetworkState(genesis, clockSkew);
        Network = genesis.Network;
    }

    public NetworkId Network { get; }

    /// <summary>The verified state; lock on <see cref="Sync"/> to use it.</summary>
    public NetworkState State { get; }

    public object Sync => _lock;

    /// <summary>The last sequence read from the store.</summary>
    public ulong Known
    {
        get
        {
            lock (_lock)
            {
                return _known;
            }
        }
    }

    /// <summary>Records the store returned that this instance could not use (they were checked when written; counts a bug or a tampered database).</summary>
    public long Unreadable { get; private set; }

    public NetworkView View()
    {
        lock (_lock)
        {
            return State.GetView(_time.GetUtcNow());
        }
    }

    public ApplyResult Check(NetworkRecord record)
    {
        lock (_lock)
        {
            return State.Check(record, _time.GetUtcNow());
        }
    }

    /// <summary>Reads every change after <see cref="Known"/> from the store, applies it, and wakes waiting subscribers.</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        await _refreshing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            Interlocked.Exchange(ref _refreshRequested, 0);
            while (true)
            {
                var after = Known;
                var batch = await _store.ReadChangesAsync(Network, after, ReadBatch, cancellationToken).ConfigureAwait(false);
                if (batch.Count == 0)
                {
                    return;
                }
                var decoded = new List<NetworkRecord>(batch.Count);
                foreach (var change in batch)
                {
                    try
                    {
                        decoded.Add(NetworkRecord.Decode(change.Blob));
                    }
                    catch (Exception e) when (e is FormatException or MembershipException)
                    {
                        Unreadable++;
                    }
                }
                TaskCompletionSource advanced;
                lock (_lock)
                {
                    var now = _time.GetUtcNow();
                    foreach (var record in NetworkState.InApplyOrder(decoded))
                    {
                        State.Apply(record, now);
                    }
                    _window.AddRange(batch);
                    if (_window.Count > WindowLimit)
                    {
                        // Everything after the last dropped change is still in the window.
                        var drop = _window.Count - WindowLimit;
                        _windowFrom = _window[drop - 1].Sequence;
                        _window.RemoveRange(0, drop);
                    }
                    _known = batch[^1].Sequence;
                    advanced = _advanced;
                    _advanced = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                }
                advanced.TrySetResult();
                if (batch.Count < ReadBatch)
                {
                    return;
                }
            }
        }
        finally
        {
            _refreshing.Release();
        }
    }

    /// <summary>Refreshes until <see cref="Known"/> reaches <paramref name="sequence"/> (a write this instance just made).</summary>
    public async Task CatchUpAsync(ulong sequence, CancellationToken cancellationToken)
    {
        while (Known < sequence)
        {
            await RefreshAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Starts a refresh in the background unless one is already pending (notifications are coalesced).</summary>
    public void RequestRefresh(Action<Exception> onError)
    {
        if (Interlocked.Exchange(ref _refreshRequested, 1) == 1)
        {
            return;
        }
        _ = Task.Run(async () =>
        {
            try
            {
                await RefreshAsync(CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                Interlocked.Exchange(ref _refreshRequested, 0);
                onError(e);
            }
        });
    }

    /// <summary>Completes once a change after <paramref name="after"/> is known.</summary>
    public Task WaitAsync(ulong after)
    {
        lock (_lock)
        {
            return _known > after ? Task.CompletedTask : _advanced.Task;
        }
    }

    /// <summary>Changes after <paramref name="after"/>: from the window when it reaches back that far, else from the store.</summary>
    public async Task<IReadOnlyList<StoredRecord>> ReadAsync(ulong after, int maxBytes, int maxCount, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (after >= _windowFrom)
            {
                var start = FirstAfter(after);
                var result = new List<StoredRecord>();
                var bytes = 0;
                for (var i = start; i < _window.Count && result.Count < maxCount && (result.Count == 0 || bytes + _window[i].Blob.Length <= maxBytes); i++)
                {
                    result.Add(_window[i]);
                    bytes += _window[i].Blob.Length;
                }
                return result;
            }
        }
        var fromStore = await _store.ReadChangesAsync(Network, after, maxCount, cancellationToken).ConfigureAwait(false);
        var trimmed = new List<StoredRecord>();
        var total = 0;
        foreach (var change in fromStore)
        {
            if (trimmed.Count > 0 && total + change.Blob.Length > maxBytes)
            {
                break;
            }
            trimmed.Add(change);
            total += change.Blob.Length;
        }
        return trimmed;
    }

    public void Dispose() => _refreshing.Dispose();

    private int FirstAfter(ulong after)
    {
        int lo = 0, hi = _window.Count;
        while (lo < hi)
        {
            var mid = (lo + hi) / 2;
            if (_window[mid].Sequence <= after)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }
        return lo;
    }
}
