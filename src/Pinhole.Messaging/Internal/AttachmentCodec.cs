using Pinhole.Codecs;
using Pinhole.Messaging.MessagePack;

namespace Pinhole.Messaging.Internal;

/// <summary>Reads and writes the ext value of an attachment: <c>ext(type) { uvarint id }</c>.</summary>
internal static class AttachmentCodec
{
    public static EncodeContext Context(ref MessagePackWriter writer, string what) =>
        writer.State as EncodeContext ?? throw new InvalidOperationException(
            $"A {what} can only be serialized into a message sent on a MessageSession channel.");

    public static void WriteId(ref MessagePackWriter writer, sbyte type, ulong id)
    {
        Span<byte> payload = stackalloc byte[Varint.MaxLength];
        int length = Varint.Write(payload, id);
        writer.WriteExtension(type, payload[..length]);
    }

    /// <summary>Reads the id of an attachment with a type in [min, max] and binds its stream.</summary>
    public static (MessageSession Session, Task<PeerStream> Stream, sbyte Type) Read(ref MessagePackReader reader, sbyte min, sbyte max, string what)
    {
        long start = reader.Consumed;
        var session = reader.State as MessageSession ?? throw new MessagePackException(
            $"A {what} can only be read from a message received on a MessageSession channel", start);
        var header = reader.ReadExtensionHeader();
        if (header.Type < min || header.Type > max || header.Length > Varint.MaxLength)
        {
            throw new MessagePackException($"Expected a {what} (ext {min}..{max}) but found ext {header.Type} of {header.Length} bytes", start);
        }
        Span<byte> payload = stackalloc byte[header.Length];
        reader.ReadRaw(payload);
        if (Varint.TryRead(payload, out ulong id, out int used, Varint.MaxLength) != Varint.ReadStatus.Done || used != payload.Length)
        {
            throw new MessagePackException($"Malformed {what} id", start);
        }
        try
        {
            return (session, session.BindAttachment(id), header.Type);
        }
        catch (PeerException e)
        {
            throw new MessagePackException(e.Message, start, e);
        }
    }
}
