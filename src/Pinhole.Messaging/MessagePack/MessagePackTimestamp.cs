namespace Pinhole.Messaging.MessagePack;

/// <summary>
/// A point in time as the MessagePack timestamp extension (type -1) holds it: signed seconds since
/// 1970-01-01T00:00:00Z and nanoseconds within the second (0..999 999 999). Its range is wider than
/// <see cref="DateTimeOffset"/>'s; conversions check it.
/// </summary>
public readonly record struct MessagePackTimestamp
{
    /// <summary>The extension type number of timestamps.</summary>
    public const sbyte ExtensionType = -1;

    /// <summary>Creates a timestamp; <paramref name="nanoseconds"/> must be below 10^9.</summary>
    public MessagePackTimestamp(long seconds, uint nanoseconds)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(nanoseconds, 999_999_999u);
        Seconds = seconds;
        Nanoseconds = nanoseconds;
    }

    /// <summary>Seconds since the Unix epoch (negative before 1970).</summary>
    public long Seconds { get; }

    /// <summary>Nanoseconds within the second, 0..999 999 999.</summary>
    public uint Nanoseconds { get; }

    /// <summary>Converts from a <see cref="DateTimeOffset"/> (exact: ticks are 100 ns).</summary>
    public static MessagePackTimestamp FromDateTimeOffset(DateTimeOffset value)
    {
        long ticks = value.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;
        long seconds = Math.DivRem(ticks, TimeSpan.TicksPerSecond, out long rem);
        if (rem < 0)
        {
            seconds--;
            rem += TimeSpan.TicksPerSecond;
        }
        return new MessagePackTimestamp(seconds, (uint)(rem * 100));
    }

    /// <summary>Converts to a <see cref="DateTimeOffset"/> in UTC, truncating to 100 ns.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The timestamp is outside years 1..9999.</exception>
    public DateTimeOffset ToDateTimeOffset()
    {
        const long MinSeconds = -62_135_596_800; // 0001-01-01
        const long MaxSeconds = 253_402_300_799; // 9999-12-31T23:59:59
        if (Seconds < MinSeconds || Seconds > MaxSeconds)
        {
            throw new ArgumentOutOfRangeException(nameof(Seconds), Seconds, "The timestamp is outside the range of DateTimeOffset.");
        }
        return DateTimeOffset.UnixEpoch.AddTicks((Seconds * TimeSpan.TicksPerSecond) + (Nanoseconds / 100));
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Seconds}.{Nanoseconds:D9}";
}
