namespace Pinhole.Vpn.DataPlane;

/// <summary>
/// Quiescent-state reclamation for objects the data-path threads use without locks (keypairs, whose
/// native cipher contexts must not be freed under a thread that is sealing with them). A data thread marks
/// each batch with <see cref="Enter"/>/<see cref="Exit"/>; an object retired after it was unlinked is
/// disposed once every thread has been idle or started a batch after the retirement.
/// </summary>
internal sealed class Reclaimer
{
    private readonly long[] _active;
    private readonly List<(IDisposable Item, long Generation)> _retired = [];
    private readonly Lock _lock = new();
    private long _generation = 1;

    internal Reclaimer(int threads) => _active = new long[threads];

    /// <summary>Thread <paramref name="slot"/> starts a batch (it may now read shared objects).</summary>
    internal void Enter(int slot) => Interlocked.Exchange(ref _active[slot], Interlocked.Read(ref _generation));

    /// <summary>Thread <paramref name="slot"/> holds no shared object any more (between batches, or blocked).</summary>
    internal void Exit(int slot) => Interlocked.Exchange(ref _active[slot], 0);

    /// <summary>Disposes <paramref name="item"/> (already unlinked from every shared structure) once no batch can hold it.</summary>
    internal void Retire(IDisposable item)
    {
        long generation = Interlocked.Increment(ref _generation);
        lock (_lock)
        {
            _retired.Add((item, generation));
        }
        Collect();
    }

    /// <summary>Disposes what can be disposed now.</summary>
    internal void Collect()
    {
        List<IDisposable>? ready = null;
        lock (_lock)
        {
            for (int i = _retired.Count - 1; i >= 0; i--)
            {
                if (Quiescent(_retired[i].Generation))
                {
                    (ready ??= []).Add(_retired[i].Item);
                    _retired.RemoveAt(i);
                }
            }
        }
        ready?.ForEach(item => item.Dispose());
    }

    /// <summary>Disposes everything retired (the data threads have stopped).</summary>
    internal void DisposeAll()
    {
        List<(IDisposable Item, long Generation)> all;
        lock (_lock)
        {
            all = [.. _retired];
            _retired.Clear();
        }
        all.ForEach(r => r.Item.Dispose());
    }

    internal int Pending
    {
        get
        {
            lock (_lock)
            {
                return _retired.Count;
            }
        }
    }

    private bool Quiescent(long generation)
    {
        foreach (ref long active in _active.AsSpan())
        {
            long a = Interlocked.Read(ref active);
            if (a != 0 && a < generation)
            {
                return false;
            }
        }
        return true;
    }
}
