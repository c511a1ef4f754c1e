namespace Pinhole.Core.Tests;

public sealed class CircuitAddressTests
{
    private const string Relay = "12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN";
    private const string Peer = "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N";

    [Fact]
    public void ParsesTheFullForm()
    {
        var text = $"/ip4/198.51.100.1/tcp/4001/p2p/{Relay}/p2p-circuit/p2p/{Peer}";
        var address = CircuitAddress.Parse(text);
        Assert.Equal(PeerId.Parse(Relay), address.Relay);
        Assert.Equal(PeerId.Parse(Peer), address.Destination);
        Assert.Equal(Multiaddr.Parse("/ip4/198.51.100.1/tcp/4001"), address.RelayTransport);
        Assert.Equal(Multiaddr.Parse($"/ip4/198.51.100.1/tcp/4001/p2p/{Relay}"), address.RelayAddress);
        Assert.Equal(text, address.ToString());
        Assert.Equal([Multiaddr.Parse("/ip4/198.51.100.1/tcp/4001")], address.RelayPeerAddress.Hints);
        Assert.True(CircuitAddress.IsCircuit(Multiaddr.Parse(text)));
    }

    [Fact]
    public void ParsesTheListenAndIdOnlyForms()
    {
        var listen = CircuitAddress.Parse($"/ip4/198.51.100.1/tcp/4001/p2p/{Relay}/p2p-circuit");
        Assert.Null(listen.Destination);
        var full = listen.WithDestination(PeerId.Parse(Peer));
        Assert.Equal($"/ip4/198.51.100.1/tcp/4001/p2p/{Relay}/p2p-circuit/p2p/{Peer}", full.ToString());

        var idOnly = CircuitAddress.Parse($"/p2p/{Relay}/p2p-circuit/p2p/{Peer}");
        Assert.True(idOnly.RelayTransport.IsEmpty);
        Assert.Empty(idOnly.RelayPeerAddress.Hints);
    }

    [Fact]
    public void ToleratesADoubledRelayId()
    {
        // go-libp2p#3003: reservation addresses with /p2p/R twice.
        var address = CircuitAddress.Parse($"/ip4/198.51.100.1/tcp/4001/p2p/{Relay}/p2p/{Relay}/p2p-circuit/p2p/{Peer}");
        Assert.Equal($"/ip4/198.51.100.1/tcp/4001/p2p/{Relay}/p2p-circuit/p2p/{Peer}", address.ToString());
        var created = CircuitAddress.Create(Multiaddr.Parse($"/ip4/198.51.100.1/tcp/4001/p2p/{Relay}/p2p/{Relay}"), PeerId.Parse(Peer));
        Assert.Equal(address, created);
    }

    [Theory]
    [InlineData("/ip4/198.51.100.1/tcp/4001", "no /p2p-circuit")]
    [InlineData("/ip4/198.51.100.1/tcp/4001/p2p-circuit/p2p/" + Peer, "must follow /p2p/<relay")]
    [InlineData("/p2p/" + Relay + "/p2p-circuit/p2p/" + Peer + "/p2p-circuit/p2p/" + Peer, "relay chains")]
    [InlineData("/p2p/" + Relay + "/p2p-circuit/tcp/1", "only /p2p/<destination")]
    [InlineData("/p2p/" + Peer + "/ip4/1.2.3.4/p2p/" + Relay + "/p2p-circuit", "more than one peer")]
    public void RefusesWhatIsNotACircuitAddress(string text, string expected)
    {
        var e = Assert.Throws<FormatException>(() => CircuitAddress.Parse(text));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.False(CircuitAddress.TryParse(Multiaddr.Parse(text), out _));
    }

    [Fact]
    public void CreateChecksTheRelayAddress()
    {
        Assert.Throws<ArgumentException>(() => CircuitAddress.Create(Multiaddr.Parse("/ip4/1.2.3.4/tcp/1"), null));
        Assert.Throws<ArgumentException>(() => CircuitAddress.Create(Multiaddr.Parse($"/p2p/{Relay}/p2p-circuit/p2p/{Peer}"), null));
    }

    [Fact]
    public void PeerAddressKeepsTheCircuitAsTheHint()
    {
        var address = PeerAddress.Parse($"/ip4/198.51.100.1/tcp/4001/p2p/{Relay}/p2p-circuit/p2p/{Peer}");
        Assert.Equal(PeerId.Parse(Peer), address.PeerId);
        var hint = Assert.Single(address.Hints);
        Assert.True(CircuitAddress.IsCircuit(hint));
        Assert.Equal(PeerId.Parse(Relay), CircuitAddress.Parse(hint).Relay);
        Assert.Null(CircuitAddress.Parse(hint).Destination);
    }
}
