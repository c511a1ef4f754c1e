namespace Pinhole.Ocapn.Syrup;

/// <summary>A Syrup boolean: <c>t</c> or <c>f</c>.</summary>
public sealed class SyrupBoolean : SyrupValue
{
    /// <summary>The value <c>t</c>.</summary>
    public static readonly SyrupBoolean True = new(true);

    /// <summary>The value <c>f</c>.</summary>
    public static readonly SyrupBoolean False = new(false);

    private SyrupBoolean(bool value) => Value = value;

    /// <summary>The shared instance for <paramref name="value"/>.</summary>
    public static SyrupBoolean From(bool value) => value ? True : False;

    /// <summary>The boolean.</summary>
    public bool Value { get; }

    /// <inheritdoc/>
    public override SyrupKind Kind => SyrupKind.Boolean;

    /// <inheritdoc/>
    public override bool Equals(SyrupValue? other) => other is SyrupBoolean b && b.Value == Value;

    /// <inheritdoc/>
    public override int GetHashCode() => Value ? 1 : 0;
}
