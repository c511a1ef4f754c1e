namespace Pinhole.Messaging.MessagePack;

/// <summary>
/// Limits that a <see cref="MessagePackReader"/> enforces before it allocates anything for a value.
/// Declared lengths are also always checked against the bytes actually remaining, so a 4 GiB length
/// prefix in a 10-byte input fails at once.
/// </summary>
public sealed record MessagePackReaderOptions
{
    /// <summary>The defaults: depth 64, everything else bounded by the input's own size.</summary>
    public static MessagePackReaderOptions Default { get; } = new();

    /// <summary>Maximum nesting of arrays, maps and codecs that call <see cref="MessagePackReader.EnterNested"/>. Default 64.</summary>
    public int MaxDepth { get; init; } = 64;

    /// <summary>Maximum length in bytes of one str value. Default: unlimited (bounded by the input).</summary>
    public int MaxStringLength { get; init; } = int.MaxValue;

    /// <summary>Maximum length in bytes of one bin or ext payload. Default: unlimited (bounded by the input).</summary>
    public int MaxBinaryLength { get; init; } = int.MaxValue;

    /// <summary>Maximum element count of one array or entry count of one map. Default: unlimited (bounded by the input).</summary>
    public int MaxCollectionLength { get; init; } = int.MaxValue;

    /// <summary>Maximum size of the whole input in bytes. Default: unlimited.</summary>
    public long MaxTotalLength { get; init; } = long.MaxValue;
}
