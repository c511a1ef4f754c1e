using System.Text;
using Pinhole.Ocapn.Syrup;

namespace Pinhole.Ocapn.Tests;

public class SyrupVectorTests
{
    [VectorFact("syrup/zoo.bin")]
    public void Zoo_decodes_and_reencodes_to_the_same_bytes()
    {
        var bytes = File.ReadAllBytes(RepoPaths.FindVector("syrup/zoo.bin")!);
        Assert.Equal(290, bytes.Length);

        var value = SyrupReader.Decode(bytes);

        var record = Assert.IsType<SyrupRecord>(value);
        Assert.Equal("zoo", Encoding.ASCII.GetString(Assert.IsType<SyrupBytes>(record.Label).Span));
        Assert.Equal("The Grand Menagerie", Assert.IsType<SyrupString>(record.Fields[0]).Value);
        var animals = Assert.IsType<SyrupList>(record.Fields[1]);
        Assert.Equal(3, animals.Count);
        var cat = Assert.IsType<SyrupDictionary>(animals[0]);
        Assert.Equal("Tabatha", Assert.IsType<SyrupString>(cat[new SyrupSymbol("name")]).Value);
        Assert.Equal(12, (int)Assert.IsType<SyrupInteger>(cat[new SyrupSymbol("age")]).Value);
        Assert.True(Assert.IsType<SyrupBoolean>(cat[new SyrupSymbol("alive?")]).Value);
        Assert.Equal(8.2, Assert.IsType<SyrupDouble>(cat[new SyrupSymbol("weight")]).Value);
        Assert.Equal(3, Assert.IsType<SyrupSet>(cat[new SyrupSymbol("eats")]).Count);
        var ghost = Assert.IsType<SyrupDictionary>(animals[2]);
        Assert.Equal(-12, (int)Assert.IsType<SyrupInteger>(ghost[new SyrupSymbol("age")]).Value);
        Assert.Equal(0, Assert.IsType<SyrupSet>(ghost[new SyrupSymbol("eats")]).Count);

        Assert.Equal(bytes, value.Encode());
    }

    [VectorFact("syrup/zoo.bin")]
    public void Zoo_rebuilt_from_unordered_parts_encodes_canonically()
    {
        var bytes = File.ReadAllBytes(RepoPaths.FindVector("syrup/zoo.bin")!);
        var decoded = (SyrupRecord)SyrupReader.Decode(bytes);
        // Rebuild every dictionary and set from reversed entries: the writer must restore canonical order.
        var animals = ((SyrupList)decoded.Fields[1]).Items.Select(a =>
        {
            var dict = (SyrupDictionary)a;
            return (SyrupValue)new SyrupDictionary(dict.Entries.Reverse().Select(e =>
                e.Value is SyrupSet s ? new KeyValuePair<SyrupValue, SyrupValue>(e.Key, new SyrupSet(s.Items.Reverse())) : e));
        });
        var rebuilt = new SyrupRecord(new SyrupBytes("zoo"u8), decoded.Fields[0], new SyrupList(animals));
        Assert.Equal(decoded, rebuilt);
        Assert.Equal(bytes, rebuilt.Encode());
    }

    [Theory]
    [InlineData("t")]
    [InlineData("f")]
    [InlineData("0+")]
    [InlineData("72+")]
    [InlineData("5-")]
    [InlineData("3:cat")]
    [InlineData("0:")]
    [InlineData("4\"bear")]
    [InlineData("5'fetch")]
    [InlineData("[1+2+3+]")]
    [InlineData("#1+2+3+$")]
    [InlineData("{3:age30+4:name5:Alice7:isAlivet}")]
    [InlineData("<6:person5:Alice30+t>")]
    [InlineData("<10'ocapn-node3'abc7'tcp-tlsf>")]
    [InlineData("123456789012345678901234567890+")]
    [InlineData("[]")]
    [InlineData("{}")]
    [InlineData("#$")]
    public void Spec_examples_round_trip(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        Assert.Equal(bytes, SyrupReader.Decode(bytes).Encode());
    }

    [Fact]
    public void Utf8_lengths_count_octets()
    {
        Assert.Equal("6\"björn"u8.ToArray(), new SyrupString("björn").Encode());
        Assert.Equal("3\"熊"u8.ToArray(), new SyrupString("熊").Encode());
        Assert.Equal("6'hämta"u8.ToArray(), new SyrupSymbol("hämta").Encode());
    }

    [Fact]
    public void Floats_are_big_endian_ieee()
    {
        Assert.Equal(new byte[] { (byte)'F', 0x3F, 0x80, 0, 0 }, new SyrupFloat(1.0f).Encode());
        Assert.Equal(new byte[] { (byte)'D', 0x40, 0x20, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66 }, new SyrupDouble(8.2).Encode());
        var nan = new SyrupDouble(double.NaN);
        Assert.Equal(nan, SyrupReader.Decode(nan.Encode()));
    }

    [Fact]
    public void Dictionary_written_in_canonical_order_whatever_the_insertion_order()
    {
        var dict = new SyrupDictionary([
            new("isAlive"u8.ToArray(), true),
            new("name"u8.ToArray(), "Alice"u8.ToArray()),
            new("age"u8.ToArray(), 30),
        ]);
        Assert.Equal("{3:age30+4:name5:Alice7:isAlivet}"u8.ToArray(), dict.Encode());
        Assert.Throws<ArgumentException>(() => new SyrupDictionary([new(1, 1), new(1, 2)]));
        Assert.Equal("#1+2+3+$"u8.ToArray(), new SyrupSet([3, 1, 2, 1]).Encode());
    }

    [Fact]
    public void Lone_surrogates_are_rejected_at_construction()
    {
        Assert.Throws<ArgumentException>(() => new SyrupString("a\ud800"));
        Assert.Throws<ArgumentException>(() => new SyrupSymbol("\udc00"));
    }

    [Fact]
    public void Nesting_beyond_the_model_limit_is_rejected_at_construction()
    {
        SyrupValue v = SyrupList.Empty;
        for (var i = 1; i < SyrupValue.MaxNesting; i++)
        {
            v = new SyrupList(v);
        }
        Assert.Throws<ArgumentException>(() => new SyrupList(v));
    }
}
