using System.Text;
using Pinhole.Ocapn.Syrup;

namespace Pinhole.Ocapn.Tests;

public class SyrupMalformedTests
{
    [Theory]
    [InlineData("{4'name1+3'age2+}", "out of canonical order")]
    [InlineData("{3'age1+3'age2+}", "Duplicate dictionary key")]
    [InlineData("#2+1+$", "out of canonical order")]
    [InlineData("#1+1+$", "Duplicate set item")]
    [InlineData("01:a", "leading zero")]
    [InlineData("00+", "leading zero")]
    [InlineData("012+", "leading zero")]
    [InlineData("0-", "Negative zero")]
    [InlineData("x", "Unexpected byte 0x78")]
    [InlineData("]", "Unexpected ']'")]
    [InlineData("[1+}", "Unexpected '}'")]
    [InlineData("<>", "Record without a label")]
    [InlineData("{1+}", "key that has no value")]
    [InlineData("12x", "after digits")]
    [InlineData("t f", "trailing bytes")]
    [InlineData("3:cat+", "trailing bytes")]
    public void Malformed_input_is_rejected_with_a_precise_message(string text, string expected)
    {
        var ex = Assert.Throws<SyrupFormatException>(() => SyrupReader.Decode(Encoding.UTF8.GetBytes(text)));
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        Assert.False(ex.LimitExceeded);
    }

    [Theory]
    [InlineData("3:ca")]
    [InlineData("[1+2+")]
    [InlineData("{3'age")]
    [InlineData("D@ ff")]
    [InlineData("12")]
    [InlineData("<3'foo")]
    [InlineData("")]
    public void Truncated_input_needs_more_data_and_fails_as_a_whole(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        Assert.Equal(SyrupReadStatus.NeedMoreData, SyrupReader.TryRead(bytes, out _, out _));
        var ex = Assert.Throws<SyrupFormatException>(() => SyrupReader.Decode(bytes));
        Assert.Contains("Truncated", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_utf8_in_strings_and_symbols_is_rejected()
    {
        var ex = Assert.Throws<SyrupFormatException>(() => SyrupReader.Decode([(byte)'2', (byte)'"', 0xff, 0xfe]));
        Assert.Contains("not valid UTF-8", ex.Message, StringComparison.Ordinal);
        Assert.Throws<SyrupFormatException>(() => SyrupReader.Decode([(byte)'1', (byte)'\'', 0x80]));
    }

    [Theory]
    [InlineData("99999999999:")]
    [InlineData("4294967296:")]
    [InlineData("16777217\"")]
    public void Huge_lengths_are_refused_before_any_payload_arrives(string prefix)
    {
        // Only the header is present: the reader must refuse it now rather than wait for (or allocate) the payload.
        var ex = Assert.Throws<SyrupFormatException>(() => SyrupReader.TryRead(Encoding.ASCII.GetBytes(prefix), out _, out _));
        Assert.True(ex.LimitExceeded);
    }

    [Fact]
    public void Length_limit_is_configurable()
    {
        var options = new SyrupReaderOptions { MaxLength = 3 };
        Assert.Equal("cat", Encoding.ASCII.GetString(((SyrupBytes)SyrupReader.Decode("3:cat"u8, options)).Span));
        Assert.True(Assert.Throws<SyrupFormatException>(() => SyrupReader.TryRead("4:"u8, out _, out _, options)).LimitExceeded);
    }

    [Fact]
    public void Too_deep_nesting_is_refused()
    {
        var deep = Encoding.ASCII.GetBytes(new string('[', 129) + new string(']', 129));
        var ex = Assert.Throws<SyrupFormatException>(() => SyrupReader.Decode(deep));
        Assert.True(ex.LimitExceeded);
        Assert.Contains("deeper than the limit of 128", ex.Message, StringComparison.Ordinal);
        var ok = Encoding.ASCII.GetBytes(new string('[', 128) + new string(']', 128));
        Assert.Equal(ok, SyrupReader.Decode(ok).Encode());
        // A hostile stream of openers is refused at the limit, not when it ends.
        Assert.Throws<SyrupFormatException>(() => SyrupReader.TryRead(Encoding.ASCII.GetBytes(new string('<', 100_000)), out _, out _));
    }

    [Fact]
    public void Total_size_and_value_count_limits_hold()
    {
        var options = new SyrupReaderOptions { MaxTotalBytes = 10, MaxValues = 4 };
        Assert.True(Assert.Throws<SyrupFormatException>(() => SyrupReader.TryRead("9:"u8, out _, out _, options)).LimitExceeded);
        Assert.True(Assert.Throws<SyrupFormatException>(() => SyrupReader.TryRead("[tttttttttttt"u8, out _, out _, options)).LimitExceeded);
        Assert.True(Assert.Throws<SyrupFormatException>(() => SyrupReader.TryRead("[tttt]"u8, out _, out _, options)).LimitExceeded);
        Assert.Equal(SyrupKind.List, SyrupReader.Decode("[ttt]"u8, options).Kind);
    }

    [Fact]
    public void Integers_longer_than_the_digit_limit_are_refused()
    {
        var options = new SyrupReaderOptions { MaxIntegerDigits = 20 };
        Assert.True(Assert.Throws<SyrupFormatException>(() => SyrupReader.TryRead(Encoding.ASCII.GetBytes(new string('9', 21) + "+"), out _, out _, options)).LimitExceeded);
        Assert.True(Assert.Throws<SyrupFormatException>(() => SyrupReader.TryRead(Encoding.ASCII.GetBytes(new string('9', 5000)), out _, out _)).LimitExceeded);
    }

    [Fact]
    public void Random_garbage_never_escapes_as_another_exception()
    {
        var rng = new Random(42);
        var alphabet = "tfFD0123456789+-:\"'[]{}<>#$x"u8.ToArray();
        for (var i = 0; i < 20_000; i++)
        {
            var bytes = new byte[rng.Next(1, 30)];
            for (var k = 0; k < bytes.Length; k++)
            {
                bytes[k] = rng.Next(4) == 0 ? (byte)rng.Next(256) : alphabet[rng.Next(alphabet.Length)];
            }
            try
            {
                if (SyrupReader.TryRead(bytes, out var value, out var consumed) == SyrupReadStatus.Complete)
                {
                    // Whatever decodes re-encodes to exactly the bytes it came from.
                    Assert.Equal(bytes.AsSpan(0, consumed).ToArray(), value!.Encode());
                }
            }
            catch (SyrupFormatException)
            {
            }
        }
    }
}
