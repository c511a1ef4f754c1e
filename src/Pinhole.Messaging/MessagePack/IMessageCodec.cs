namespace Pinhole.Messaging.MessagePack;

/// <summary>
/// Converts values of <typeparamref name="T"/> to and from MessagePack. Codecs are plain objects built
/// without reflection (AOT-friendly); <see cref="MessageCodec"/> has them for common types and combinators
/// for arrays, lists, dictionaries and records.
/// </summary>
/// <typeparam name="T">The type of values.</typeparam>
public interface IMessageCodec<T>
{
    /// <summary>Writes exactly one MessagePack value for <paramref name="value"/>.</summary>
    void Write(ref MessagePackWriter writer, T value);

    /// <summary>Reads exactly one MessagePack value.</summary>
    /// <exception cref="MessagePackException">The value is malformed or not what this codec expects.</exception>
    T Read(ref MessagePackReader reader);
}
