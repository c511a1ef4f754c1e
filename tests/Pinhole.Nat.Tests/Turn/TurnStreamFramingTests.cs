namespace Pinhole.Nat.Tests.Turn;

public sealed class TurnStreamFramingTests
{
    [Theory]
    [InlineData("0001 0000", 20, 20)]          // Binding request, no attributes
    [InlineData("0113 0008", 28, 28)]          // a Data indication with 8 bytes of attributes
    [InlineData("4000 0000", 4, 4)]            // empty ChannelData
    [InlineData("4000 0001", 8, 5)]            // 1 byte: 3 of padding on the stream, not handed on
    [InlineData("4fff 0004", 8, 8)]            // 4 bytes: no padding
    [InlineData("4123 0006", 12, 10)]
    public void Frames_are_measured(string header, int frame, int datagram)
    {
        Assert.Equal(TurnFrameStatus.Frame, TurnStreamFraming.Measure(Convert.FromHexString(header.Replace(" ", "", StringComparison.Ordinal)), out int f, out int d, out string? error));
        Assert.Equal((frame, datagram, null), (f, d, error));
    }

    [Theory]
    [InlineData("0001 0003", "multiple of 4")]
    [InlineData("5000 0004", "0x50")]          // reserved channel range
    [InlineData("8000 0000", "0x80")]          // RTP / anything else
    [InlineData("c0 00 00 00", "0xC0")]
    [InlineData("0001 fffc", "at most")]       // 20 + 65532 > 65535
    public void Anything_else_is_refused_with_the_reason(string header, string reason)
    {
        Assert.Equal(TurnFrameStatus.Invalid, TurnStreamFraming.Measure(Convert.FromHexString(header.Replace(" ", "", StringComparison.Ordinal)), out _, out _, out string? error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Fewer_than_four_bytes_need_more_and_padding_is_for_channel_data_only()
    {
        Assert.Equal(TurnFrameStatus.NeedMore, TurnStreamFraming.Measure([0x40, 0x00, 0x00], out _, out _, out _));
        Assert.Equal(3, TurnStreamFraming.PaddingFor([0x40, 0x00, 0x00, 0x01, 0xAA]));
        Assert.Equal(0, TurnStreamFraming.PaddingFor([0x40, 0x00, 0x00, 0x04, 1, 2, 3, 4]));
        Assert.Equal(0, TurnStreamFraming.PaddingFor(new byte[20])); // STUN: never padded
    }
}
