using System.Collections.Concurrent;
using Microsoft.Extensions.Time.Testing;

namespace Pinhole.Reliability.Tests.Support;

/// <summary>
/// A <see cref="FakeTimeProvider"/> that also records every timer created on it, so a test can wait until the
/// code under test has armed its deadline before moving the clock: advancing first would let a timer created a
/// moment later start counting from the advanced time, and the test would wait forever (or fail) by timing.
/// </summary>
public sealed class WatchedClock : TimeProvider
{
    private readonly ConcurrentQueue<TimeSpan> _armed = new();

    public FakeTimeProvider Fake { get; } = Pinhole.Testing.Clocks.StartingNow();

    /// <summary>Due times of every timer created so far.</summary>
    public IReadOnlyCollection<TimeSpan> Armed => _armed;

    public void Advance(TimeSpan delta) => Fake.Advance(delta);

    /// <summary>How many timers with <paramref name="dueTime"/> were created so far.</summary>
    public int CountArmed(TimeSpan dueTime) => _armed.Count(d => d == dueTime);

    /// <summary>
    /// Waits (a hang guard, not a timing assumption) until more than <paramref name="existing"/> timers with
    /// <paramref name="dueTime"/> were created.
    /// </summary>
    public Task WaitForTimerAsync(TimeSpan dueTime, int existing = 0) =>
        Dialer.WaitUntilAsync(() => CountArmed(dueTime) > existing);

    public override DateTimeOffset GetUtcNow() => Fake.GetUtcNow();

    public override long GetTimestamp() => Fake.GetTimestamp();

    public override long TimestampFrequency => Fake.TimestampFrequency;

    public override TimeZoneInfo LocalTimeZone => Fake.LocalTimeZone;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = Fake.CreateTimer(callback, state, dueTime, period);
        _armed.Enqueue(dueTime);
        return timer;
    }
}
