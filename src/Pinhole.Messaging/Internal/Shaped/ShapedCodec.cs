using Nerdbank.MessagePack;
using PolyType;
using Pinhole.Messaging.MessagePack;
using PinholeReader = Pinhole.Messaging.MessagePack.MessagePackReader;
using PinholeWriter = Pinhole.Messaging.MessagePack.MessagePackWriter;

namespace Pinhole.Messaging.Internal.Shaped;

/// <summary>
/// A user's <c>[GenerateShape]</c> type as an <see cref="IMessageCodec{T}"/>: Nerdbank.MessagePack encodes it
/// straight into the same buffer, so it mixes with hand-written codecs and travels on every channel.
/// </summary>
/// <remarks>
/// Decoding first reads the whole value with Pinhole's reader, which checks every declared length against the input
/// and the session's <see cref="MessagePackReaderOptions"/> before anything is allocated, and refuses str values that
/// are not UTF-8 (Nerdbank would replace the bad bytes); only then does Nerdbank build the object, with the depth left over from the enclosing value and its
/// own preallocation cap. Its errors surface as <see cref="MessagePackException"/> (a protocol violation on a channel).
/// </remarks>
internal sealed class ShapedCodec<T>(ITypeShape<T> shape) : IMessageCodec<T>
{
    public ITypeShape<T> Shape { get; } = shape;

    public void Write(ref PinholeWriter writer, T value)
    {
        var context = writer.State switch
        {
            EncodeContext encoding => (encoding.ShapedContext ??= new(WithState(ShapedSerializer.Instance.StartingContext, encoding))).Value,
            null => ShapedSerializer.Instance.StartingContext,
            var other => WithState(ShapedSerializer.Instance.StartingContext, other),
        };
        var nerdbank = new Nerdbank.MessagePack.MessagePackWriter(writer.Output);
        try
        {
            ShapedSerializer.Instance.Serialize(ref nerdbank, value, Shape, context);
        }
        catch (MessagePackSerializationException e) when (Cause(e) is { } cause)
        {
            // What a converter threw (a channel outside a session, a stream that can be neither read nor written)
            // reaches the caller as itself, as it does from a hand-written codec.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(cause);
        }
        nerdbank.Flush();
    }

    private static SerializationContext WithState(SerializationContext context, object state)
    {
        context[ShapedSerializer.StateKey] = state;
        return context;
    }

    /// <summary>Nerdbank's depth limit is what the session allows below the enclosing value.</summary>
    private static SerializationContext ReadContext(ref PinholeReader reader)
    {
        var context = ShapedSerializer.Instance.StartingContext;
        context.MaxDepth = Math.Max(0, reader.Options.MaxDepth - reader.Depth);
        return reader.State is null ? context : WithState(context, reader.State);
    }

    private static Exception? Cause(MessagePackSerializationException e)
    {
        Exception? inner = e.InnerException;
        while (inner is MessagePackSerializationException next)
        {
            inner = next.InnerException;
        }
        return inner;
    }

    public T Read(ref PinholeReader reader)
    {
        long start = reader.Consumed;
        var raw = reader.ReadRawValidated();
        var context = reader.State is MessageSession session && reader.Depth == 0
            ? (session.ShapedContext ??= new(ReadContext(ref reader))).Value
            : ReadContext(ref reader);
        var nerdbank = new Nerdbank.MessagePack.MessagePackReader(raw);
        try
        {
            return ShapedSerializer.Instance.Deserialize(ref nerdbank, Shape, context)!;
        }
        catch (MessagePackSerializationException e)
        {
            throw new MessagePackException($"{typeof(T).Name}: {Innermost(e).Message}", start + nerdbank.Consumed, e);
        }
    }

    // Nerdbank wraps the failing converter's exception once per level of nesting; the innermost one says what was wrong.
    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is MessagePackSerializationException or MessagePackException or FormatException or EndOfStreamException)
        {
            e = e.InnerException;
        }
        return e;
    }
}
