namespace Pinhole.Ocapn.Syrup;

/// <summary>
/// Limits applied while decoding untrusted Syrup. Every limit is checked before the memory it guards is
/// allocated; breaking one throws <see cref="SyrupFormatException"/> with <see cref="SyrupFormatException.LimitExceeded"/> set.
/// </summary>
public sealed class SyrupReaderOptions
{
    /// <summary>The defaults below, shared.</summary>
    public static SyrupReaderOptions Default { get; } = new();

    /// <summary>Deepest container nesting (lists, dictionaries, sets, records). Default 128; at most <see cref="SyrupValue.MaxNesting"/>.</summary>
    public int MaxDepth { get; init; } = 128;

    /// <summary>Longest byte string, string or symbol payload in bytes. Default 16 MiB.</summary>
    public int MaxLength { get; init; } = 16 * 1024 * 1024;

    /// <summary>Largest encoded size of one top-level value in bytes. Default 16 MiB.</summary>
    public int MaxTotalBytes { get; init; } = 16 * 1024 * 1024;

    /// <summary>Most values (scalars and containers) in one top-level value. Default 1,000,000.</summary>
    public int MaxValues { get; init; } = 1_000_000;

    /// <summary>Most decimal digits in an integer. Default 1,024 (about 3,400 bits).</summary>
    public int MaxIntegerDigits { get; init; } = 1024;

    internal void Validate()
    {
        if (MaxDepth < 1 || MaxDepth > SyrupValue.MaxNesting)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxDepth), MaxDepth, $"MaxDepth must be between 1 and {SyrupValue.MaxNesting}.");
        }
        if (MaxLength < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxLength), MaxLength, "MaxLength must not be negative.");
        }
        if (MaxTotalBytes < 1 || MaxTotalBytes > Array.MaxLength)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxTotalBytes), MaxTotalBytes, "MaxTotalBytes must be positive.");
        }
        if (MaxValues < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxValues), MaxValues, "MaxValues must be positive.");
        }
        if (MaxIntegerDigits < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxIntegerDigits), MaxIntegerDigits, "MaxIntegerDigits must be positive.");
        }
    }
}
