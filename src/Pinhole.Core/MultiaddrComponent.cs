namespace Pinhole;

/// <summary>One <c>/protocol/value</c> part of a <see cref="Multiaddr"/>.</summary>
public sealed class MultiaddrComponent
{
    internal MultiaddrComponent(string protocol, int code, string? value, ReadOnlyMemory<byte> rawValue, ReadOnlyMemory<byte> encoded)
    {
        Protocol = protocol;
        Code = code;
        Value = value;
        RawValue = rawValue;
        Encoded = encoded;
    }

    /// <summary>The protocol's text name, e.g. <c>tcp</c> (<c>ipfs</c> is always reported as <c>p2p</c>).</summary>
    public string Protocol { get; }

    /// <summary>The protocol's multicodec code, e.g. 6 for <c>tcp</c>.</summary>
    public int Code { get; }

    /// <summary>The value in its canonical text form, or null for protocols without a value (<c>tls</c>, <c>ws</c>, ...).</summary>
    public string? Value { get; }

    /// <summary>The value's binary form, without the code and length prefix (empty when there is no value).</summary>
    public ReadOnlyMemory<byte> RawValue { get; }

    /// <summary>The whole component in binary form: code, length prefix (if any) and value.</summary>
    public ReadOnlyMemory<byte> Encoded { get; }

    /// <summary>The component's text form, e.g. <c>/tcp/4001</c>.</summary>
    public override string ToString() => Value is null ? "/" + Protocol : "/" + Protocol + "/" + Value;
}
