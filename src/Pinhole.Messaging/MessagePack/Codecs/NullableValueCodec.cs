namespace Pinhole.Messaging.MessagePack.Codecs;

/// <summary>nil for null, the inner codec otherwise (value types).</summary>
internal sealed class NullableValueCodec<T>(IMessageCodec<T> inner) : IMessageCodec<T?>
    where T : struct
{
    public void Write(ref MessagePackWriter writer, T? value)
    {
        if (value is { } v)
        {
            inner.Write(ref writer, v);
        }
        else
        {
            writer.WriteNil();
        }
    }

    public T? Read(ref MessagePackReader reader) => reader.TryReadNil() ? null : inner.Read(ref reader);
}
