using System.Numerics;
using Nerdbank.MessagePack;
using Pinhole.Messaging.MessagePack;
using Pinhole.Messaging.Tests.Support;

namespace Pinhole.Messaging.Tests.Shaped;

/// <summary>
/// MessageCodec.Shaped: users' [GenerateShape] types through Nerdbank.MessagePack, inside Pinhole's codecs,
/// with Pinhole's hostile-input limits applied first.
/// </summary>
public class ShapedCodecTests
{
    [Fact]
    public void Shaped_values_round_trip_with_the_bytes_Nerdbank_writes_on_its_own()
    {
        var drawing = new Drawing("tri", [new(0, 0), new(10, 0), new(0, 10)], new() { ["area"] = 50.0 },
            new DateTimeOffset(2026, 12, 1, 9, 0, 0, TimeSpan.Zero), [1, 2, 3], null);
        var codec = MessageCodec.Shaped<Drawing>();
        var bytes = MessageCodec.Serialize(codec, drawing);
        Assert.Equal(new MessagePackSerializer().Serialize(drawing), bytes);
        var back = MessageCodec.Deserialize(codec, bytes);
        Assert.Equal(drawing.Title, back.Title);
        Assert.Equal(drawing.Points, back.Points);
        Assert.Equal(drawing.Tags, back.Tags);
        Assert.Equal(drawing.Created, back.Created);
        Assert.Equal(drawing.Thumbnail, back.Thumbnail);
        Assert.Null(back.Origin);
        // Reading through fragmented input (segment boundaries everywhere) gives the same value.
        Assert.Equal(drawing.Points, MessageCodec.Deserialize(codec, Msgpack.Fragmented(bytes)).Points);
    }

    [Fact]
    public void Shaped_codecs_compose_with_hand_written_ones()
    {
        var list = MessageCodec.ListOf(MessageCodec.Shaped<Point>());
        var points = new List<Point> { new(1, 2), new(-3, 4) };
        var bytes = MessageCodec.Serialize(list, points);
        Assert.Equal(points, MessageCodec.Deserialize(list, bytes));
        // A Point is a map {X, Y} inside Pinhole's array.
        var tree = (object?[])MessageCodec.Deserialize(MessageCodec.Object, bytes)!;
        Assert.Equal(2, tree.Length);
        Assert.Equal(1L, ((Dictionary<object, object?>)tree[0]!)["X"]);
    }

    [Fact]
    public void Types_without_annotations_use_a_witness()
    {
        var codec = MessageCodec.Shaped<ThirdPartyVector, ThirdPartyWitness>();
        var vector = new ThirdPartyVector(1.5, -2, 3);
        Assert.Equal(vector, MessageCodec.Deserialize(codec, MessageCodec.Serialize(codec, vector)));
    }

    [Fact]
    public void Nerdbank_extension_codes_are_moved_off_the_channel_codes()
    {
        var value = new LibraryTypes(Guid.NewGuid(), 12.345m, BigInteger.Pow(7, 100), Int128.MaxValue, UInt128.MaxValue);
        var codec = MessageCodec.Shaped<LibraryTypes>();
        var bytes = MessageCodec.Serialize(codec, value);
        Assert.Equal(value, MessageCodec.Deserialize(codec, bytes));
        var map = (Dictionary<object, object?>)MessageCodec.Deserialize(MessageCodec.Object, bytes)!;
        var extensions = map.Values.OfType<MessagePackExtension>().Select(e => (int)e.Type).ToList();
        Assert.NotEmpty(extensions);
        Assert.All(extensions, type => Assert.InRange(type, 16, 21));
        // And a libchan channel code in their place is refused, not misread as a Guid.
        var forged = (byte[])bytes.Clone();
        var at = forged.AsSpan().IndexOf((byte)17);
        Assert.True(at > 0 && forged[at - 1] is 0xd8 or 0xc7, "expected the Guid as fixext 16 / ext 8 of type 17");
        forged[at] = 4;
        Assert.Throws<MessagePackException>(() => MessageCodec.Deserialize(codec, forged));
    }

    [Fact]
    public void A_channel_outside_a_session_says_so()
    {
        var (sender, receiver) = MessageChannel.CreatePipe<int>();
        var (lineSender, lines) = MessageChannel.CreatePipe<string>();
        var e = Assert.Throws<InvalidOperationException>(() => MessageCodec.Serialize(MessageCodec.Shaped<JobRequest>(), new JobRequest("x", null!, lines, Stream.Null, sender)));
        Assert.Contains("MessageSession", e.Message, StringComparison.Ordinal);
        _ = receiver;
        _ = lineSender;
    }

    [Fact]
    public void Deep_nesting_is_refused_at_the_session_depth_not_by_a_stack_overflow()
    {
        var codec = MessageCodec.Shaped<Tree>();
        byte[] Nested(int depth)
        {
            // {"Children": [ {"Children": [ ... [] ] } ] }
            var bytes = new List<byte>();
            for (int i = 0; i < depth; i++)
            {
                bytes.AddRange([0x81, 0xa8, .. "Children"u8, 0x91]);
            }
            bytes.AddRange([0x81, 0xa8, .. "Children"u8, 0x90]);
            return [.. bytes];
        }
        Assert.Single(MessageCodec.Deserialize(codec, Nested(5)).Children);
        Assert.Throws<MessagePackException>(() => MessageCodec.Deserialize(codec, Nested(100)));
        Assert.Throws<MessagePackException>(() => MessageCodec.Deserialize(codec, Nested(200_000)));
        var shallow = new MessagePackReaderOptions { MaxDepth = 8 };
        Assert.Throws<MessagePackException>(() => MessageCodec.Deserialize(codec, Nested(10), shallow));
    }

    [Fact]
    public void Declared_lengths_are_checked_before_Nerdbank_allocates()
    {
        var codec = MessageCodec.Shaped<Numbers>();
        // {"Values": array32 of 4,294,967,295 elements} in a few bytes: truncated, found by Pinhole's reader first.
        byte[] huge = [0x81, 0xa6, .. "Values"u8, 0xdd, 0xff, 0xff, 0xff, 0xff, 0x01];
        var e = Assert.Throws<MessagePackException>(() => MessageCodec.Deserialize(codec, huge));
        Assert.True(e.IsTruncated || e.IsLimitExceeded, e.Message);
        // The session's limits apply to shaped values too.
        var values = MessageCodec.Serialize(codec, new Numbers([.. Enumerable.Range(0, 100)]));
        var limited = new MessagePackReaderOptions { MaxCollectionLength = 50 };
        Assert.True(Assert.Throws<MessagePackException>(() => MessageCodec.Deserialize(codec, values, limited)).IsLimitExceeded);
    }

    [Fact]
    public void Duplicate_keys_and_wrong_types_are_format_errors()
    {
        var codec = MessageCodec.Shaped<Point>();
        byte[] duplicate = [0x83, 0xa1, (byte)'X', 0x01, 0xa1, (byte)'Y', 0x02, 0xa1, (byte)'X', 0x03];
        Assert.Throws<MessagePackException>(() => MessageCodec.Deserialize(codec, duplicate));
        byte[] wrongType = [0x82, 0xa1, (byte)'X', 0xa2, (byte)'h', (byte)'i', 0xa1, (byte)'Y', 0x02];
        Assert.Throws<MessagePackException>(() => MessageCodec.Deserialize(codec, wrongType));
        // Strings must be UTF-8, as everywhere in Pinhole (Nerdbank alone would decode 0xc3 0x28 as U+FFFD '(').
        var named = MessageCodec.Shaped<Progress>();
        byte[] badUtf8 = [0x82, 0xa7, .. "Percent"u8, 0x01, 0xa4, .. "Note"u8, 0xa2, 0xc3, 0x28];
        Assert.Contains("UTF-8", Assert.Throws<MessagePackException>(() => MessageCodec.Deserialize(named, badUtf8)).Message, StringComparison.Ordinal);
        // Bytes left over after the value are an error as for every codec.
        Assert.Throws<MessagePackException>(() => MessageCodec.Deserialize(codec, (byte[])[.. MessageCodec.Serialize(codec, new Point(1, 2)), 0xc0]));
    }
}
