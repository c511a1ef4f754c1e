namespace Pinhole.Connections;

/// <summary>
/// One token bucket per key (a source address or network group): how many new handshakes it may start per
/// second, with a burst. The table is bounded: when full, buckets that have refilled are dropped (they hold no
/// information); if none has, the newcomer is let through rather than tracked (the other limits still apply).
/// </summary>
internal sealed class TokenBuckets<TKey>
    where TKey : notnull
{
    private readonly TimeProvider _time;
    private readonly double _ratePerSecond;
    private readonly double _burst;
    private readonly int _maxEntries;
    private readonly Dictionary<TKey, Bucket> _buckets = [];
    private readonly Lock _lock = new();

    public TokenBuckets(TimeProvider time, double ratePerSecond, double burst, int maxEntries)
    {
        _time = time;
        _ratePerSecond = ratePerSecond;
        _burst = burst;
        _maxEntries = maxEntries;
    }

    /// <summary>Keys tracked now.</summary>
    public int Count
    {
        get { lock (_lock) { return _buckets.Count; } }
    }

    /// <summary>Takes one token for <paramref name="key"/>; false if it has none left.</summary>
    public bool TryTake(TKey key)
    {
        var now = _time.GetTimestamp();
        lock (_lock)
        {
            if (!_buckets.TryGetValue(key, out var bucket))
            {
                if (_buckets.Count >= _maxEntries && !SweepLocked(now))
                {
                    return true;
                }
                bucket = new Bucket(_burst, now);
            }
            var tokens = Math.Min(_burst, bucket.Tokens + _time.GetElapsedTime(bucket.Stamp, now).TotalSeconds * _ratePerSecond);
            var ok = tokens >= 1;
            _buckets[key] = new Bucket(ok ? tokens - 1 : tokens, now);
            return ok;
        }
    }

    private bool SweepLocked(long now)
    {
        List<TKey>? full = null;
        foreach (var (key, bucket) in _buckets)
        {
            if (bucket.Tokens + _time.GetElapsedTime(bucket.Stamp, now).TotalSeconds * _ratePerSecond >= _burst)
            {
                (full ??= []).Add(key);
            }
        }
        full?.ForEach(k => _buckets.Remove(k));
        return full is not null;
    }

    private readonly record struct Bucket(double Tokens, long Stamp);
}
