namespace Pinhole.Connections;

/// <summary>
/// Rate-limits a log line that an attacker can trigger at will (refusals, bad input): the first event is
/// logged, then at most one per <c>interval</c>, carrying how many were suppressed since the last one.
/// Metrics count every event; the log only shows that it is happening.
/// </summary>
internal sealed class LogThrottle
{
    private readonly TimeProvider _time;
    private readonly TimeSpan _interval;
    private readonly Lock _lock = new();
    private long _lastLogged;
    private bool _any;
    private long _suppressed;

    public LogThrottle(TimeProvider time, TimeSpan interval)
    {
        _time = time;
        _interval = interval;
    }

    /// <summary>The default: one line per kind of event per 10 s.</summary>
    public static TimeSpan DefaultInterval { get; } = TimeSpan.FromSeconds(10);

    /// <summary>True if this event should be logged; <paramref name="suppressed"/> is how many were not since the last one.</summary>
    public bool ShouldLog(out long suppressed)
    {
        var now = _time.GetTimestamp();
        lock (_lock)
        {
            if (_any && _time.GetElapsedTime(_lastLogged, now) < _interval)
            {
                _suppressed++;
                suppressed = 0;
                return false;
            }
            _any = true;
            _lastLogged = now;
            suppressed = _suppressed;
            _suppressed = 0;
            return true;
        }
    }
}
