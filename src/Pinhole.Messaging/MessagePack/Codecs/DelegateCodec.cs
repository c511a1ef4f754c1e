namespace Pinhole.Messaging.MessagePack.Codecs;

internal sealed class DelegateCodec<T>(MessageWriteAction<T> write, MessageReadFunc<T> read) : IMessageCodec<T>
{
    public void Write(ref MessagePackWriter writer, T value) => write(ref writer, value);

    public T Read(ref MessagePackReader reader) => read(ref reader);
}
