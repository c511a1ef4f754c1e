using System.Buffers;
using System.ComponentModel;
using Nerdbank.MessagePack;
using PolyType;
using Pinhole.Codecs;
using Pinhole.Messaging.Internal;
using Pinhole.Messaging.Internal.Shaped;

namespace Pinhole.Messaging.Shapes;

/// <summary>
/// Nerdbank.MessagePack converter of a <see cref="Sender{T}"/> inside a <c>[GenerateShape]</c> type: the same ext 4
/// value and attached stream as <see cref="ChannelCodec.Sender{T}"/>. Public only because generated code creates it.
/// </summary>
/// <typeparam name="T">The channel's message type.</typeparam>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class SenderConverter<T> : MessagePackConverter<Sender<T>>
{
    private ShapedCodec<T>? _elements;

    /// <inheritdoc/>
    public override void Write(ref Nerdbank.MessagePack.MessagePackWriter writer, in Sender<T>? value, SerializationContext context)
    {
        if (value is null)
        {
            writer.WriteNil();
            return;
        }
        ulong id = SenderCodec<T>.Attach(ShapedAttachments.Encoding(context, "Sender"), value, ShapedAttachments.Elements(ref _elements, context));
        writer.Write(ShapedAttachments.Extension(AttachmentType.Sender, id));
    }

    /// <inheritdoc/>
    public override Sender<T>? Read(ref Nerdbank.MessagePack.MessagePackReader reader, SerializationContext context)
    {
        if (reader.TryReadNil())
        {
            return null;
        }
        var (session, stream, _) = ShapedAttachments.Bind(reader.ReadExtension(), context, AttachmentType.Sender, AttachmentType.Sender, "Sender");
        return new RemoteSender<T>(session, ShapedAttachments.Elements(ref _elements, context), stream);
    }
}

/// <summary>
/// Nerdbank.MessagePack converter of a <see cref="Receiver{T}"/> inside a <c>[GenerateShape]</c> type: the same ext 5
/// value and attached stream as <see cref="ChannelCodec.Receiver{T}"/>. Public only because generated code creates it.
/// </summary>
/// <typeparam name="T">The channel's message type.</typeparam>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class ReceiverConverter<T> : MessagePackConverter<Receiver<T>>
{
    private ShapedCodec<T>? _elements;

    /// <inheritdoc/>
    public override void Write(ref Nerdbank.MessagePack.MessagePackWriter writer, in Receiver<T>? value, SerializationContext context)
    {
        if (value is null)
        {
            writer.WriteNil();
            return;
        }
        ulong id = ReceiverCodec<T>.Attach(ShapedAttachments.Encoding(context, "Receiver"), value, ShapedAttachments.Elements(ref _elements, context));
        writer.Write(ShapedAttachments.Extension(AttachmentType.Receiver, id));
    }

    /// <inheritdoc/>
    public override Receiver<T>? Read(ref Nerdbank.MessagePack.MessagePackReader reader, SerializationContext context)
    {
        if (reader.TryReadNil())
        {
            return null;
        }
        var (session, stream, _) = ShapedAttachments.Bind(reader.ReadExtension(), context, AttachmentType.Receiver, AttachmentType.Receiver, "Receiver");
        return new RemoteReceiver<T>(session, ShapedAttachments.Elements(ref _elements, context), stream);
    }
}

/// <summary>A <see cref="Stream"/> inside a <c>[GenerateShape]</c> type: ext 1, 2 or 3 as <see cref="ChannelCodec.Stream"/>.</summary>
internal sealed class StreamConverter : MessagePackConverter<Stream>
{
    public override void Write(ref Nerdbank.MessagePack.MessagePackWriter writer, in Stream? value, SerializationContext context)
    {
        if (value is null)
        {
            writer.WriteNil();
            return;
        }
        var (type, id) = StreamCodec.Attach(ShapedAttachments.Encoding(context, "Stream"), value);
        writer.Write(ShapedAttachments.Extension(type, id));
    }

    public override Stream? Read(ref Nerdbank.MessagePack.MessagePackReader reader, SerializationContext context)
    {
        if (reader.TryReadNil())
        {
            return null;
        }
        var (_, stream, type) = ShapedAttachments.Bind(reader.ReadExtension(), context, AttachmentType.DuplexStream, AttachmentType.WriteStream, "Stream");
        return StreamCodec.Bind(stream, type);
    }
}

/// <summary>The ext value of an attachment (<c>ext(type) { uvarint id }</c>) on Nerdbank's reader and writer.</summary>
internal static class ShapedAttachments
{
    public static EncodeContext Encoding(SerializationContext context, string what) =>
        context[ShapedSerializer.StateKey] as EncodeContext ?? throw new InvalidOperationException(
            $"A {what} can only be serialized into a message sent on a MessageSession channel.");

    /// <summary>The codec of a channel's messages, from the element shape PolyType generated (<see cref="ShapedElement{T}"/>).</summary>
    public static ShapedCodec<T> Elements<T>(ref ShapedCodec<T>? cache, SerializationContext context)
    {
        if (cache is { } cached)
        {
            return cached;
        }
        var shape = context.TypeShapeProvider?.GetTypeShape(typeof(T)) as ITypeShape<T> ?? throw new InvalidOperationException(
            $"No shape for {typeof(T)}: a channel of it must appear in a [GenerateShape] type (or a witness) so its shape is generated.");
        var codec = new ShapedCodec<T>(shape);
        Interlocked.CompareExchange(ref cache, codec, null);
        return cache;
    }

    public static Extension Extension(sbyte type, ulong id)
    {
        var payload = new byte[Varint.GetLength(id)];
        Varint.Write(payload, id);
        return new Extension(type, new ReadOnlySequence<byte>(payload));
    }

    public static (MessageSession Session, Task<PeerStream> Stream, sbyte Type) Bind(
        Extension extension, SerializationContext context, sbyte min, sbyte max, string what)
    {
        var session = context[ShapedSerializer.StateKey] as MessageSession ?? throw new MessagePackSerializationException(
            $"A {what} can only be read from a message received on a MessageSession channel.");
        var type = extension.Header.TypeCode;
        if (type < min || type > max || extension.Data.Length > Varint.MaxLength)
        {
            throw new MessagePackSerializationException($"Expected a {what} (ext {min}..{max}) but found ext {type} of {extension.Data.Length} bytes.");
        }
        Span<byte> payload = stackalloc byte[(int)extension.Data.Length];
        extension.Data.CopyTo(payload);
        if (Varint.TryRead(payload, out ulong id, out int used, Varint.MaxLength) != Varint.ReadStatus.Done || used != payload.Length)
        {
            throw new MessagePackSerializationException($"Malformed {what} id.");
        }
        try
        {
            return (session, session.BindAttachment(id), type);
        }
        catch (PeerException e)
        {
            throw new MessagePackSerializationException(e.Message, e);
        }
    }
}
