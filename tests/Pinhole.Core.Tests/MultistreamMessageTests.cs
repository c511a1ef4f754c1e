using System.Text;
using Pinhole.Transport.Multistream;

namespace Pinhole.Core.Tests;

public class MultistreamMessageTests
{
    [Fact]
    public void Header_and_na_have_the_spec_bytes()
    {
        Assert.Equal("132f6d756c746973747265616d2f312e302e300a", Convert.ToHexStringLower(MultistreamMessage.Encode(MultistreamMessage.Header)));
        // multiformats/multistream-select README: "na\n" is 0x036e610a, "ls\n" is 0x036c730a
        Assert.Equal("036e610a", Convert.ToHexStringLower(MultistreamMessage.Encode("na")));
        Assert.Equal("036c730a", Convert.ToHexStringLower(MultistreamMessage.Encode("ls")));
    }

    [Fact]
    public void Several_messages_encode_back_to_back()
    {
        var bytes = MultistreamMessage.Encode(MultistreamMessage.Header, "/ipfs/ping/1.0.0");
        Assert.Equal(20 + 18, bytes.Length);
        Assert.True(MultistreamMessage.TryRead(bytes, out var first, out var n1));
        Assert.Equal(MultistreamMessage.Header, first);
        Assert.True(MultistreamMessage.TryRead(bytes.AsSpan(n1), out var second, out var n2));
        Assert.Equal("/ipfs/ping/1.0.0", second);
        Assert.Equal(bytes.Length, n1 + n2);
    }

    [Fact]
    public void Every_strict_prefix_needs_more_data()
    {
        var bytes = MultistreamMessage.Encode("/yamux/1.0.0");
        for (var i = 0; i < bytes.Length; i++)
        {
            Assert.False(MultistreamMessage.TryRead(bytes.AsSpan(0, i), out var m, out var consumed));
            Assert.Null(m);
            Assert.Equal(0, consumed);
        }
        Assert.True(MultistreamMessage.TryRead(bytes, out var message, out _));
        Assert.Equal("/yamux/1.0.0", message);
    }

    [Fact]
    public void Longest_message_uses_a_two_byte_prefix()
    {
        var text = new string('a', MultistreamMessage.MaxLength - 1);
        var bytes = MultistreamMessage.Encode(text);
        Assert.Equal("8008", Convert.ToHexStringLower(bytes.AsSpan(0, 2))); // varint(1024)
        Assert.True(MultistreamMessage.TryRead(bytes, out var message, out var consumed));
        Assert.Equal(text, message);
        Assert.Equal(1026, consumed);
        Assert.Throws<ArgumentException>(() => MultistreamMessage.Encode(text + "a"));
    }

    [Theory]
    [InlineData("00", "Empty multistream-select message")]
    [InlineData("8108", "1025 bytes exceeds the limit of 1024")]
    [InlineData("ffff01", "longer than 2 bytes")]
    [InlineData("8080", "longer than 2 bytes")]
    [InlineData("8300", "not a minimal varint")]
    [InlineData("026e61", "does not end with a newline")]
    [InlineData("040a6e610a", "more than one line")]
    [InlineData("03c3280a", "not valid UTF-8")]
    public void Bad_bytes_are_protocol_violations(string hex, string expected)
    {
        var bytes = Convert.FromHexString(hex);
        var e = Assert.Throws<PeerException>(() => MultistreamMessage.TryRead(bytes, out _, out _));
        Assert.Equal(PeerError.ProtocolViolation, e.Error);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("a\nb")]
    public void Unsendable_text_is_rejected(string text)
    {
        Assert.Throws<ArgumentException>(() => MultistreamMessage.Encode(text));
    }

    [Fact]
    public void Unpaired_surrogate_is_rejected()
    {
        var text = "/a" + (char)0xD800;
        Assert.Throws<ArgumentException>(() => MultistreamMessage.Encode(text));
    }

    [Fact]
    public void Non_ascii_protocol_ids_are_utf8()
    {
        var bytes = MultistreamMessage.Encode("/é");
        Assert.Equal(4, bytes[0]);
        Assert.True(MultistreamMessage.TryRead(bytes, out var message, out _));
        Assert.Equal("/é", message);
        Assert.Equal("/é\n", Encoding.UTF8.GetString(bytes.AsSpan(1)));
    }
}
