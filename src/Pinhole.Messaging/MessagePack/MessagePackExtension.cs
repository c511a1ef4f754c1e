namespace Pinhole.Messaging.MessagePack;

/// <summary>An extension value (fixext or ext) with an application-defined type number, as an object.</summary>
/// <param name="Type">The extension type: 0..127 application-defined, -128..-1 reserved by the spec (-1 = timestamp).</param>
/// <param name="Data">The payload bytes.</param>
public sealed record MessagePackExtension(sbyte Type, ReadOnlyMemory<byte> Data)
{
    /// <inheritdoc/>
    public bool Equals(MessagePackExtension? other) =>
        other is not null && Type == other.Type && Data.Span.SequenceEqual(other.Data.Span);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Type);
        hash.AddBytes(Data.Span);
        return hash.ToHashCode();
    }
}
