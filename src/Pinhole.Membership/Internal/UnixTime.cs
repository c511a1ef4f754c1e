namespace Pinhole.Membership.Internal;

/// <summary>Record times: whole seconds since the Unix epoch, at most the end of year 9999.</summary>
internal static class UnixTime
{
    /// <summary>The largest time a record may carry (9999-12-31T23:59:59Z).</summary>
    public const ulong Max = 253_402_300_799;

    public static ulong From(DateTimeOffset time)
    {
        var seconds = time.ToUnixTimeSeconds();
        return seconds < 0 ? throw new ArgumentOutOfRangeException(nameof(time), time, "Record times cannot be before 1970.") : (ulong)seconds;
    }

    public static DateTimeOffset To(ulong seconds) => DateTimeOffset.FromUnixTimeSeconds((long)Math.Min(seconds, Max));

    /// <summary>Reads a time field, rejecting values no clock will reach.</summary>
    public static ulong Check(ulong value, string record, string field) => value <= Max
        ? value
        : throw new FormatException($"{record}: {field} {value} is beyond year 9999.");
}
