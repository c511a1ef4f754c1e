namespace Pinhole.Messaging.MessagePack;

/// <summary>
/// Implemented by a type that knows its own MessagePack form; <see cref="MessageCodec.Of{T}"/> turns it
/// into a codec. Static abstract members, so there is no reflection and no boxing.
/// </summary>
/// <example>
/// <code>
/// public sealed record ChatLine(string From, string Text) : IMessagePackSerializable&lt;ChatLine&gt;
/// {
///     public static void Write(ref MessagePackWriter w, ChatLine v) { w.WriteArrayHeader(2); w.Write(v.From); w.Write(v.Text); }
///     public static ChatLine Read(ref MessagePackReader r) { r.ReadArrayHeader(2); return new(r.ReadString()!, r.ReadString()!); }
/// }
/// </code>
/// </example>
/// <typeparam name="TSelf">The implementing type.</typeparam>
public interface IMessagePackSerializable<TSelf>
{
    /// <summary>Writes exactly one MessagePack value for <paramref name="value"/>.</summary>
    static abstract void Write(ref MessagePackWriter writer, TSelf value);

    /// <summary>Reads exactly one MessagePack value.</summary>
    static abstract TSelf Read(ref MessagePackReader reader);
}
