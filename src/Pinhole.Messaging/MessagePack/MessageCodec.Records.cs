namespace Pinhole.Messaging.MessagePack;

// Positional records with codecs given at run time: what Nerdbank.MessagePack's shapes do not cover (a generic
// container such as Request<TRequest, TResponse> whose field codecs are the caller's, or a protocol message mixing
// hand-written codecs). Everything else is a [GenerateShape] type and MessageCodec.Shaped<T>(); larger records
// used to be here, up to 8 fields, and were dropped for it.
public static partial class MessageCodec
{
    /// <summary>
    /// A codec for a type with 1 field(s), written positionally as a MessagePack array of 1. Reading accepts
    /// longer arrays and skips the extra trailing fields, so a newer sender may append fields.
    /// Field codecs default to <see cref="Default{T}"/>.
    /// </summary>
    /// <typeparam name="T">The record type.</typeparam>
    /// <typeparam name="T1">The type of field 1.</typeparam>
    public static IMessageCodec<T> Record<T, T1>(Func<T, T1> get1, Func<T1, T> create, IMessageCodec<T1>? codec1 = null)
    {
        ArgumentNullException.ThrowIfNull(get1);
        var c1 = codec1 ?? Default<T1>();
        ArgumentNullException.ThrowIfNull(create);
        return Create<T>(
            (ref MessagePackWriter w, T v) =>
            {
                w.WriteArrayHeader(1);
                c1.Write(ref w, get1(v));
            },
            (ref MessagePackReader r) =>
            {
                int count = r.ReadArrayHeader(1);
                r.EnterNested();
                var value = create(c1.Read(ref r));
                r.Skip(count - 1);
                r.ExitNested();
                return value;
            });
    }

    /// <summary>
    /// A codec for a type with 2 field(s), written positionally as a MessagePack array of 2. Reading accepts
    /// longer arrays and skips the extra trailing fields, so a newer sender may append fields.
    /// Field codecs default to <see cref="Default{T}"/>.
    /// </summary>
    /// <typeparam name="T">The record type.</typeparam>
    /// <typeparam name="T1">The type of field 1.</typeparam>
    /// <typeparam name="T2">The type of field 2.</typeparam>
    public static IMessageCodec<T> Record<T, T1, T2>(Func<T, T1> get1, Func<T, T2> get2, Func<T1, T2, T> create, IMessageCodec<T1>? codec1 = null, IMessageCodec<T2>? codec2 = null)
    {
        ArgumentNullException.ThrowIfNull(get1);
        var c1 = codec1 ?? Default<T1>();
        ArgumentNullException.ThrowIfNull(get2);
        var c2 = codec2 ?? Default<T2>();
        ArgumentNullException.ThrowIfNull(create);
        return Create<T>(
            (ref MessagePackWriter w, T v) =>
            {
                w.WriteArrayHeader(2);
                c1.Write(ref w, get1(v)); c2.Write(ref w, get2(v));
            },
            (ref MessagePackReader r) =>
            {
                int count = r.ReadArrayHeader(2);
                r.EnterNested();
                var value = create(c1.Read(ref r), c2.Read(ref r));
                r.Skip(count - 2);
                r.ExitNested();
                return value;
            });
    }

    /// <summary>
    /// A codec for a type with 3 field(s), written positionally as a MessagePack array of 3. Reading accepts
    /// longer arrays and skips the extra trailing fields, so a newer sender may append fields.
    /// Field codecs default to <see cref="Default{T}"/>.
    /// </summary>
    /// <typeparam name="T">The record type.</typeparam>
    /// <typeparam name="T1">The type of field 1.</typeparam>
    /// <typeparam name="T2">The type of field 2.</typeparam>
    /// <typeparam name="T3">The type of field 3.</typeparam>
    public static IMessageCodec<T> Record<T, T1, T2, T3>(Func<T, T1> get1, Func<T, T2> get2, Func<T, T3> get3, Func<T1, T2, T3, T> create, IMessageCodec<T1>? codec1 = null, IMessageCodec<T2>? codec2 = null, IMessageCodec<T3>? codec3 = null)
    {
        ArgumentNullException.ThrowIfNull(get1);
        var c1 = codec1 ?? Default<T1>();
        ArgumentNullException.ThrowIfNull(get2);
        var c2 = codec2 ?? Default<T2>();
        ArgumentNullException.ThrowIfNull(get3);
        var c3 = codec3 ?? Default<T3>();
        ArgumentNullException.ThrowIfNull(create);
        return Create<T>(
            (ref MessagePackWriter w, T v) =>
            {
                w.WriteArrayHeader(3);
                c1.Write(ref w, get1(v)); c2.Write(ref w, get2(v)); c3.Write(ref w, get3(v));
            },
            (ref MessagePackReader r) =>
            {
                int count = r.ReadArrayHeader(3);
                r.EnterNested();
                var value = create(c1.Read(ref r), c2.Read(ref r), c3.Read(ref r));
                r.Skip(count - 3);
                r.ExitNested();
                return value;
            });
    }
}
