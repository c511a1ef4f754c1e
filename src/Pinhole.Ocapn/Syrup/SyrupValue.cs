using System.Numerics;

namespace Pinhole.Ocapn.Syrup;

/// <summary>
/// An immutable Syrup value (the Preserves data model). Equality is structural; floats compare by bits so
/// that every decoded value equals itself. Containers are limited to <see cref="MaxNesting"/> levels so that
/// encoding, hashing and comparing never overflow the stack.
/// </summary>
public abstract class SyrupValue : IEquatable<SyrupValue>
{
    /// <summary>The deepest nesting a value may have (a scalar has depth 0).</summary>
    public const int MaxNesting = 1024;

    private protected SyrupValue() { }

    /// <summary>Which kind of value this is.</summary>
    public abstract SyrupKind Kind { get; }

    /// <summary>Nesting depth: 0 for scalars, 1 + the deepest child for containers.</summary>
    internal virtual int Depth => 0;

    /// <summary>Structural equality.</summary>
    public abstract bool Equals(SyrupValue? other);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as SyrupValue);

    /// <inheritdoc/>
    public abstract override int GetHashCode();

    /// <summary>The canonical Syrup encoding of this value.</summary>
    public byte[] Encode() => SyrupWriter.Encode(this);

    /// <summary>A readable, Preserves-like text form for logs and tests (not a wire format).</summary>
    public override string ToString() => SyrupText.Format(this);

    /// <summary>Creates a boolean.</summary>
    public static implicit operator SyrupValue(bool value) => SyrupBoolean.From(value);

    /// <summary>Creates an integer.</summary>
    public static implicit operator SyrupValue(long value) => new SyrupInteger(value);

    /// <summary>Creates an integer.</summary>
    public static implicit operator SyrupValue(BigInteger value) => new SyrupInteger(value);

    /// <summary>Creates a double.</summary>
    public static implicit operator SyrupValue(double value) => new SyrupDouble(value);

    /// <summary>Creates a string.</summary>
    public static implicit operator SyrupValue(string value) => new SyrupString(value);

    /// <summary>Creates a byte string (copied).</summary>
    public static implicit operator SyrupValue(byte[] value) => new SyrupBytes(value);

    /// <summary>Named alternative to the implicit conversion from <see cref="bool"/>.</summary>
    public static SyrupValue FromBoolean(bool value) => SyrupBoolean.From(value);

    /// <summary>Named alternative to the implicit conversion from <see cref="long"/>.</summary>
    public static SyrupValue FromInt64(long value) => new SyrupInteger(value);

    /// <summary>Named alternative to the implicit conversion from <see cref="BigInteger"/>.</summary>
    public static SyrupValue FromBigInteger(BigInteger value) => new SyrupInteger(value);

    /// <summary>Named alternative to the implicit conversion from <see cref="double"/>.</summary>
    public static SyrupValue FromDouble(double value) => new SyrupDouble(value);

    /// <summary>Named alternative to the implicit conversion from <see cref="string"/>.</summary>
    public static SyrupValue FromString(string value) => new SyrupString(value);

    /// <summary>Named alternative to the implicit conversion from a byte array.</summary>
    public static SyrupValue FromByteArray(byte[] value) => new SyrupBytes(value);

    internal static int DepthOf(ReadOnlySpan<SyrupValue> children, int max = 0)
    {
        foreach (var child in children)
        {
            ArgumentNullException.ThrowIfNull(child);
            if (child.Depth > max)
            {
                max = child.Depth;
            }
        }
        return CheckDepth(max + 1);
    }

    internal static int DepthOf(ReadOnlySpan<KeyValuePair<SyrupValue, SyrupValue>> entries)
    {
        var max = 0;
        foreach (var (key, value) in entries)
        {
            ArgumentNullException.ThrowIfNull(key);
            ArgumentNullException.ThrowIfNull(value);
            max = Math.Max(max, Math.Max(key.Depth, value.Depth));
        }
        return CheckDepth(max + 1);
    }

    private static int CheckDepth(int depth) => depth <= MaxNesting
        ? depth
        : throw new ArgumentException($"Syrup values may nest at most {MaxNesting} levels.");
}
