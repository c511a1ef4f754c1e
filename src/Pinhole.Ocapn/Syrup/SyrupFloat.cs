namespace Pinhole.Ocapn.Syrup;

/// <summary>A Syrup single-precision float: <c>F</c> + 4 octets, big-endian. Equality compares bits.</summary>
public sealed class SyrupFloat(float value) : SyrupValue
{
    /// <summary>The float.</summary>
    public float Value { get; } = value;

    /// <inheritdoc/>
    public override SyrupKind Kind => SyrupKind.Float;

    /// <inheritdoc/>
    public override bool Equals(SyrupValue? other) =>
        other is SyrupFloat f && BitConverter.SingleToInt32Bits(f.Value) == BitConverter.SingleToInt32Bits(Value);

    /// <inheritdoc/>
    public override int GetHashCode() => BitConverter.SingleToInt32Bits(Value);
}
