using Pinhole.Ocapn.Syrup;

namespace Pinhole.Ocapn.Tests;

public class OcapnLocatorTests
{
    private const string D = "3f4e8a5c6b7d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7081";

    [Fact]
    public void Node_locator_round_trips()
    {
        var text = $"ocapn://{D}.tcp-tls?host=example.com&port=8088";
        var loc = OcapnLocator.Parse(text);
        Assert.Equal(D, loc.Designator);
        Assert.Equal("tcp-tls", loc.Transport);
        Assert.Equal("example.com", loc.Host);
        Assert.Equal(8088, loc.Port);
        Assert.Equal(text, loc.ToString());
        Assert.Equal($"ocapn://{D}.tcp-tls", OcapnLocator.Parse($"ocapn://{D}.tcp-tls").ToString());
    }

    [Fact]
    public void Equality_is_designator_and_transport_hints_ignored()
    {
        var a = OcapnLocator.Parse($"ocapn://{D}.tcp-tls?host=a.example&port=1");
        var b = OcapnLocator.Parse($"ocapn://{D.ToUpperInvariant()}.tcp-tls?host=b.example&port=2");
        var c = OcapnLocator.Parse($"ocapn://{D[..^1]}0.tcp-tls?host=a.example&port=1");
        Assert.Equal(a, b);
        Assert.True(a == b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, c);
        Assert.Equal(D, b.Designator);
    }

    [Fact]
    public void Hints_are_percent_encoded_and_decoded()
    {
        var loc = OcapnLocator.ForTcpTls(D, "::1", 9000).WithHints([new("host", "::1"), new("port", "9000"), new("note", "a b&c=d")]);
        var text = loc.ToString();
        Assert.Contains("host=%3A%3A1", text, StringComparison.Ordinal);
        var back = OcapnLocator.Parse(text);
        Assert.Equal("::1", back.Host);
        Assert.Equal("a b&c=d", back.GetHint("note"));
        Assert.Equal("::1", OcapnLocator.Parse($"ocapn://{D}.tcp-tls?host=::1&port=1").Host);
    }

    [Fact]
    public void Sturdyref_round_trips_with_url_safe_base64()
    {
        var swiss = new byte[] { 0xfb, 0xff, 0x00, 0x10, 0x3e };
        var sref = new OcapnSturdyRef(OcapnLocator.ForTcpTls(D, "127.0.0.1", 7000), swiss);
        var text = sref.ToString();
        Assert.Equal($"ocapn://{D}.tcp-tls/s/-_8AED4?host=127.0.0.1&port=7000", text);
        var back = OcapnSturdyRef.Parse(text);
        Assert.Equal(sref, back);
        Assert.Equal(swiss, back.SwissNum.ToArray());
        Assert.Equal(sref, OcapnSturdyRef.Parse($"ocapn://{D}.tcp-tls/s/-_8AED4=?host=x"));
    }

    [Theory]
    [InlineData("http://abc.tcp-tls", "does not start with 'ocapn://'")]
    [InlineData("ocapn://abcd.tcp-tls", "has 4 characters")]
    [InlineData("ocapn://" + D + "0.tcp-tls", "has 65 characters")]
    [InlineData("ocapn://" + "zz" + "3f4e8a5c6b7d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70" + ".tcp-tls", "contains 'z'")]
    [InlineData("ocapn://" + D + ".onion", "unknown transport 'onion'")]
    [InlineData("ocapn://" + D + ".tcp-tls?host=h&port=0", "bad port '0'")]
    [InlineData("ocapn://" + D + ".tcp-tls?host=h&port=65536", "bad port '65536'")]
    [InlineData("ocapn://" + D + ".tcp-tls?host=h&port=80x", "bad port '80x'")]
    [InlineData("ocapn://" + D + ".tcp-tls?host=h&port=-1", "bad port '-1'")]
    [InlineData("ocapn://" + D + ".tcp-tls?host=h&host=i", "appears twice")]
    [InlineData("ocapn://" + D + ".tcp-tls?host", "not key=value")]
    [InlineData("ocapn://" + D + ".tcp-tls/x/abc", "unknown path")]
    [InlineData("ocapn://" + D + ".tcp-tls#frag", "fragment")]
    [InlineData("ocapn://" + D, "<designator>.<transport>")]
    [InlineData("ocapn://" + D + ".tcp-tls:8080", "port in the authority")]
    public void Malformed_locators_are_rejected_clearly(string text, string expected)
    {
        Assert.False(OcapnLocator.TryParse(text, out _, out var error));
        Assert.Contains(expected, error, StringComparison.Ordinal);
        var ex = Assert.Throws<FormatException>(() => OcapnLocator.Parse(text));
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/s/ab+c", "standard base64")]
    [InlineData("/s/ab.c", "unexpected character '.'")]
    [InlineData("/s/abcde", "length mod 4 is 1")]
    [InlineData("/s/", "swiss number is empty")]
    [InlineData("/s/ab===", "too much '=' padding")]
    public void Bad_swiss_numbers_are_rejected_clearly(string path, string expected)
    {
        Assert.False(OcapnSturdyRef.TryParse($"ocapn://{D}.tcp-tls{path}?host=h", out _, out var error));
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Kinds_are_not_confused()
    {
        Assert.Throws<FormatException>(() => OcapnLocator.Parse($"ocapn://{D}.tcp-tls/s/abcd"));
        Assert.Throws<FormatException>(() => OcapnSturdyRef.Parse($"ocapn://{D}.tcp-tls"));
    }

    [Fact]
    public void Syrup_forms_round_trip_and_accept_goblins_field_order()
    {
        var loc = OcapnLocator.ForTcpTls(D, "example.com", 8088);
        var encoded = loc.ToSyrup().Encode();
        Assert.Equal(loc, OcapnLocator.FromSyrup(SyrupReader.Decode(encoded)));
        Assert.Equal($"<10'ocapn-node64\"{D}7'tcp-tls{{4'host11\"example.com4'port4\"8088}}>", System.Text.Encoding.UTF8.GetString(encoded));

        // Goblins' marshaller writes the record fields in its struct order: transport, designator, hints (a list of pairs).
        var goblins = new SyrupRecord(new SyrupSymbol("ocapn-node"), new SyrupSymbol("tcp-tls"), new SyrupString(D),
            new SyrupList(new SyrupList(new SyrupSymbol("host"), new SyrupString("example.com")), new SyrupList(new SyrupSymbol("port"), new SyrupString("8088"))));
        var fromGoblins = OcapnLocator.FromSyrup(goblins);
        Assert.Equal(loc, fromGoblins);
        Assert.Equal(8088, fromGoblins.Port);

        var noHints = new OcapnLocator(D, "tcp-tls");
        Assert.Equal(SyrupBoolean.False, noHints.ToSyrup().Fields[2]);

        var sref = new OcapnSturdyRef(loc, [1, 2, 3]);
        Assert.Equal(sref, OcapnSturdyRef.FromSyrup(SyrupReader.Decode(sref.ToSyrup().Encode())));
        Assert.Throws<FormatException>(() => OcapnLocator.FromSyrup(new SyrupRecord(new SyrupSymbol("other"))));
    }

    [Fact]
    public void Designator_is_sha256d_of_the_pem_text_in_lowercase_hex()
    {
        var pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"u8.ToArray();
        var once = System.Security.Cryptography.SHA256.HashData(pem);
        var twice = System.Security.Cryptography.SHA256.HashData(once);
        Assert.Equal(Convert.ToHexStringLower(twice), OcapnDesignator.FromPem(pem));
    }
}
