namespace Pinhole.Messaging.MessagePack.Codecs;

/// <summary>
/// The default codec per type, looked up once per T. The typeof checks fold away per instantiation,
/// so this is AOT-safe and reflection-free.
/// </summary>
internal static class DefaultCodec<T>
{
    public static IMessageCodec<T>? Instance { get; set; } = Builtin();

    private static IMessageCodec<T>? Builtin()
    {
        object? codec =
            typeof(T) == typeof(bool) ? MessageCodec.Boolean :
            typeof(T) == typeof(int) ? MessageCodec.Int32 :
            typeof(T) == typeof(uint) ? MessageCodec.UInt32 :
            typeof(T) == typeof(long) ? MessageCodec.Int64 :
            typeof(T) == typeof(ulong) ? MessageCodec.UInt64 :
            typeof(T) == typeof(float) ? MessageCodec.Single :
            typeof(T) == typeof(double) ? MessageCodec.Double :
            typeof(T) == typeof(string) ? MessageCodec.Text :
            typeof(T) == typeof(byte[]) ? MessageCodec.Bytes :
            typeof(T) == typeof(ReadOnlyMemory<byte>) ? MessageCodec.Memory :
            typeof(T) == typeof(DateTimeOffset) ? MessageCodec.DateTimeOffset :
            typeof(T) == typeof(MessagePackTimestamp) ? MessageCodec.Timestamp :
            typeof(T) == typeof(object) ? MessageCodec.Object :
            null;
        return (IMessageCodec<T>?)codec;
    }
}
