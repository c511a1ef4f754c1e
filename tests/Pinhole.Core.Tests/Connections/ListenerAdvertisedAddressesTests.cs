using Pinhole.Core.Tests.Support;

namespace Pinhole.Core.Tests.Connections;

/// <summary>What identify tells a peer that connected to a listener: its sockets, or what the owner advertises.</summary>
public sealed class ListenerAdvertisedAddressesTests : IDisposable
{
    private readonly NodeIdentity _alice = NodeIdentity.Generate();
    private readonly NodeIdentity _bob = NodeIdentity.Generate();

    public void Dispose()
    {
        _alice.Dispose();
        _bob.Dispose();
    }

    [Fact]
    public async Task Without_advertised_addresses_identify_lists_the_listeners_own()
    {
        await using var listener = await TestNodes.ListenAsync(_bob);
        var (client, server) = await TestNodes.ConnectAsync(_alice, listener);
        await using (client)
        await using (server)
        {
            var identify = await client.IdentifyAsync(TestNodes.Bounded());
            Assert.Equal(listener.GetDialableAddresses(), identify.ListenAddrs);
        }
    }

    [Fact]
    public async Task A_disposed_listener_still_lists_its_addresses()
    {
        var listener = await TestNodes.ListenAsync(_bob);
        var before = listener.GetDialableAddresses();
        await listener.DisposeAsync();
        Assert.Equal(before, listener.GetDialableAddresses());
    }

    [Fact]
    public async Task Advertised_addresses_are_what_identify_lists_and_are_read_at_each_request()
    {
        var mapped = Multiaddr.Parse("/ip4/203.0.113.5/tcp/4001/p2p/" + _bob.PeerId);
        IReadOnlyList<Multiaddr> advertised = [mapped];
        await using var listener = await TestNodes.ListenAsync(_bob, o => o.AdvertisedAddresses = () => advertised);
        var (client, server) = await TestNodes.ConnectAsync(_alice, listener);
        await using (client)
        await using (server)
        {
            Assert.Equal([mapped], (await client.IdentifyAsync(TestNodes.Bounded())).ListenAddrs);
            var relayed = Multiaddr.Parse($"/ip4/198.51.100.1/tcp/4001/p2p/{_alice.PeerId}/p2p-circuit/p2p/{_bob.PeerId}");
            advertised = [mapped, relayed];
            Assert.Equal([mapped, relayed], (await client.IdentifyAsync(TestNodes.Bounded())).ListenAddrs);
        }
    }
}
