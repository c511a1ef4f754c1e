namespace Pinhole.Core.Tests.Support;

/// <summary>A TimeProvider whose clock only moves when the test says so (timers are not supported).</summary>
public sealed class ManualTimeProvider(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}
