using System.Net;
using Microsoft.Extensions.Configuration;

namespace Pinhole.Node.Tests;

/// <summary>
/// The daemon's list settings: a file's array, or one comma list (an environment variable, the daemon's flags)
/// that replaces the array whole. Configuration merges arrays by index: a flag's one address over a file's two
/// would otherwise keep the file's second.
/// </summary>
public sealed class NodeSettingsListTests
{
    private static NodeSettings Read(params (string Key, string Value)[] values) =>
        NodeSettings.Read(new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build());

    [Fact]
    public void Listen_addresses_come_from_the_array_or_a_comma_list_that_replaces_it()
    {
        Assert.Equal(
            [Multiaddr.Parse("/ip4/127.0.0.1/tcp/4001"), Multiaddr.Parse("/ip6/::1/tcp/4001")],
            Read(("Node:Listen:0", "/ip4/127.0.0.1/tcp/4001"), ("Node:Listen:1", "/ip6/::1/tcp/4001")).Listen);
        var replaced = Read(("Node:Listen:0", "/ip4/127.0.0.1/tcp/4001"), ("Node:Listen:1", "/ip6/::1/tcp/4001"), ("Node:Listen", "/ip4/127.0.0.2/tcp/0"));
        Assert.Equal([Multiaddr.Parse("/ip4/127.0.0.2/tcp/0")], replaced.Listen);
        Assert.Equal(2, Read(("Node:Listen", " /ip4/127.0.0.2/tcp/0 , /ip4/127.0.0.3/tcp/0")).Listen.Count);
        // An empty list clears the file's: the node's default addresses.
        Assert.Empty(Read(("Node:Listen:0", "/ip4/127.0.0.1/tcp/4001"), ("Node:Listen", "")).Listen);
    }

    [Fact]
    public void Stun_servers_come_from_the_array_or_a_comma_list_that_replaces_it()
    {
        var file = Read(("Node:Stun:0", "127.0.0.1:3478"), ("Node:Stun:1", "[::1]:3478"));
        Assert.Equal([IPEndPoint.Parse("127.0.0.1:3478"), IPEndPoint.Parse("[::1]:3478")], file.StunServers);
        var replaced = Read(("Node:Stun:0", "127.0.0.1:3478"), ("Node:Stun:1", "[::1]:3478"), ("Node:Stun", "127.0.0.9:3478"));
        Assert.Equal([IPEndPoint.Parse("127.0.0.9:3478")], replaced.StunServers);
    }

    [Theory]
    [InlineData("Node:Listen", "/ip4/127.0.0.1/tcp/0,not-an-address", "Node:Listen:")]
    [InlineData("Node:Listen:0", "not-an-address", "Node:Listen:")]
    [InlineData("Node:Stun", "127.0.0.1:3478,nowhere", "Node:Stun:")]
    public void A_bad_entry_is_refused_naming_its_key(string key, string value, string message)
    {
        var e = Assert.Throws<FormatException>(() => Read((key, value)));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }
}
