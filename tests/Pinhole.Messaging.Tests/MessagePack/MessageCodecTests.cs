using Pinhole.Messaging.MessagePack;
using Pinhole.Messaging.Tests.Support;

namespace Pinhole.Messaging.Tests.MessagePack;

public class MessageCodecTests
{
    private sealed record Point(int X, int Y);

    private sealed record Shape(string Name, List<Point>? Points, Details Details);

    private sealed record Details(Dictionary<string, double>? Tags, DateTimeOffset Created, byte[]? Blob);

    private sealed record ChatLine(string From, string Text) : IMessagePackSerializable<ChatLine>
    {
        public static void Write(ref MessagePackWriter writer, ChatLine value)
        {
            writer.WriteArrayHeader(2);
            writer.Write(value.From);
            writer.Write(value.Text);
        }

        public static ChatLine Read(ref MessagePackReader reader)
        {
            int count = reader.ReadArrayHeader(2);
            var line = new ChatLine(reader.ReadRequiredString(), reader.ReadRequiredString());
            reader.Skip(count - 2);
            return line;
        }
    }

    private static readonly IMessageCodec<Point> PointCodec = MessageCodec.Record((Point p) => p.X, p => p.Y, (x, y) => new Point(x, y));

    [Fact]
    public void Record_codec_writes_a_positional_array()
    {
        var bytes = MessageCodec.Serialize(PointCodec, new Point(1, -2));
        Assert.Equal("9201fe", Msgpack.ToHex(bytes));
        Assert.Equal(new Point(1, -2), MessageCodec.Deserialize(PointCodec, bytes));
        // A newer sender's extra trailing field is skipped.
        Assert.Equal(new Point(1, 2), MessageCodec.Deserialize(PointCodec, Msgpack.Hex("93 01 02 a3 6e6577")));
        // A missing field is an error with an offset.
        Assert.Equal(0, Assert.Throws<MessagePackException>(() => MessageCodec.Deserialize(PointCodec, Msgpack.Hex("91 01"))).Offset);
    }

    [Fact]
    public void Nested_records_collections_and_nulls_round_trip()
    {
        var detailsCodec = MessageCodec.Record(
            (Details d) => d.Tags, d => d.Created, d => d.Blob,
            (tags, created, blob) => new Details(tags, created, blob),
            codec1: MessageCodec.DictionaryOf(MessageCodec.String!, MessageCodec.Double)!);
        var shapeCodec = MessageCodec.Record(
            (Shape s) => s.Name, s => s.Points, s => s.Details,
            (name, points, details) => new Shape(name!, points, details),
            codec2: MessageCodec.ListOf(PointCodec),
            codec3: detailsCodec);
        var shape = new Shape("tri", [new(0, 0), new(10, 0), new(0, 10)], new(new() { ["area"] = 50.0 }, new DateTimeOffset(2026, 11, 21, 0, 0, 0, TimeSpan.Zero), [1, 2, 3]));
        var back = MessageCodec.Deserialize(shapeCodec, MessageCodec.Serialize(shapeCodec, shape));
        Assert.Equal(shape.Name, back.Name);
        Assert.Equal(shape.Points, back.Points);
        Assert.Equal(shape.Details.Tags, back.Details.Tags);
        Assert.Equal(shape.Details.Created, back.Details.Created);
        Assert.Equal(shape.Details.Blob, back.Details.Blob);
        var empty = new Shape("none", null, new(null, DateTimeOffset.UnixEpoch, null));
        var emptyBack = MessageCodec.Deserialize(shapeCodec, MessageCodec.Serialize(shapeCodec, empty));
        Assert.Null(emptyBack.Points);
        Assert.Null(emptyBack.Details.Tags);
        Assert.Null(emptyBack.Details.Blob);
    }

    [Fact]
    public void Serializable_types_and_registered_defaults_work()
    {
        var codec = MessageCodec.Of<ChatLine>();
        var line = new ChatLine("alice", "hi");
        Assert.Equal(line, MessageCodec.Deserialize(codec, MessageCodec.Serialize(codec, line)));
        Assert.Throws<InvalidOperationException>(() => MessageCodec.Default<Point>());
        MessageCodec.Register(PointCodec);
        Assert.Same(PointCodec, MessageCodec.Default<Point>());
        var arrays = MessageCodec.ArrayOf(MessageCodec.Default<Point>());
        Assert.Equal([new Point(3, 4)], MessageCodec.Deserialize(arrays, MessageCodec.Serialize(arrays, [new Point(3, 4)]))!);
    }

    [Fact]
    public void Primitive_codecs_round_trip()
    {
        RoundTrip(MessageCodec.Boolean, true);
        RoundTrip(MessageCodec.Int32, int.MinValue);
        RoundTrip(MessageCodec.UInt32, uint.MaxValue);
        RoundTrip(MessageCodec.Int64, long.MinValue);
        RoundTrip(MessageCodec.UInt64, ulong.MaxValue);
        RoundTrip(MessageCodec.Single, 1.25f);
        RoundTrip(MessageCodec.Double, Math.PI);
        RoundTrip(MessageCodec.String, "text");
        RoundTrip(MessageCodec.String, null);
        RoundTrip(MessageCodec.Timestamp, new MessagePackTimestamp(-5, 7));
        RoundTrip(MessageCodec.NullableValue(MessageCodec.Int32), 5);
        RoundTrip(MessageCodec.NullableValue(MessageCodec.Int32), null);
        Assert.Equal([9, 8], MessageCodec.Deserialize(MessageCodec.Bytes, MessageCodec.Serialize(MessageCodec.Bytes, [9, 8])));
        Assert.Equal([9, 8], MessageCodec.Deserialize(MessageCodec.Memory, MessageCodec.Serialize(MessageCodec.Memory, new byte[] { 9, 8 })).ToArray());
    }

    [Fact]
    public void PooledMemory_copies_the_payload_into_a_lease_that_is_unusable_once_disposed()
    {
        var payload = Enumerable.Range(0, 70_000).Select(i => (byte)i).ToArray();
        using var sent = new ArrayOwner(payload);
        var encoded = MessageCodec.Serialize(MessageCodec.PooledMemory, sent);
        Assert.Equal(MessageCodec.Serialize(MessageCodec.Memory, payload), encoded);
        var lease = MessageCodec.Deserialize(MessageCodec.PooledMemory, encoded);
        Assert.Equal(payload, lease.Memory.ToArray());
        lease.Dispose();
        lease.Dispose(); // twice is harmless: the array went back to the pool once
        Assert.Throws<ObjectDisposedException>(() => lease.Memory);
        Assert.Empty(MessageCodec.Deserialize(MessageCodec.PooledMemory, MessageCodec.Serialize(MessageCodec.Memory, ReadOnlyMemory<byte>.Empty)).Memory.ToArray());
    }

    private sealed class ArrayOwner(byte[] array) : System.Buffers.IMemoryOwner<byte>
    {
        public Memory<byte> Memory => array;

        public void Dispose()
        {
        }
    }

    private static void RoundTrip<T>(IMessageCodec<T> codec, T value) =>
        Assert.Equal(value, MessageCodec.Deserialize(codec, MessageCodec.Serialize(codec, value)));
}
