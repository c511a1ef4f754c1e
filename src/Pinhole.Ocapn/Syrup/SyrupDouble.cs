namespace Pinhole.Ocapn.Syrup;

/// <summary>A Syrup double: <c>D</c> + 8 octets, big-endian. Equality compares bits.</summary>
public sealed class SyrupDouble(double value) : SyrupValue
{
    /// <summary>The double.</summary>
    public double Value { get; } = value;

    /// <inheritdoc/>
    public override SyrupKind Kind => SyrupKind.Double;

    /// <inheritdoc/>
    public override bool Equals(SyrupValue? other) =>
        other is SyrupDouble d && BitConverter.DoubleToInt64Bits(d.Value) == BitConverter.DoubleToInt64Bits(Value);

    /// <inheritdoc/>
    public override int GetHashCode() => BitConverter.DoubleToInt64Bits(Value).GetHashCode();
}
