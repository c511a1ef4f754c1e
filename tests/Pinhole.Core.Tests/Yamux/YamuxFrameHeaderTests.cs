using System.Buffers;
using Pinhole.Transport.Yamux;

namespace Pinhole.Core.Tests.Yamux;

public class YamuxFrameHeaderTests
{
    [Fact]
    public void Parse_ReadsBigEndianFields()
    {
        byte[] bytes = [0, 1, 0, 5, 0, 0, 0, 3, 0, 4, 0, 0];
        var header = YamuxFrameHeader.Parse(bytes);
        Assert.Equal(YamuxFrameType.WindowUpdate, header.Type);
        Assert.Equal(YamuxFlags.Syn | YamuxFlags.Fin, header.Flags);
        Assert.Equal(3u, header.StreamId);
        Assert.Equal(256u * 1024, header.Length);
    }

    [Fact]
    public void Write_RoundTrips()
    {
        var header = new YamuxFrameHeader(YamuxFrameType.Ping, YamuxFlags.Ack, 0, 0xDEADBEEF);
        var bytes = new byte[YamuxFrameHeader.Size];
        header.Write(bytes);
        Assert.Equal([0, 2, 0, 2, 0, 0, 0, 0, 0xDE, 0xAD, 0xBE, 0xEF], bytes);
        Assert.Equal(header, YamuxFrameHeader.Parse(bytes));
    }

    [Theory]
    [InlineData(1, 0)]
    [InlineData(0xFF, 0)]
    [InlineData(0, 4)]
    [InlineData(0, 0xFF)]
    public void Parse_RejectsUnknownVersionOrType(byte version, byte type)
    {
        byte[] bytes = [version, type, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0];
        var ex = Assert.Throws<FormatException>(() => YamuxFrameHeader.Parse(bytes));
        Assert.Contains(version != 0 ? "version" : "type", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TryParse_NeedsTwelveBytesAndHandlesSegments()
    {
        var whole = new byte[YamuxFrameHeader.Size];
        new YamuxFrameHeader(YamuxFrameType.Data, YamuxFlags.Rst, 7, 9).Write(whole);
        Assert.False(YamuxFrameHeader.TryParse(new ReadOnlySequence<byte>(whole, 0, 11), out _));

        var first = new Segment(whole.AsMemory(0, 5));
        var last = first.Append(whole.AsMemory(5));
        var split = new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
        Assert.True(YamuxFrameHeader.TryParse(split, out var header));
        Assert.Equal(new YamuxFrameHeader(YamuxFrameType.Data, YamuxFlags.Rst, 7, 9), header);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory) => Memory = memory;

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory) { RunningIndex = RunningIndex + Memory.Length };
            Next = next;
            return next;
        }
    }
}
