using System.Net;

namespace Pinhole.Dtls.Internal;

/// <summary>
/// Token bucket per source IP address for handshakes whose cookie verified (so the address is real).
/// The table is bounded: when full, buckets that have refilled are dropped; if none have, the new address
/// is refused (a full table means a flood, and refusing is the safe answer).
/// </summary>
internal sealed class HandshakeRateLimiter
{
    private readonly TimeProvider _time;
    private readonly double _ratePerSecond;
    private readonly double _burst;
    private readonly int _maxEntries;
    private readonly Dictionary<IPAddress, Bucket> _buckets = [];
    private readonly Lock _lock = new();

    internal HandshakeRateLimiter(TimeProvider time, double ratePerSecond, int burst, int maxEntries)
    {
        _time = time;
        _ratePerSecond = ratePerSecond;
        _burst = burst;
        _maxEntries = maxEntries;
    }

    /// <summary>Entries currently tracked (for tests).</summary>
    internal int Count
    {
        get
        {
            lock (_lock)
            {
                return _buckets.Count;
            }
        }
    }

    /// <summary>Takes one token for <paramref name="source"/>'s address; false if it has none left.</summary>
    internal bool TryAcquire(EndPoint source)
    {
        IPAddress key = source is IPEndPoint ip ? ip.Address : IPAddress.None;
        long now = _time.GetTimestamp();
        lock (_lock)
        {
            if (!_buckets.TryGetValue(key, out Bucket bucket))
            {
                if (_buckets.Count >= _maxEntries && !Sweep(now))
                {
                    return false;
                }
                bucket = new Bucket(_burst, now);
            }
            double tokens = Math.Min(_burst, bucket.Tokens + _time.GetElapsedTime(bucket.Stamp, now).TotalSeconds * _ratePerSecond);
            bool ok = tokens >= 1;
            _buckets[key] = new Bucket(ok ? tokens - 1 : tokens, now);
            return ok;
        }
    }

    private bool Sweep(long now)
    {
        List<IPAddress>? full = null;
        foreach (KeyValuePair<IPAddress, Bucket> entry in _buckets)
        {
            if (entry.Value.Tokens + _time.GetElapsedTime(entry.Value.Stamp, now).TotalSeconds * _ratePerSecond >= _burst)
            {
                (full ??= []).Add(entry.Key);
            }
        }
        if (full is null)
        {
            return false;
        }
        foreach (IPAddress address in full)
        {
            _buckets.Remove(address);
        }
        return true;
    }

    private readonly record struct Bucket(double Tokens, long Stamp);
}
