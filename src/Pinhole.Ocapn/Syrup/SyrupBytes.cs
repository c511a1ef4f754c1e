namespace Pinhole.Ocapn.Syrup;

/// <summary>A Syrup byte string: <c>3:cat</c>.</summary>
public sealed class SyrupBytes : SyrupValue
{
    private readonly byte[] _value;

    /// <summary>Creates a byte string holding a copy of <paramref name="value"/>.</summary>
    public SyrupBytes(ReadOnlySpan<byte> value) => _value = value.ToArray();

    private SyrupBytes(byte[] owned, bool _) => _value = owned;

    /// <summary>Wraps an array the caller will not change again (decoder use).</summary>
    internal static SyrupBytes Own(byte[] owned) => new(owned, true);

    /// <summary>The octets.</summary>
    public ReadOnlyMemory<byte> Value => _value;

    /// <summary>The octets as a span.</summary>
    public ReadOnlySpan<byte> Span => _value;

    /// <inheritdoc/>
    public override SyrupKind Kind => SyrupKind.ByteString;

    /// <inheritdoc/>
    public override bool Equals(SyrupValue? other) => other is SyrupBytes b && b._value.AsSpan().SequenceEqual(_value);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.AddBytes(_value);
        return hash.ToHashCode();
    }
}
