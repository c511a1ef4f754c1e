namespace Pinhole.Messaging.MessagePack.Codecs;

/// <summary>nil for null, the inner codec otherwise (reference types).</summary>
internal sealed class NullableCodec<T>(IMessageCodec<T> inner) : IMessageCodec<T?>
    where T : class
{
    public void Write(ref MessagePackWriter writer, T? value)
    {
        if (value is null)
        {
            writer.WriteNil();
        }
        else
        {
            inner.Write(ref writer, value);
        }
    }

    public T? Read(ref MessagePackReader reader) => reader.TryReadNil() ? null : inner.Read(ref reader);
}
