namespace Pinhole.Node;

/// <summary>
/// Delays between redials of a keep-connected peer: exponential from the initial delay, capped, with
/// "equal jitter" (half the step fixed, half random) so that many nodes that lost the same peer do not
/// redial in lockstep. Every delay lies in [initial/2, max].
/// </summary>
internal static class ReconnectBackoff
{
    public static TimeSpan Delay(int failures, TimeSpan initial, TimeSpan max, Random random)
    {
        var exponent = Math.Clamp(failures, 0, 30);
        var step = Math.Min(max.Ticks, initial.Ticks * (double)(1L << exponent));
        var half = step / 2;
        return TimeSpan.FromTicks((long)(half + (random.NextDouble() * half)));
    }
}
