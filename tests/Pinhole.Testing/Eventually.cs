namespace Pinhole.Testing;

/// <summary>
/// Waits for state that another thread or process changes (a counter, a connection count) by polling it.
/// The bound is a hang guard, not a timing assertion: it is generous, and a test must never depend on
/// something happening within it for a pass, only for not hanging.
/// </summary>
public static class Eventually
{
    /// <summary>The default bound (a hang guard on a loaded 2-core machine).</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Polls <paramref name="condition"/> until it holds; throws <see cref="TimeoutException"/> naming <paramref name="what"/> otherwise.</summary>
    public static async Task TrueAsync(Func<bool> condition, string what, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var limit = timeout ?? DefaultTimeout;
        var deadline = DateTime.UtcNow + limit;
        var pause = TimeSpan.FromMilliseconds(1);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Still waiting after {limit.TotalSeconds:0.#} s for: {what}.");
            }
            await Task.Delay(pause, cancellationToken).ConfigureAwait(false);
            // Start fast for state that changes within microseconds; back off to spare a busy machine.
            pause = TimeSpan.FromMilliseconds(Math.Min(pause.TotalMilliseconds * 2, 20));
        }
    }
}
