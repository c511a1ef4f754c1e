namespace Pinhole.Node.Tests;

/// <summary>
/// Real time for everything except timers of a minute or more (a lease's half-life renewal, the retry delay), which are
/// held until the test fires them: sub-second retransmissions to a real gateway keep running on real time.
/// </summary>
internal sealed class HeldTimers : TimeProvider
{
    private readonly Lock _lock = new();
    private readonly List<Held> _pending = [];

    /// <summary>The due time of the last held timer.</summary>
    public TimeSpan LastHeldDelay { get; private set; }

    /// <summary>Held timers not yet fired or disposed.</summary>
    public int PendingHeld
    {
        get
        {
            lock (_lock)
            {
                return _pending.Count;
            }
        }
    }

    /// <summary>Fires every held timer once (they are one-shot) and forgets them.</summary>
    public void FireHeld()
    {
        List<Held> due;
        lock (_lock)
        {
            due = [.. _pending];
            _pending.Clear();
        }
        foreach (var timer in due)
        {
            timer.Callback(timer.State);
        }
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        if (dueTime < TimeSpan.FromMinutes(1))
        {
            return System.CreateTimer(callback, state, dueTime, period);
        }
        var held = new Held(this, callback, state);
        lock (_lock)
        {
            LastHeldDelay = dueTime;
            _pending.Add(held);
        }
        return held;
    }

    private sealed class Held(HeldTimers owner, TimerCallback callback, object? state) : ITimer
    {
        public TimerCallback Callback { get; } = callback;

        public object? State { get; } = state;

        public bool Change(TimeSpan dueTime, TimeSpan period) => true;

        public void Dispose()
        {
            lock (owner._lock)
            {
                owner._pending.Remove(this);
            }
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
