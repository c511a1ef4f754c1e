using System.Numerics;

namespace Pinhole.Ocapn.Syrup;

/// <summary>A Syrup integer of any size: <c>72+</c>, <c>5-</c>; zero is <c>0+</c>.</summary>
public sealed class SyrupInteger(BigInteger value) : SyrupValue
{
    /// <summary>The integer.</summary>
    public BigInteger Value { get; } = value;

    /// <inheritdoc/>
    public override SyrupKind Kind => SyrupKind.Integer;

    /// <inheritdoc/>
    public override bool Equals(SyrupValue? other) => other is SyrupInteger i && i.Value == Value;

    /// <inheritdoc/>
    public override int GetHashCode() => Value.GetHashCode();
}
