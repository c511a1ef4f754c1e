using PolyType;
using Pinhole.Messaging.Internal.Shaped;

namespace Pinhole.Messaging.MessagePack;

public static partial class MessageCodec
{
    /// <summary>
    /// The codec of a <c>[GenerateShape]</c> type, encoded by Nerdbank.MessagePack (PolyType's source-generated
    /// shape: no reflection, AOT-safe). Senders, Receivers and Streams among its members become attached channels
    /// and streams, exactly as with <see cref="ChannelCodec"/>.
    /// </summary>
    /// <example>
    /// <code>
    /// [GenerateShape]
    /// public partial record Job(string Name, int Priority, Sender&lt;Progress&gt; Progress);
    ///
    /// var jobs = await session.OpenSenderAsync&lt;Job&gt;();       // same as OpenSenderAsync(MessageCodec.Shaped&lt;Job&gt;())
    /// </code>
    /// </example>
    /// <remarks>
    /// Settings for untrusted peers: the session's <see cref="MessagePackReaderOptions"/> (lengths, depth) are
    /// checked on the whole value before Nerdbank builds it; Nerdbank preallocates at most 1024 collection slots,
    /// uses hash-flooding-resistant comparers, refuses duplicate keys and never loads types by name; its own
    /// extension codes (Guid, decimal, BigInteger, Int128, UInt128, object references) are 17–21 and 16, out of
    /// the way of the channel codes 1–5. The channel layer refuses a frame over
    /// <see cref="MessageSessionOptions.MaxMessageSize"/> before it is decoded.
    /// </remarks>
    public static IMessageCodec<T> Shaped<T>()
        where T : IShapeable<T> => ShapedCache<T>.Codec ??= new ShapedCodec<T>(T.GetTypeShape());

    /// <summary>
    /// The codec of <typeparamref name="T"/> with the shape a witness provides: for types you cannot annotate,
    /// declare <c>[GenerateShapeFor&lt;T&gt;] partial class Witness;</c> and pass <c>Witness</c>.
    /// </summary>
    public static IMessageCodec<T> Shaped<T, TProvider>()
        where TProvider : IShapeable<T> => new ShapedCodec<T>(TProvider.GetTypeShape());

    /// <summary>The codec of <typeparamref name="T"/> with the given shape (from any <see cref="ITypeShapeProvider"/>).</summary>
    public static IMessageCodec<T> Shaped<T>(ITypeShape<T> shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        return new ShapedCodec<T>(shape);
    }

    private static class ShapedCache<T>
    {
        public static ShapedCodec<T>? Codec;
    }
}
