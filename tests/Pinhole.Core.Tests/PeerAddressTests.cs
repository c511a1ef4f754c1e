namespace Pinhole.Core.Tests;

public class PeerAddressTests
{
    private const string Id = "QmfXbAwNjJLXfesgztEHe8HwgVDCMMpZ9Eax1HYq6hn9uE";

    [Fact]
    public void MultiaddrFormSplitsPeerAndHint()
    {
        var address = PeerAddress.Parse($"/ip4/127.0.0.1/tcp/4001/p2p/{Id}");
        Assert.Equal(PeerId.Parse(Id), address.PeerId);
        Assert.Equal("/ip4/127.0.0.1/tcp/4001", Assert.Single(address.Hints).ToString());
        Assert.Equal($"/ip4/127.0.0.1/tcp/4001/p2p/{Id}", address.ToString());
        Assert.Equal(address.PeerId, PeerAddress.Parse($"/ip6/::1/tcp/1/ipfs/{Id}").PeerId);
    }

    [Fact]
    public void PinholeUriFormRoundTripsToAMultiaddr()
    {
        var address = PeerAddress.Parse($"pinhole://{Id}.tcp?host=127.0.0.1&port=4001&future=ignored");
        Assert.Equal($"/ip4/127.0.0.1/tcp/4001/p2p/{Id}", address.ToString());
        Assert.Equal("/ip6/::1/tcp/9", PeerAddress.Parse($"pinhole://{Id}.tcp?host=[::1]&port=9").Hints[0].ToString());
        Assert.Equal("/dns/example.test/tcp/9", PeerAddress.Parse($"pinhole://{Id}.tcp?host=example.test&port=9").Hints[0].ToString());
        Assert.Empty(PeerAddress.Parse($"pinhole://{Id}.tcp").Hints);
    }

    [Fact]
    public void BarePeerIdAndHostPort()
    {
        var bare = PeerAddress.Parse(Id);
        Assert.Equal(PeerId.Parse(Id), bare.PeerId);
        Assert.Empty(bare.Hints);
        var anonymous = PeerAddress.Parse("127.0.0.1:4001");
        Assert.Null(anonymous.PeerId);
        Assert.Equal("/ip4/127.0.0.1/tcp/4001", anonymous.Hints[0].ToString());
    }

    [Theory]
    [InlineData("", "Empty")]
    [InlineData("nonsense", "not a peer address")]
    [InlineData("pinhole://" + Id + ".udp?host=a&port=1", "unknown netlayer 'udp'")]
    [InlineData("pinhole://" + Id + ".tcp?host=a&port=70000", "port '70000'")]
    [InlineData("pinhole://notanid.tcp?host=a&port=1", "Invalid peer ID")]
    [InlineData("/ip4/127.0.0.1/tcp/1/p2p/" + Id + "/tcp/2", "must end the address")]
    [InlineData("/ip4/999.0.0.1/tcp/1", "999.0.0.1")]
    public void BadAddressesSayWhatIsWrong(string text, string expected)
    {
        var e = Assert.Throws<FormatException>(() => PeerAddress.Parse(text));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OverlongTextIsRefusedFirst()
    {
        var e = Assert.Throws<FormatException>(() => PeerAddress.Parse(new string('/', 100_000)));
        Assert.Contains("at most", e.Message, StringComparison.Ordinal);
    }
}
