namespace Pinhole.Ocapn.Syrup;

/// <summary>A Syrup string: <c>6"björn</c> (length in UTF-8 octets).</summary>
public sealed class SyrupString : SyrupValue
{
    /// <summary>Creates a string; it must be well-formed UTF-16 (no lone surrogates) so that it has a UTF-8 form.</summary>
    /// <exception cref="ArgumentException">The string has a lone surrogate.</exception>
    public SyrupString(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        SyrupText.EnsureWellFormed(value, nameof(value));
        Value = value;
    }

    private SyrupString(string value, bool _) => Value = value;

    /// <summary>Wraps a string decoded from valid UTF-8 (decoder use).</summary>
    internal static SyrupString Trusted(string value) => new(value, true);

    /// <summary>The text.</summary>
    public string Value { get; }

    /// <inheritdoc/>
    public override SyrupKind Kind => SyrupKind.String;

    /// <inheritdoc/>
    public override bool Equals(SyrupValue? other) => other is SyrupString s && string.Equals(s.Value, Value, StringComparison.Ordinal);

    /// <inheritdoc/>
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Value);
}
