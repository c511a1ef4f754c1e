using Pinhole.Messaging.MessagePack;
using Pinhole.Messaging.Tests.Support;

namespace Pinhole.Messaging.Tests.MessagePack;

/// <summary>Seeded random properties: any value tree round-trips; any byte string decodes or fails cleanly.</summary>
public class MessagePackRandomTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Random_value_trees_round_trip_and_encode_canonically(int seed)
    {
        var random = new Random(seed);
        for (int i = 0; i < 500; i++)
        {
            var value = RandomValue(random, depth: 0);
            var bytes = MessageCodec.Serialize(MessageCodec.Object, value);
            var back = MessageCodec.Deserialize(MessageCodec.Object, Msgpack.Fragmented(bytes, i));
            // Re-encoding the decoded tree gives the same bytes: the writer is canonical and the reader lossless.
            var again = MessageCodec.Serialize(MessageCodec.Object, back);
            Assert.Equal(Msgpack.ToHex(bytes), Msgpack.ToHex(again));
            // Skip agrees with the decoder about where the value ends.
            var reader = new MessagePackReader(bytes);
            reader.Skip();
            Assert.True(reader.End);
        }
    }

    [Theory]
    [InlineData(10)]
    [InlineData(11)]
    public void Random_bytes_decode_or_fail_with_MessagePackException(int seed)
    {
        var random = new Random(seed);
        for (int i = 0; i < 20_000; i++)
        {
            var data = new byte[random.Next(0, 40)];
            random.NextBytes(data);
            try
            {
                var reader = new MessagePackReader(data);
                while (!reader.End)
                {
                    MessageCodec.Object.Read(ref reader);
                }
            }
            catch (MessagePackException e)
            {
                Assert.InRange(e.Offset, 0, data.Length);
            }
        }
    }

    [Theory]
    [InlineData(20)]
    [InlineData(21)]
    public void Every_truncation_of_a_valid_value_fails_as_truncated(int seed)
    {
        var random = new Random(seed);
        for (int i = 0; i < 100; i++)
        {
            var bytes = MessageCodec.Serialize(MessageCodec.Object, RandomValue(random, 0));
            // Every cut of small values; 200 random cuts of big ones (each check is linear in the size).
            var cuts = bytes.Length <= 300 ? Enumerable.Range(0, bytes.Length) : Enumerable.Range(0, 200).Select(_ => random.Next(bytes.Length));
            foreach (int cut in cuts)
            {
                var e = MsgpackAssert.Fails(bytes[..cut], (ref MessagePackReader r) => MessageCodec.Object.Read(ref r));
                Assert.True(e.IsTruncated, $"cut {cut} of {Msgpack.ToHex(bytes)}: {e.Message}");
            }
        }
    }

    private static object? RandomValue(Random random, int depth)
    {
        int kind = random.Next(depth > 4 ? 11 : 13);
        switch (kind)
        {
            case 0: return null;
            case 1: return random.Next(2) == 0;
            case 2: return (long)random.Next(-200, 200);
            case 3: return random.NextInt64(long.MinValue, long.MaxValue) >> random.Next(64);
            case 4: return ulong.MaxValue - (ulong)random.Next(1000);
            case 5: return random.NextDouble() * Math.Pow(10, random.Next(-300, 300));
            case 6: return (float)random.NextDouble();
            case 7: return RandomString(random);
            case 8:
                var bytes = new byte[random.Next(0, random.Next(2) == 0 ? 10 : 70_000)];
                random.NextBytes(bytes);
                return bytes;
            case 9: return new MessagePackTimestamp(random.NextInt64(-(1L << 40), 1L << 40), (uint)random.Next(1_000_000_000));
            case 10:
                var data = new byte[new[] { 0, 1, 2, 3, 4, 8, 16, 17, 300 }[random.Next(9)]];
                random.NextBytes(data);
                return new MessagePackExtension((sbyte)random.Next(0, 128), data);
            case 11:
                var array = new object?[random.Next(0, random.Next(2) == 0 ? 5 : 20)];
                for (int i = 0; i < array.Length; i++)
                {
                    array[i] = RandomValue(random, depth + 1);
                }
                return array;
            default:
                var map = new Dictionary<object, object?>();
                int count = random.Next(0, 18);
                for (int i = 0; i < count; i++)
                {
                    map.TryAdd(random.Next(3) == 0 ? (long)random.Next(1000) : RandomString(random), RandomValue(random, depth + 1));
                }
                return map;
        }
    }

    private static string RandomString(Random random)
    {
        int length = random.Next(0, random.Next(2) == 0 ? 8 : 400);
        var chars = new char[length];
        for (int i = 0; i < length; i++)
        {
            // Mostly ASCII, some BMP letters; no lone surrogates (they would not round-trip).
            chars[i] = random.Next(4) == 0 ? (char)random.Next(0x400, 0xd000) : (char)random.Next(0x20, 0x7f);
        }
        return new string(chars);
    }
}
