using Pinhole.Membership;

namespace Pinhole.Coordinator.Internal;

/// <summary>
/// One network as a coordinator instance holds it: the verified <see cref="NetworkState"/> (to check writes and to
/// know who may subscribe), the last change sequence read from the store, and a window of recent changes that
/// subscribers are served from, so a change costs one store read per instance however many clients stream it.
/// The store is the only source: writes go to the store first and reach the state by the same re-read as changes
/// made by other instances.
/// </summary>
/// <remarks>
/// Thousands of subscribers wake at once on every change, so their reads take no lock: each refresh publishes an
/// immutable <see cref="Snapshot"/> (the window's array, how much of it is valid, the view) with one reference write.
/// </remarks>
internal sealed class NetworkFeed : IDisposable
{
    private const int WindowLimit = 8192;
    private const int ReadBatch = 1000;

    private readonly CoordinatorStore _store;
    private readonly TimeProvider _time;
    private readonly object _lock = new();
    private readonly SemaphoreSlim _refreshing = new(1, 1);
    private StoredRecord[] _window = new StoredRecord[256];
    private int _windowCount;
    private Snapshot _snapshot;
    private TaskCompletionSource _advanced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _refreshRequested;

    /// <summary>What readers see: the window is complete after <see cref="From"/>, valid up to <see cref="Count"/>.</summary>
    private sealed record Snapshot(StoredRecord[] Window, int Count, ulong From, ulong Known, NetworkView View);

    public NetworkFeed(CoordinatorStore store, GenesisRecord genesis, TimeSpan clockSkew, TimeProvider time)
    {
        _store = store;
        _time = time;
        State = new NetworkState(genesis, clockSkew);
        Network = genesis.Network;
        _snapshot = new Snapshot(_window, 0, 0, 0, State.GetView(time.GetUtcNow()));
    }

    public NetworkId Network { get; }

    /// <summary>The verified state; lock on <see cref="Sync"/> to use it.</summary>
    public NetworkState State { get; }

    public object Sync => _lock;

    /// <summary>The last sequence read from the store.</summary>
    public ulong Known => Volatile.Read(ref _snapshot).Known;

    /// <summary>Records the store returned that this instance could not use (they were checked when written; counts a bug or a tampered database).</summary>
    public long Unreadable { get; private set; }

    /// <summary>The view now: the published one while it holds, else recomputed.</summary>
    public NetworkView View()
    {
        var snapshot = Volatile.Read(ref _snapshot);
        var now = _time.GetUtcNow();
        if (snapshot.View.NextChange is not { } edge || now < edge)
        {
            return snapshot.View;
        }
        lock (_lock)
        {
            var view = State.GetView(now);
            Volatile.Write(ref _snapshot, _snapshot with { View = view });
            return view;
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
                var batch = await _store.ReadChangesAsync(Network, Known, ReadBatch, cancellationToken).ConfigureAwait(false);
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
                lock (_lock)
                {
                    var now = _time.GetUtcNow();
                    foreach (var record in NetworkState.InApplyOrder(decoded))
                    {
                        State.Apply(record, now);
                    }
                    Publish(batch, State.GetView(now));
                }
                var advanced = Interlocked.Exchange(ref _advanced, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
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

    // Under _lock. Appends past the published count (readers never look there), or copies into a new array when
    // the window must grow or drop its oldest changes; then publishes the new snapshot.
    private void Publish(IReadOnlyList<StoredRecord> batch, NetworkView view)
    {
        var from = _snapshot.From;
        if (_windowCount + batch.Count > _window.Length)
        {
            var keep = Math.Min(_windowCount, WindowLimit - Math.Min(batch.Count, WindowLimit));
            var dropped = _windowCount - keep;
            if (dropped > 0)
            {
                // Everything after the last dropped change is still in the window.
                from = _window[dropped - 1].Sequence;
            }
            var grown = new StoredRecord[Math.Min(WindowLimit, Math.Max(_window.Length * 2, keep + batch.Count))];
            Array.Copy(_window, dropped, grown, 0, keep);
            _window = grown;
            _windowCount = keep;
        }
        var skip = Math.Max(0, batch.Count - _window.Length);
        if (skip > 0)
        {
            from = batch[skip - 1].Sequence;
        }
        for (var i = skip; i < batch.Count; i++)
        {
            _window[_windowCount++] = batch[i];
        }
        Volatile.Write(ref _snapshot, new Snapshot(_window, _windowCount, from, batch[^1].Sequence, view));
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
        // Read the signal first: a refresh publishes Known before it swaps and completes the signal.
        var signal = Volatile.Read(ref _advanced);
        return Known > after ? Task.CompletedTask : signal.Task;
    }

    /// <summary>Changes after <paramref name="after"/>: from the window when it reaches back that far, else from the store.</summary>
    public async Task<IReadOnlyList<StoredRecord>> ReadAsync(ulong after, int maxBytes, int maxCount, CancellationToken cancellationToken)
    {
        var snapshot = Volatile.Read(ref _snapshot);
        if (after >= snapshot.Known)
        {
            return [];
        }
        if (after >= snapshot.From)
        {
            var result = new List<StoredRecord>();
            var bytes = 0;
            for (var i = FirstAfter(snapshot, after); i < snapshot.Count && result.Count < maxCount && (result.Count == 0 || bytes + snapshot.Window[i].Blob.Length <= maxBytes); i++)
            {
                result.Add(snapshot.Window[i]);
                bytes += snapshot.Window[i].Blob.Length;
            }
            return result;
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

    private static int FirstAfter(Snapshot snapshot, ulong after)
    {
        int lo = 0, hi = snapshot.Count;
        while (lo < hi)
        {
            var mid = (lo + hi) / 2;
            if (snapshot.Window[mid].Sequence <= after)
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
