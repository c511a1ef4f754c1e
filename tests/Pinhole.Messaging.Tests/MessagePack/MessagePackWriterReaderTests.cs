using System.Buffers;
using Pinhole.Messaging.MessagePack;
using Pinhole.Messaging.Tests.Support;

namespace Pinhole.Messaging.Tests.MessagePack;

public class MessagePackWriterReaderTests
{
    [Theory]
    [InlineData(0L, "00")]
    [InlineData(127L, "7f")]
    [InlineData(128L, "cc80")]
    [InlineData(255L, "ccff")]
    [InlineData(256L, "cd0100")]
    [InlineData(65535L, "cdffff")]
    [InlineData(65536L, "ce00010000")]
    [InlineData(4294967295L, "ceffffffff")]
    [InlineData(4294967296L, "cf0000000100000000")]
    [InlineData(long.MaxValue, "cf7fffffffffffffff")]
    [InlineData(-1L, "ff")]
    [InlineData(-32L, "e0")]
    [InlineData(-33L, "d0df")]
    [InlineData(-128L, "d080")]
    [InlineData(-129L, "d1ff7f")]
    [InlineData(-32768L, "d18000")]
    [InlineData(-32769L, "d2ffff7fff")]
    [InlineData(-2147483648L, "d280000000")]
    [InlineData(-2147483649L, "d3ffffffff7fffffff")]
    [InlineData(long.MinValue, "d38000000000000000")]
    public void Integers_use_the_shortest_form_and_round_trip(long value, string hex)
    {
        var bytes = Msgpack.Bytes((ref MessagePackWriter w) => w.Write(value));
        Assert.Equal(hex, Msgpack.ToHex(bytes));
        var reader = new MessagePackReader(bytes);
        Assert.Equal(MessagePackType.Integer, reader.NextType);
        Assert.Equal(value, reader.ReadInt64());
        Assert.True(reader.End);
        // The same through a fragmented sequence.
        var fragmented = new MessagePackReader(Msgpack.Fragmented(bytes));
        Assert.Equal(value, fragmented.ReadInt64());
    }

    [Fact]
    public void UInt64_max_round_trips_and_does_not_fit_Int64()
    {
        var bytes = Msgpack.Bytes((ref MessagePackWriter w) => w.Write(ulong.MaxValue));
        Assert.Equal("cfffffffffffffffff", Msgpack.ToHex(bytes));
        var reader = new MessagePackReader(bytes);
        Assert.Equal(ulong.MaxValue, reader.ReadUInt64());
        var e = MsgpackAssert.Fails(bytes, (ref MessagePackReader r) => r.ReadInt64());
        Assert.Equal(0, e.Offset);
    }

    [Fact]
    public void Every_integer_format_reads_as_the_same_value()
    {
        string[] ones = ["01", "cc01", "cd0001", "ce00000001", "cf0000000000000001", "d001", "d10001", "d200000001", "d30000000000000001"];
        foreach (var hex in ones)
        {
            var reader = new MessagePackReader(Msgpack.Hex(hex));
            Assert.Equal(1, reader.ReadInt32());
        }
    }

    [Fact]
    public void Nil_and_booleans()
    {
        var bytes = Msgpack.Bytes((ref MessagePackWriter w) =>
        {
            w.WriteNil();
            w.Write(true);
            w.Write(false);
        });
        Assert.Equal("c0c3c2", Msgpack.ToHex(bytes));
        var reader = new MessagePackReader(bytes);
        Assert.Equal(MessagePackType.Nil, reader.NextType);
        Assert.True(reader.TryReadNil());
        Assert.False(reader.TryReadNil());
        Assert.True(reader.ReadBoolean());
        Assert.False(reader.ReadBoolean());
        Assert.True(reader.End);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-2.25)]
    [InlineData(1.5)]
    [InlineData(double.MaxValue)]
    [InlineData(double.Epsilon)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(double.NaN)]
    public void Floats_round_trip_bit_exactly(double value)
    {
        var bytes = Msgpack.Bytes((ref MessagePackWriter w) =>
        {
            w.Write(value);
            w.Write((float)value);
        });
        Assert.Equal(MessagePackCode.Float64, bytes[0]);
        Assert.Equal(MessagePackCode.Float32, bytes[9]);
        var reader = new MessagePackReader(Msgpack.Fragmented(bytes));
        Assert.Equal(BitConverter.DoubleToInt64Bits(value), BitConverter.DoubleToInt64Bits(reader.ReadDouble()));
        Assert.Equal(BitConverter.SingleToInt32Bits((float)value), BitConverter.SingleToInt32Bits(reader.ReadSingle()));
    }

    [Theory]
    [InlineData(0, "a0")]
    [InlineData(31, "bf")]
    [InlineData(32, "d920")]
    [InlineData(255, "d9ff")]
    [InlineData(256, "da0100")]
    [InlineData(65535, "daffff")]
    [InlineData(65536, "db00010000")]
    public void Strings_use_fixstr_str8_str16_str32(int length, string headerHex)
    {
        var text = new string('x', length);
        var bytes = Msgpack.Bytes((ref MessagePackWriter w) => w.Write(text));
        Assert.StartsWith(headerHex, Msgpack.ToHex(bytes.AsSpan(0, Math.Min(bytes.Length, 5))), StringComparison.Ordinal);
        Assert.Equal(text, new MessagePackReader(bytes).ReadString());
        Assert.Equal(text, new MessagePackReader(Msgpack.Fragmented(bytes)).ReadString());
    }

    [Fact]
    public void Strings_are_utf8_and_invalid_utf8_is_rejected_with_offset()
    {
        const string text = "héllo, 世界 🍺";
        var bytes = Msgpack.Bytes((ref MessagePackWriter w) => w.Write(text));
        Assert.Equal(text, new MessagePackReader(bytes).ReadString());
        var bad = Msgpack.Hex("c0 a2 c3 28");
        var e = MsgpackAssert.Fails(bad, (ref MessagePackReader r) =>
        {
            r.ReadNil();
            r.ReadString();
        });
        Assert.Equal(1, e.Offset);
        Assert.Contains("UTF-8", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, "c400")]
    [InlineData(255, "c4ff")]
    [InlineData(256, "c50100")]
    [InlineData(65536, "c600010000")]
    public void Binary_uses_bin8_bin16_bin32(int length, string headerHex)
    {
        var data = new byte[length];
        new Random(length).NextBytes(data);
        var bytes = Msgpack.Bytes((ref MessagePackWriter w) => w.Write(data.AsSpan()));
        Assert.StartsWith(headerHex, Msgpack.ToHex(bytes.AsSpan(0, Math.Min(bytes.Length, 5))), StringComparison.Ordinal);
        var reader = new MessagePackReader(Msgpack.Fragmented(bytes));
        Assert.Equal(data, reader.ReadBytes().ToArray());
    }

    [Theory]
    [InlineData(0, "90", "80")]
    [InlineData(15, "9f", "8f")]
    [InlineData(16, "dc0010", "de0010")]
    [InlineData(65535, "dcffff", "deffff")]
    [InlineData(65536, "dd00010000", "df00010000")]
    public void Array_and_map_headers(int count, string arrayHex, string mapHex)
    {
        var bytes = Msgpack.Bytes((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(count);
            for (int i = 0; i < count; i++)
            {
                w.WriteNil();
            }
            w.WriteMapHeader(count);
            for (int i = 0; i < count; i++)
            {
                w.Write(i);
                w.WriteNil();
            }
        });
        Assert.StartsWith(arrayHex, Msgpack.ToHex(bytes.AsSpan(0, Math.Min(5, bytes.Length))), StringComparison.Ordinal);
        var reader = new MessagePackReader(bytes);
        Assert.Equal(count, reader.ReadArrayHeader());
        for (int i = 0; i < count; i++)
        {
            reader.ReadNil();
        }
        Assert.StartsWith(mapHex, Msgpack.ToHex(bytes.AsSpan((int)reader.Consumed, Math.Min(5, bytes.Length - (int)reader.Consumed))), StringComparison.Ordinal);
        Assert.Equal(count, reader.ReadMapHeader());
        for (int i = 0; i < count; i++)
        {
            Assert.Equal(i, reader.ReadInt32());
            reader.ReadNil();
        }
        Assert.True(reader.End);
    }

    [Theory]
    [InlineData(1, "d405")]
    [InlineData(2, "d505")]
    [InlineData(4, "d605")]
    [InlineData(8, "d705")]
    [InlineData(16, "d805")]
    [InlineData(0, "c70005")]
    [InlineData(3, "c70305")]
    [InlineData(255, "c7ff05")]
    [InlineData(256, "c8010005")]
    [InlineData(65536, "c90001000005")]
    public void Extensions_use_fixext_and_ext(int length, string headerHex)
    {
        var data = new byte[length];
        new Random(length).NextBytes(data);
        var bytes = Msgpack.Bytes((ref MessagePackWriter w) => w.WriteExtension(5, data));
        Assert.StartsWith(headerHex, Msgpack.ToHex(bytes.AsSpan(0, Math.Min(bytes.Length, 6))), StringComparison.Ordinal);
        var reader = new MessagePackReader(Msgpack.Fragmented(bytes));
        Assert.Equal(MessagePackType.Extension, reader.NextType);
        var payload = reader.ReadExtension(out sbyte type);
        Assert.Equal(5, type);
        Assert.Equal(data, payload.ToArray());
    }

    [Theory]
    [InlineData(0L, 0u, "d6ff00000000")]
    [InlineData(4294967295L, 0u, "d6ffffffffff")]
    [InlineData(1L, 1u, "d7ff0000000400000001")]
    [InlineData(4294967296L, 0u, "d7ff0000000100000000")]
    [InlineData(17179869183L, 999999999u, "d7ffee6b27ffffffffff")]
    [InlineData(17179869184L, 0u, "c70cff000000000000000400000000")]
    [InlineData(-1L, 0u, "c70cff00000000ffffffffffffffff")]
    [InlineData(-62135596800L, 0u, "c70cff00000000fffffff1886e0900")]
    public void Timestamps_use_the_shortest_of_three_forms(long seconds, uint nanos, string hex)
    {
        var ts = new MessagePackTimestamp(seconds, nanos);
        var bytes = Msgpack.Bytes((ref MessagePackWriter w) => w.Write(ts));
        Assert.Equal(hex, Msgpack.ToHex(bytes));
        Assert.Equal(ts, new MessagePackReader(Msgpack.Fragmented(bytes)).ReadTimestamp());
    }

    [Fact]
    public void DateTimeOffset_round_trips_through_timestamps()
    {
        DateTimeOffset[] values = [DateTimeOffset.UnixEpoch, DateTimeOffset.MinValue, DateTimeOffset.MaxValue, new(2026, 11, 21, 23, 59, 1, 123, TimeSpan.Zero), new(1900, 1, 1, 0, 0, 0, 7, TimeSpan.FromHours(2))];
        foreach (var value in values)
        {
            var bytes = MessageCodec.Serialize(MessageCodec.DateTimeOffset, value);
            Assert.Equal(value, MessageCodec.Deserialize(MessageCodec.DateTimeOffset, bytes));
        }
        var far = MessageCodec.Serialize(MessageCodec.Timestamp, new MessagePackTimestamp(long.MaxValue, 0));
        Assert.Throws<MessagePackException>(() => MessageCodec.Deserialize(MessageCodec.DateTimeOffset, far));
    }

    [Fact]
    public void Timestamp_with_bad_nanoseconds_or_length_is_rejected()
    {
        // timestamp 64 with nanoseconds = 2^30-1 > 999999999
        MsgpackAssert.Fails(Msgpack.Hex("d7ff fffffffc 00000000"), (ref MessagePackReader r) => r.ReadTimestamp());
        MsgpackAssert.Fails(Msgpack.Hex("d5ff 0000"), (ref MessagePackReader r) => r.ReadTimestamp());
        MsgpackAssert.Fails(Msgpack.Hex("d601 00000000"), (ref MessagePackReader r) => r.ReadTimestamp());
    }

    [Fact]
    public void Skip_and_ReadRaw_cover_one_whole_value()
    {
        var bytes = Msgpack.Bytes((ref MessagePackWriter w) =>
        {
            w.WriteMapHeader(2);
            w.Write("a");
            w.WriteArrayHeader(3);
            w.Write(1);
            w.Write(new byte[300]);
            w.WriteExtension(3, new byte[7]);
            w.Write("b");
            w.Write(new MessagePackTimestamp(1, 2));
            w.Write(42);
        });
        var reader = new MessagePackReader(Msgpack.Fragmented(bytes));
        var raw = reader.ReadRaw();
        Assert.Equal(bytes.Length - 1, raw.Length);
        Assert.Equal(42, reader.ReadInt32());
        Assert.True(reader.End);
    }

    [Fact]
    public void Type_mismatch_names_both_types_and_the_offset()
    {
        var e = MsgpackAssert.Fails(Msgpack.Hex("01 02 a1 61"), (ref MessagePackReader r) =>
        {
            r.ReadInt32();
            r.ReadInt32();
            r.ReadInt32();
        });
        Assert.Equal(2, e.Offset);
        Assert.Contains("Expected integer but found string", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Never_used_byte_is_rejected()
    {
        Assert.Equal(MessagePackType.Unknown, new MessagePackReader(Msgpack.Hex("c1")).NextType);
        MsgpackAssert.Fails(Msgpack.Hex("c1"), (ref MessagePackReader r) => r.Skip());
        MsgpackAssert.Fails(Msgpack.Hex("c1"), (ref MessagePackReader r) => r.ReadInt32());
    }

    [Fact]
    public void Int32_range_is_checked()
    {
        var bytes = Msgpack.Bytes((ref MessagePackWriter w) => w.Write(1L << 40));
        MsgpackAssert.Fails(bytes, (ref MessagePackReader r) => r.ReadInt32());
        MsgpackAssert.Fails(Msgpack.Hex("ff"), (ref MessagePackReader r) => r.ReadUInt64());
    }

    [Fact]
    public void Writer_does_not_allocate_per_value()
    {
        var buffer = new ArrayBufferWriter<byte>(1 << 16);
        void WriteMany()
        {
            var writer = new MessagePackWriter(buffer);
            for (int i = 0; i < 1000; i++)
            {
                writer.WriteArrayHeader(3);
                writer.Write(i * 1000L);
                writer.Write(1.5);
                writer.WriteString("hello"u8);
            }
        }
        WriteMany();
        buffer.ResetWrittenCount();
        long before = GC.GetAllocatedBytesForCurrentThread();
        WriteMany();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void Reader_does_not_allocate_for_numbers_and_headers()
    {
        var bytes = Msgpack.Bytes((ref MessagePackWriter w) =>
        {
            for (int i = 0; i < 1000; i++)
            {
                w.WriteArrayHeader(2);
                w.Write(i * 1000L);
                w.Write(2.5);
            }
        });
        void ReadAll()
        {
            var reader = new MessagePackReader(bytes);
            while (!reader.End)
            {
                reader.ReadArrayHeader();
                reader.ReadInt64();
                reader.ReadDouble();
            }
        }
        ReadAll();
        long before = GC.GetAllocatedBytesForCurrentThread();
        ReadAll();
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
