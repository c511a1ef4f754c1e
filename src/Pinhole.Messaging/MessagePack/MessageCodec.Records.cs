namespace Pinhole.Messaging.MessagePack;

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

    /// <summary>
    /// A codec for a type with 4 field(s), written positionally as a MessagePack array of 4. Reading accepts
    /// longer arrays and skips the extra trailing fields, so a newer sender may append fields.
    /// Field codecs default to <see cref="Default{T}"/>.
    /// </summary>
    /// <typeparam name="T">The record type.</typeparam>
    /// <typeparam name="T1">The type of field 1.</typeparam>
    /// <typeparam name="T2">The type of field 2.</typeparam>
    /// <typeparam name="T3">The type of field 3.</typeparam>
    /// <typeparam name="T4">The type of field 4.</typeparam>
    public static IMessageCodec<T> Record<T, T1, T2, T3, T4>(Func<T, T1> get1, Func<T, T2> get2, Func<T, T3> get3, Func<T, T4> get4, Func<T1, T2, T3, T4, T> create, IMessageCodec<T1>? codec1 = null, IMessageCodec<T2>? codec2 = null, IMessageCodec<T3>? codec3 = null, IMessageCodec<T4>? codec4 = null)
    {
        ArgumentNullException.ThrowIfNull(get1);
        var c1 = codec1 ?? Default<T1>();
        ArgumentNullException.ThrowIfNull(get2);
        var c2 = codec2 ?? Default<T2>();
        ArgumentNullException.ThrowIfNull(get3);
        var c3 = codec3 ?? Default<T3>();
        ArgumentNullException.ThrowIfNull(get4);
        var c4 = codec4 ?? Default<T4>();
        ArgumentNullException.ThrowIfNull(create);
        return Create<T>(
            (ref MessagePackWriter w, T v) =>
            {
                w.WriteArrayHeader(4);
                c1.Write(ref w, get1(v)); c2.Write(ref w, get2(v)); c3.Write(ref w, get3(v)); c4.Write(ref w, get4(v));
            },
            (ref MessagePackReader r) =>
            {
                int count = r.ReadArrayHeader(4);
                r.EnterNested();
                var value = create(c1.Read(ref r), c2.Read(ref r), c3.Read(ref r), c4.Read(ref r));
                r.Skip(count - 4);
                r.ExitNested();
                return value;
            });
    }

    /// <summary>
    /// A codec for a type with 5 field(s), written positionally as a MessagePack array of 5. Reading accepts
    /// longer arrays and skips the extra trailing fields, so a newer sender may append fields.
    /// Field codecs default to <see cref="Default{T}"/>.
    /// </summary>
    /// <typeparam name="T">The record type.</typeparam>
    /// <typeparam name="T1">The type of field 1.</typeparam>
    /// <typeparam name="T2">The type of field 2.</typeparam>
    /// <typeparam name="T3">The type of field 3.</typeparam>
    /// <typeparam name="T4">The type of field 4.</typeparam>
    /// <typeparam name="T5">The type of field 5.</typeparam>
    public static IMessageCodec<T> Record<T, T1, T2, T3, T4, T5>(Func<T, T1> get1, Func<T, T2> get2, Func<T, T3> get3, Func<T, T4> get4, Func<T, T5> get5, Func<T1, T2, T3, T4, T5, T> create, IMessageCodec<T1>? codec1 = null, IMessageCodec<T2>? codec2 = null, IMessageCodec<T3>? codec3 = null, IMessageCodec<T4>? codec4 = null, IMessageCodec<T5>? codec5 = null)
    {
        ArgumentNullException.ThrowIfNull(get1);
        var c1 = codec1 ?? Default<T1>();
        ArgumentNullException.ThrowIfNull(get2);
        var c2 = codec2 ?? Default<T2>();
        ArgumentNullException.ThrowIfNull(get3);
        var c3 = codec3 ?? Default<T3>();
        ArgumentNullException.ThrowIfNull(get4);
        var c4 = codec4 ?? Default<T4>();
        ArgumentNullException.ThrowIfNull(get5);
        var c5 = codec5 ?? Default<T5>();
        ArgumentNullException.ThrowIfNull(create);
        return Create<T>(
            (ref MessagePackWriter w, T v) =>
            {
                w.WriteArrayHeader(5);
                c1.Write(ref w, get1(v)); c2.Write(ref w, get2(v)); c3.Write(ref w, get3(v)); c4.Write(ref w, get4(v)); c5.Write(ref w, get5(v));
            },
            (ref MessagePackReader r) =>
            {
                int count = r.ReadArrayHeader(5);
                r.EnterNested();
                var value = create(c1.Read(ref r), c2.Read(ref r), c3.Read(ref r), c4.Read(ref r), c5.Read(ref r));
                r.Skip(count - 5);
                r.ExitNested();
                return value;
            });
    }

    /// <summary>
    /// A codec for a type with 6 field(s), written positionally as a MessagePack array of 6. Reading accepts
    /// longer arrays and skips the extra trailing fields, so a newer sender may append fields.
    /// Field codecs default to <see cref="Default{T}"/>.
    /// </summary>
    /// <typeparam name="T">The record type.</typeparam>
    /// <typeparam name="T1">The type of field 1.</typeparam>
    /// <typeparam name="T2">The type of field 2.</typeparam>
    /// <typeparam name="T3">The type of field 3.</typeparam>
    /// <typeparam name="T4">The type of field 4.</typeparam>
    /// <typeparam name="T5">The type of field 5.</typeparam>
    /// <typeparam name="T6">The type of field 6.</typeparam>
    public static IMessageCodec<T> Record<T, T1, T2, T3, T4, T5, T6>(Func<T, T1> get1, Func<T, T2> get2, Func<T, T3> get3, Func<T, T4> get4, Func<T, T5> get5, Func<T, T6> get6, Func<T1, T2, T3, T4, T5, T6, T> create, IMessageCodec<T1>? codec1 = null, IMessageCodec<T2>? codec2 = null, IMessageCodec<T3>? codec3 = null, IMessageCodec<T4>? codec4 = null, IMessageCodec<T5>? codec5 = null, IMessageCodec<T6>? codec6 = null)
    {
        ArgumentNullException.ThrowIfNull(get1);
        var c1 = codec1 ?? Default<T1>();
        ArgumentNullException.ThrowIfNull(get2);
        var c2 = codec2 ?? Default<T2>();
        ArgumentNullException.ThrowIfNull(get3);
        var c3 = codec3 ?? Default<T3>();
        ArgumentNullException.ThrowIfNull(get4);
        var c4 = codec4 ?? Default<T4>();
        ArgumentNullException.ThrowIfNull(get5);
        var c5 = codec5 ?? Default<T5>();
        ArgumentNullException.ThrowIfNull(get6);
        var c6 = codec6 ?? Default<T6>();
        ArgumentNullException.ThrowIfNull(create);
        return Create<T>(
            (ref MessagePackWriter w, T v) =>
            {
                w.WriteArrayHeader(6);
                c1.Write(ref w, get1(v)); c2.Write(ref w, get2(v)); c3.Write(ref w, get3(v)); c4.Write(ref w, get4(v)); c5.Write(ref w, get5(v)); c6.Write(ref w, get6(v));
            },
            (ref MessagePackReader r) =>
            {
                int count = r.ReadArrayHeader(6);
                r.EnterNested();
                var value = create(c1.Read(ref r), c2.Read(ref r), c3.Read(ref r), c4.Read(ref r), c5.Read(ref r), c6.Read(ref r));
                r.Skip(count - 6);
                r.ExitNested();
                return value;
            });
    }

    /// <summary>
    /// A codec for a type with 7 field(s), written positionally as a MessagePack array of 7. Reading accepts
    /// longer arrays and skips the extra trailing fields, so a newer sender may append fields.
    /// Field codecs default to <see cref="Default{T}"/>.
    /// </summary>
    /// <typeparam name="T">The record type.</typeparam>
    /// <typeparam name="T1">The type of field 1.</typeparam>
    /// <typeparam name="T2">The type of field 2.</typeparam>
    /// <typeparam name="T3">The type of field 3.</typeparam>
    /// <typeparam name="T4">The type of field 4.</typeparam>
    /// <typeparam name="T5">The type of field 5.</typeparam>
    /// <typeparam name="T6">The type of field 6.</typeparam>
    /// <typeparam name="T7">The type of field 7.</typeparam>
    public static IMessageCodec<T> Record<T, T1, T2, T3, T4, T5, T6, T7>(Func<T, T1> get1, Func<T, T2> get2, Func<T, T3> get3, Func<T, T4> get4, Func<T, T5> get5, Func<T, T6> get6, Func<T, T7> get7, Func<T1, T2, T3, T4, T5, T6, T7, T> create, IMessageCodec<T1>? codec1 = null, IMessageCodec<T2>? codec2 = null, IMessageCodec<T3>? codec3 = null, IMessageCodec<T4>? codec4 = null, IMessageCodec<T5>? codec5 = null, IMessageCodec<T6>? codec6 = null, IMessageCodec<T7>? codec7 = null)
    {
        ArgumentNullException.ThrowIfNull(get1);
        var c1 = codec1 ?? Default<T1>();
        ArgumentNullException.ThrowIfNull(get2);
        var c2 = codec2 ?? Default<T2>();
        ArgumentNullException.ThrowIfNull(get3);
        var c3 = codec3 ?? Default<T3>();
        ArgumentNullException.ThrowIfNull(get4);
        var c4 = codec4 ?? Default<T4>();
        ArgumentNullException.ThrowIfNull(get5);
        var c5 = codec5 ?? Default<T5>();
        ArgumentNullException.ThrowIfNull(get6);
        var c6 = codec6 ?? Default<T6>();
        ArgumentNullException.ThrowIfNull(get7);
        var c7 = codec7 ?? Default<T7>();
        ArgumentNullException.ThrowIfNull(create);
        return Create<T>(
            (ref MessagePackWriter w, T v) =>
            {
                w.WriteArrayHeader(7);
                c1.Write(ref w, get1(v)); c2.Write(ref w, get2(v)); c3.Write(ref w, get3(v)); c4.Write(ref w, get4(v)); c5.Write(ref w, get5(v)); c6.Write(ref w, get6(v)); c7.Write(ref w, get7(v));
            },
            (ref MessagePackReader r) =>
            {
                int count = r.ReadArrayHeader(7);
                r.EnterNested();
                var value = create(c1.Read(ref r), c2.Read(ref r), c3.Read(ref r), c4.Read(ref r), c5.Read(ref r), c6.Read(ref r), c7.Read(ref r));
                r.Skip(count - 7);
                r.ExitNested();
                return value;
            });
    }

    /// <summary>
    /// A codec for a type with 8 field(s), written positionally as a MessagePack array of 8. Reading accepts
    /// longer arrays and skips the extra trailing fields, so a newer sender may append fields.
    /// Field codecs default to <see cref="Default{T}"/>.
    /// </summary>
    /// <typeparam name="T">The record type.</typeparam>
    /// <typeparam name="T1">The type of field 1.</typeparam>
    /// <typeparam name="T2">The type of field 2.</typeparam>
    /// <typeparam name="T3">The type of field 3.</typeparam>
    /// <typeparam name="T4">The type of field 4.</typeparam>
    /// <typeparam name="T5">The type of field 5.</typeparam>
    /// <typeparam name="T6">The type of field 6.</typeparam>
    /// <typeparam name="T7">The type of field 7.</typeparam>
    /// <typeparam name="T8">The type of field 8.</typeparam>
    public static IMessageCodec<T> Record<T, T1, T2, T3, T4, T5, T6, T7, T8>(Func<T, T1> get1, Func<T, T2> get2, Func<T, T3> get3, Func<T, T4> get4, Func<T, T5> get5, Func<T, T6> get6, Func<T, T7> get7, Func<T, T8> get8, Func<T1, T2, T3, T4, T5, T6, T7, T8, T> create, IMessageCodec<T1>? codec1 = null, IMessageCodec<T2>? codec2 = null, IMessageCodec<T3>? codec3 = null, IMessageCodec<T4>? codec4 = null, IMessageCodec<T5>? codec5 = null, IMessageCodec<T6>? codec6 = null, IMessageCodec<T7>? codec7 = null, IMessageCodec<T8>? codec8 = null)
    {
        ArgumentNullException.ThrowIfNull(get1);
        var c1 = codec1 ?? Default<T1>();
        ArgumentNullException.ThrowIfNull(get2);
        var c2 = codec2 ?? Default<T2>();
        ArgumentNullException.ThrowIfNull(get3);
        var c3 = codec3 ?? Default<T3>();
        ArgumentNullException.ThrowIfNull(get4);
        var c4 = codec4 ?? Default<T4>();
        ArgumentNullException.ThrowIfNull(get5);
        var c5 = codec5 ?? Default<T5>();
        ArgumentNullException.ThrowIfNull(get6);
        var c6 = codec6 ?? Default<T6>();
        ArgumentNullException.ThrowIfNull(get7);
        var c7 = codec7 ?? Default<T7>();
        ArgumentNullException.ThrowIfNull(get8);
        var c8 = codec8 ?? Default<T8>();
        ArgumentNullException.ThrowIfNull(create);
        return Create<T>(
            (ref MessagePackWriter w, T v) =>
            {
                w.WriteArrayHeader(8);
                c1.Write(ref w, get1(v)); c2.Write(ref w, get2(v)); c3.Write(ref w, get3(v)); c4.Write(ref w, get4(v)); c5.Write(ref w, get5(v)); c6.Write(ref w, get6(v)); c7.Write(ref w, get7(v)); c8.Write(ref w, get8(v));
            },
            (ref MessagePackReader r) =>
            {
                int count = r.ReadArrayHeader(8);
                r.EnterNested();
                var value = create(c1.Read(ref r), c2.Read(ref r), c3.Read(ref r), c4.Read(ref r), c5.Read(ref r), c6.Read(ref r), c7.Read(ref r), c8.Read(ref r));
                r.Skip(count - 8);
                r.ExitNested();
                return value;
            });
    }
}
