using System.Buffers;
using Pinhole.Messaging.Internal;
using Pinhole.Messaging.MessagePack;
using Pinhole.Messaging.Tests.Support;

namespace Pinhole.Messaging.Tests.Channels;

/// <summary>The frame layout of docs/messaging.md, byte for byte.</summary>
public class ChannelFrameTests
{
    [Fact]
    public void A_message_frame_is_length_type_body()
    {
        var output = new ArrayBufferWriter<byte>();
        var body = Msgpack.Bytes((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(2);
            w.Write(1);
            w.Write("hi");
        });
        ChannelFrame.WriteHeader(output, ChannelFrameType.Message, body.Length);
        output.Write(body);
        Assert.Equal("06009201a26869", Msgpack.ToHex(output.WrittenSpan));

        var buffer = new ReadOnlySequence<byte>(output.WrittenMemory);
        Assert.True(ChannelFrame.TryRead(ref buffer, 100, out var type, out var parsed));
        Assert.Equal(ChannelFrameType.Message, type);
        Assert.Equal(body, parsed.ToArray());
        Assert.True(buffer.IsEmpty);
    }

    [Fact]
    public void Frames_parse_across_segment_boundaries()
    {
        var output = new ArrayBufferWriter<byte>();
        var random = new Random(5);
        var bodies = new List<byte[]>();
        for (int i = 0; i < 200; i++)
        {
            var body = new byte[random.Next(0, 300)];
            random.NextBytes(body);
            bodies.Add(body);
            ChannelFrame.WriteHeader(output, (ChannelFrameType)(i % 3), body.Length);
            output.Write(body);
        }
        var buffer = Msgpack.Fragmented(output.WrittenSpan.ToArray(), seed: 9);
        for (int i = 0; i < bodies.Count; i++)
        {
            Assert.True(ChannelFrame.TryRead(ref buffer, 1000, out var type, out var body));
            Assert.Equal((ChannelFrameType)(i % 3), type);
            Assert.Equal(bodies[i], body.ToArray());
        }
        Assert.True(buffer.IsEmpty);
    }

    [Fact]
    public void Incomplete_frames_wait_for_more_bytes()
    {
        var data = Msgpack.Hex("06009201a26869");
        for (int cut = 0; cut < data.Length; cut++)
        {
            var buffer = new ReadOnlySequence<byte>(data, 0, cut);
            Assert.False(ChannelFrame.TryRead(ref buffer, 100, out _, out _));
            Assert.Equal(cut, buffer.Length);
        }
    }

    [Fact]
    public void Oversized_and_malformed_frames_are_refused_before_buffering()
    {
        // Declares 2^28 bytes; only the prefix has arrived.
        var huge = new ReadOnlySequence<byte>(Msgpack.Hex("80808080 01"));
        Assert.Equal(PeerError.LimitExceeded, Assert.Throws<PeerException>(() => ChannelFrame.TryRead(ref huge, 1 << 20, out _, out _)).Error);
        var zero = new ReadOnlySequence<byte>(Msgpack.Hex("00"));
        Assert.Equal(PeerError.ProtocolViolation, Assert.Throws<PeerException>(() => ChannelFrame.TryRead(ref zero, 100, out _, out _)).Error);
        var tooLong = new ReadOnlySequence<byte>(Msgpack.Hex("ffffffffff7f"));
        Assert.Equal(PeerError.ProtocolViolation, Assert.Throws<PeerException>(() => ChannelFrame.TryRead(ref tooLong, 100, out _, out _)).Error);
        var unknownType = new ReadOnlySequence<byte>(Msgpack.Hex("01 07"));
        Assert.Equal(PeerError.ProtocolViolation, Assert.Throws<PeerException>(() => ChannelFrame.TryRead(ref unknownType, 100, out _, out _)).Error);
    }

    [Fact]
    public async Task Stream_headers_name_the_kind_and_attachment_id()
    {
        var top = new MemoryStream();
        await StreamHeader.WriteAsync(top, StreamHeader.TopLevel, 0, default);
        Assert.Equal("00", Msgpack.ToHex(top.ToArray()));
        var attachment = new MemoryStream();
        await StreamHeader.WriteAsync(attachment, StreamHeader.Attachment, 300, default);
        Assert.Equal("01ac02", Msgpack.ToHex(attachment.ToArray()));
        attachment.Position = 0;
        attachment.Write("tail"u8);
        attachment.Position = 0;
        var read = new MemoryStream([.. Msgpack.Hex("01ac02"), .. "tail"u8.ToArray()]);
        Assert.Equal((StreamHeader.Attachment, 300UL), await StreamHeader.ReadAsync(read, default));
        Assert.Equal(3, read.Position); // nothing after the header is consumed
        await Assert.ThrowsAsync<PeerException>(async () => await StreamHeader.ReadAsync(new MemoryStream([9]), default));
    }
}
