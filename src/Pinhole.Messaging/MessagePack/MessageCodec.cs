using System.Buffers;
using Pinhole.Messaging.MessagePack.Codecs;

namespace Pinhole.Messaging.MessagePack;

/// <summary>
/// Ready-made codecs and combinators. Everything here is built from delegates and generics, without
/// reflection, so it works under Native AOT and trimming.
/// </summary>
/// <example>
/// <code>
/// record Point(int X, int Y);
/// var pointCodec = MessageCodec.Record((Point p) => p.X, p => p.Y, (x, y) => new Point(x, y));
/// var listCodec = MessageCodec.ListOf(pointCodec);
/// byte[] bytes = MessageCodec.Serialize(pointCodec, new Point(1, 2)); // 92 01 02
/// </code>
/// </example>
public static partial class MessageCodec
{
    /// <summary>bool as true/false.</summary>
    public static IMessageCodec<bool> Boolean { get; } = Create((ref MessagePackWriter w, bool v) => w.Write(v), (ref MessagePackReader r) => r.ReadBoolean());

    /// <summary>int as the shortest integer form.</summary>
    public static IMessageCodec<int> Int32 { get; } = Create((ref MessagePackWriter w, int v) => w.Write(v), (ref MessagePackReader r) => r.ReadInt32());

    /// <summary>uint as the shortest integer form.</summary>
    public static IMessageCodec<uint> UInt32 { get; } = Create((ref MessagePackWriter w, uint v) => w.Write(v), (ref MessagePackReader r) => r.ReadUInt32());

    /// <summary>long as the shortest integer form.</summary>
    public static IMessageCodec<long> Int64 { get; } = Create((ref MessagePackWriter w, long v) => w.Write(v), (ref MessagePackReader r) => r.ReadInt64());

    /// <summary>ulong as the shortest integer form.</summary>
    public static IMessageCodec<ulong> UInt64 { get; } = Create((ref MessagePackWriter w, ulong v) => w.Write(v), (ref MessagePackReader r) => r.ReadUInt64());

    /// <summary>float as float 32 (reads any number).</summary>
    public static IMessageCodec<float> Single { get; } = Create((ref MessagePackWriter w, float v) => w.Write(v), (ref MessagePackReader r) => r.ReadSingle());

    /// <summary>double as float 64 (reads any number).</summary>
    public static IMessageCodec<double> Double { get; } = Create((ref MessagePackWriter w, double v) => w.Write(v), (ref MessagePackReader r) => r.ReadDouble());

    /// <summary>string as str; null as nil.</summary>
    public static IMessageCodec<string?> String { get; } = Create((ref MessagePackWriter w, string? v) => w.Write(v), (ref MessagePackReader r) => r.ReadString());

    /// <summary>A non-null string as str; nil is rejected on input.</summary>
    public static IMessageCodec<string> Text { get; } = Create((ref MessagePackWriter w, string v) => w.Write(v ?? throw new ArgumentNullException(nameof(v))), (ref MessagePackReader r) => r.ReadRequiredString());

    /// <summary>byte[] as bin; null as nil.</summary>
    public static IMessageCodec<byte[]?> Bytes { get; } = Create(
        (ref MessagePackWriter w, byte[]? v) =>
        {
            if (v is null)
            {
                w.WriteNil();
            }
            else
            {
                w.Write(v.AsSpan());
            }
        },
        (ref MessagePackReader r) => r.ReadByteArray());

    /// <summary>ReadOnlyMemory&lt;byte&gt; as bin (reads copy the bytes once).</summary>
    public static IMessageCodec<ReadOnlyMemory<byte>> Memory { get; } = Create(
        (ref MessagePackWriter w, ReadOnlyMemory<byte> v) => w.Write(v.Span),
        (ref MessagePackReader r) => (ReadOnlyMemory<byte>)r.ReadBytes().ToArray());

    /// <summary>
    /// bin as a pooled lease: a received payload is copied once into an array rented from
    /// <see cref="ArrayPool{T}.Shared"/> instead of a new array, so bulk receivers do not allocate (and zero) a
    /// fresh buffer per message. Dispose each received lease when done with it; one that is dropped undisposed
    /// is simply collected. Writing sends the lease's bytes and leaves it to the caller.
    /// </summary>
    public static IMessageCodec<IMemoryOwner<byte>> PooledMemory { get; } = Create(
        (ref MessagePackWriter w, IMemoryOwner<byte> v) =>
        {
            ArgumentNullException.ThrowIfNull(v);
            w.Write(v.Memory.Span);
        },
        (ref MessagePackReader r) => PooledBytes.Copy(r.ReadBytes()));

    /// <summary>DateTimeOffset as a timestamp (extension -1).</summary>
    public static IMessageCodec<DateTimeOffset> DateTimeOffset { get; } = Create((ref MessagePackWriter w, DateTimeOffset v) => w.Write(v), (ref MessagePackReader r) => r.ReadDateTimeOffset());

    /// <summary>A timestamp (extension -1), full range.</summary>
    public static IMessageCodec<MessagePackTimestamp> Timestamp { get; } = Create((ref MessagePackWriter w, MessagePackTimestamp v) => w.Write(v), (ref MessagePackReader r) => r.ReadTimestamp());

    /// <summary>Any value as a loosely typed object tree (see the remarks of the returned codec's type).</summary>
    public static IMessageCodec<object?> Object => ObjectCodec.Instance;

    /// <summary>Makes a codec from two functions.</summary>
    public static IMessageCodec<T> Create<T>(MessageWriteAction<T> write, MessageReadFunc<T> read)
    {
        ArgumentNullException.ThrowIfNull(write);
        ArgumentNullException.ThrowIfNull(read);
        return new DelegateCodec<T>(write, read);
    }

    /// <summary>The codec of a type that implements <see cref="IMessagePackSerializable{TSelf}"/>.</summary>
    public static IMessageCodec<T> Of<T>()
        where T : IMessagePackSerializable<T> => SerializableCodec<T>.Instance;

    /// <summary>
    /// The default codec for <typeparamref name="T"/>: the built-in ones above, or one given to
    /// <see cref="Register{T}"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">No codec is known for the type.</exception>
    public static IMessageCodec<T> Default<T>() =>
        DefaultCodec<T>.Instance ?? throw new InvalidOperationException(
            $"No MessagePack codec is registered for {typeof(T)}; pass one explicitly or call MessageCodec.Register.");

    /// <summary>Makes <paramref name="codec"/> the default for <typeparamref name="T"/> (used by <see cref="Record{T, T1}"/> and friends).</summary>
    public static void Register<T>(IMessageCodec<T> codec)
    {
        ArgumentNullException.ThrowIfNull(codec);
        DefaultCodec<T>.Instance = codec;
    }

    /// <summary>nil for null, <paramref name="codec"/> otherwise.</summary>
    public static IMessageCodec<T?> Nullable<T>(IMessageCodec<T> codec)
        where T : class => new NullableCodec<T>(codec);

    /// <summary>nil for null, <paramref name="codec"/> otherwise.</summary>
    public static IMessageCodec<T?> NullableValue<T>(IMessageCodec<T> codec)
        where T : struct => new NullableValueCodec<T>(codec);

    /// <summary>An array as a MessagePack array.</summary>
    public static IMessageCodec<T[]?> ArrayOf<T>(IMessageCodec<T> element) => new ArrayCodec<T>(element);

    /// <summary>A list as a MessagePack array.</summary>
    public static IMessageCodec<List<T>?> ListOf<T>(IMessageCodec<T> element) => new ListCodec<T>(element);

    /// <summary>A dictionary as a MessagePack map (a repeated key on input is an error).</summary>
    public static IMessageCodec<Dictionary<TKey, TValue>?> DictionaryOf<TKey, TValue>(
        IMessageCodec<TKey> key, IMessageCodec<TValue> value, IEqualityComparer<TKey>? comparer = null)
        where TKey : notnull => new DictionaryCodec<TKey, TValue>(key, value, comparer);

    /// <summary>Encodes one value into a new array.</summary>
    public static byte[] Serialize<T>(IMessageCodec<T> codec, T value)
    {
        ArgumentNullException.ThrowIfNull(codec);
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        codec.Write(ref writer, value);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Decodes exactly one value that must span all of <paramref name="data"/>.</summary>
    /// <exception cref="MessagePackException">Malformed input, or bytes left over after the value.</exception>
    public static T Deserialize<T>(IMessageCodec<T> codec, ReadOnlyMemory<byte> data, MessagePackReaderOptions? options = null) =>
        Deserialize(codec, new ReadOnlySequence<byte>(data), options);

    /// <summary>Decodes exactly one value that must span all of <paramref name="data"/>.</summary>
    /// <exception cref="MessagePackException">Malformed input, or bytes left over after the value.</exception>
    public static T Deserialize<T>(IMessageCodec<T> codec, ReadOnlySequence<byte> data, MessagePackReaderOptions? options = null, object? state = null)
    {
        ArgumentNullException.ThrowIfNull(codec);
        var reader = new MessagePackReader(data, options, state);
        var value = codec.Read(ref reader);
        if (!reader.End)
        {
            throw new MessagePackException($"{reader.Remaining} byte(s) left over after the value", reader.Consumed);
        }
        return value;
    }
}
