using Microsoft.Extensions.Time.Testing;

namespace Pinhole.Testing;

/// <summary>Clocks for tests: <see cref="FakeTimeProvider"/> (Microsoft.Extensions.TimeProvider.Testing) moves only when advanced.</summary>
public static class Clocks
{
    /// <summary>A fake clock starting now (wall time), so certificate validity checks see a realistic date.</summary>
    public static FakeTimeProvider StartingNow() => new(DateTimeOffset.UtcNow);
}
