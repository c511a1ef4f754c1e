namespace Pinhole.Messaging.MessagePack.Codecs;

internal sealed class SerializableCodec<T> : IMessageCodec<T>
    where T : IMessagePackSerializable<T>
{
    public static readonly SerializableCodec<T> Instance = new();

    public void Write(ref MessagePackWriter writer, T value) => T.Write(ref writer, value);

    public T Read(ref MessagePackReader reader) => T.Read(ref reader);
}
