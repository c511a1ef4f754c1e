using Pinhole.Messaging.MessagePack;
using Pinhole.Messaging.Tests.Support;

namespace Pinhole.Messaging.Tests.MessagePack;

/// <summary>Hostile input is rejected before anything big is allocated.</summary>
public class MessagePackHostileInputTests
{
    private static readonly MessagePackReaderOptions Options = new() { MaxDepth = 32 };

    [Fact]
    public void Deep_nesting_is_rejected_at_the_depth_limit()
    {
        var data = Enumerable.Repeat((byte)0x91, 1_000_000).Append((byte)0xc0).ToArray();
        var e = MsgpackAssert.Fails(data, (ref MessagePackReader r) => MessageCodec.Object.Read(ref r), Options);
        Assert.True(e.IsLimitExceeded);
        Assert.Equal(33, e.Offset); // the first element inside the 33rd array
        // Typed codecs honour the same limit.
        var nested = MessageCodec.ArrayOf(MessageCodec.ArrayOf(MessageCodec.ArrayOf(MessageCodec.Int32)));
        Assert.Throws<MessagePackException>(() => MessageCodec.Deserialize(nested, Msgpack.Hex("91 91 91 01"), new MessagePackReaderOptions { MaxDepth = 2 }));
        // Skip is iterative: a million levels cost no stack and finish.
        var reader = new MessagePackReader(data);
        reader.Skip();
        Assert.True(reader.End);
    }

    [Theory]
    [InlineData("db ffffffff 61")]   // str 32 of 4 GiB
    [InlineData("c6 ffffffff 00")]   // bin 32 of 4 GiB
    [InlineData("c9 ffffffff 01 00")] // ext 32 of 4 GiB
    [InlineData("dd ffffffff c0")]   // array 32 of 4 G elements
    [InlineData("df ffffffff c0 c0")] // map 32 of 4 G entries
    [InlineData("dc ffff")]          // array 16, nothing follows
    public void Huge_declared_lengths_fail_before_allocating(string hex)
    {
        var data = Msgpack.Hex(hex);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = MsgpackAssert.Fails(data, (ref MessagePackReader r) => MessageCodec.Object.Read(ref r));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(e.IsTruncated, e.Message);
        Assert.Equal(0, e.Offset);
        Assert.True(allocated < 64 * 1024, $"allocated {allocated} bytes");
    }

    [Fact]
    public void Configured_limits_are_enforced()
    {
        var options = new MessagePackReaderOptions { MaxStringLength = 4, MaxBinaryLength = 4, MaxCollectionLength = 2, MaxTotalLength = 100 };
        Assert.True(MsgpackAssert.Fails(Msgpack.Hex("a5 6161616161"), (ref MessagePackReader r) => r.ReadString(), options).IsLimitExceeded);
        Assert.True(MsgpackAssert.Fails(Msgpack.Hex("c4 05 0000000000"), (ref MessagePackReader r) => r.ReadBytes(), options).IsLimitExceeded);
        Assert.True(MsgpackAssert.Fails(Msgpack.Hex("93 01 02 03"), (ref MessagePackReader r) => r.ReadArrayHeader(), options).IsLimitExceeded);
        Assert.True(MsgpackAssert.Fails(Msgpack.Hex("83 01 01 02 02 03 03"), (ref MessagePackReader r) => r.ReadMapHeader(), options).IsLimitExceeded);
        Assert.Throws<MessagePackException>(() => MessageCodec.Deserialize(MessageCodec.Bytes, new byte[101], options));
    }

    [Fact]
    public void Duplicate_map_keys_are_rejected()
    {
        Assert.Throws<MessagePackException>(() => MessageCodec.Deserialize(MessageCodec.Object, Msgpack.Hex("82 a1 61 01 a1 61 02")));
        var dict = MessageCodec.DictionaryOf(MessageCodec.Int32, MessageCodec.Int32);
        Assert.Throws<MessagePackException>(() => MessageCodec.Deserialize(dict, Msgpack.Hex("82 01 01 01 02")));
    }

    [Fact]
    public void Trailing_bytes_after_a_value_are_rejected()
    {
        var e = Assert.Throws<MessagePackException>(() => MessageCodec.Deserialize(MessageCodec.Int32, Msgpack.Hex("01 02")));
        Assert.Equal(1, e.Offset);
    }
}
