namespace Pinhole.Messaging.MessagePack;

/// <summary>Writes one value; the write half of a codec made with <see cref="MessageCodec.Create{T}"/>.</summary>
public delegate void MessageWriteAction<in T>(ref MessagePackWriter writer, T value);

/// <summary>Reads one value; the read half of a codec made with <see cref="MessageCodec.Create{T}"/>.</summary>
public delegate T MessageReadFunc<out T>(ref MessagePackReader reader);
