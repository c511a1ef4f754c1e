namespace Pinhole.Ocapn.Syrup;

/// <summary>A Syrup symbol: <c>5'fetch</c> (length in UTF-8 octets).</summary>
public sealed class SyrupSymbol : SyrupValue
{
    /// <summary>Creates a symbol; it must be well-formed UTF-16 (no lone surrogates).</summary>
    /// <exception cref="ArgumentException">The name has a lone surrogate.</exception>
    public SyrupSymbol(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        SyrupText.EnsureWellFormed(name, nameof(name));
        Name = name;
    }

    private SyrupSymbol(string name, bool _) => Name = name;

    /// <summary>Wraps a name decoded from valid UTF-8 (decoder use).</summary>
    internal static SyrupSymbol Trusted(string name) => new(name, true);

    /// <summary>The symbol's name.</summary>
    public string Name { get; }

    /// <inheritdoc/>
    public override SyrupKind Kind => SyrupKind.Symbol;

    /// <inheritdoc/>
    public override bool Equals(SyrupValue? other) => other is SyrupSymbol s && string.Equals(s.Name, Name, StringComparison.Ordinal);

    /// <inheritdoc/>
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Name) ^ 0x5EED;
}
