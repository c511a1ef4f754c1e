using System.Net;
using Microsoft.Extensions.Configuration;

namespace Pinhole.Node.Tests;

/// <summary>The daemon settings that turn on relays, hole punching and port mapping (<see cref="NodeSettings.Configure"/>).</summary>
public sealed class NodeSettingsNatTests : IAsyncLifetime
{
    private const string Relay = "/ip4/198.51.100.1/tcp/4001/p2p/12D3KooWCAh4EQkinuHP6BHKbaGL5soJMd7pwD8yBpzYfnHWSBAe";

    private readonly TestNodes _nodes = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _nodes.DisposeAsync();

    private static NodeSettings Read(params (string Key, string Value)[] values) =>
        NodeSettings.Read(new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build());

    [Fact]
    public void By_default_nothing_is_added()
    {
        var settings = Read();
        Assert.Empty(settings.Relays);
        Assert.True(settings.HolePunching);
        Assert.False(settings.ServeRelay);
        Assert.False(settings.PortMapping);
        Assert.Equal(NodeReachability.Auto, settings.Reachability);
        var builder = settings.Configure(PinholeNode.CreateBuilder(TestNodes.Options(_nodes.NewIdentity())));
        var node = builder.Build();
        Assert.Empty(node.Services);
    }

    [Fact]
    public void Relays_hole_punching_reachability_and_port_mapping_reach_the_node()
    {
        var settings = Read(
            ("Node:Relays:0", Relay),
            ("Node:HolePunching", "false"),
            ("Node:Reachability", "private"),
            ("Node:PortMapping", "true"),
            ("Node:PortMappingGateway", "192.168.1.1"));
        Assert.Equal([Multiaddr.Parse(Relay)], settings.Relays);
        Assert.False(settings.HolePunching);
        Assert.Equal(NodeReachability.Private, settings.Reachability);
        Assert.Equal(IPAddress.Parse("192.168.1.1"), settings.PortMappingGateway);

        var builder = PinholeNode.CreateBuilder(TestNodes.Options(_nodes.NewIdentity()));
        settings.Configure(builder);
        // Hole punching off: the listener is not bound with SO_REUSEPORT.
        Assert.False(builder.Options.Transport.ReusePort);
        var node = builder.Build();
        Assert.NotNull(node.GetService<NodeRelayService>());
        Assert.NotNull(node.GetService<NodePortMappingService>());
    }

    [Fact]
    public void A_comma_separated_list_and_serving_as_a_relay_add_the_relay_service_with_hole_punching()
    {
        var settings = Read(("Node:Relays", Relay + ", " + Relay.Replace("198.51.100.1", "198.51.100.2", StringComparison.Ordinal)), ("Node:ServeRelay", "true"));
        Assert.Equal(2, settings.Relays.Count);
        Assert.True(settings.ServeRelay);
        var builder = PinholeNode.CreateBuilder(TestNodes.Options(_nodes.NewIdentity()));
        settings.Configure(builder);
        Assert.True(builder.Options.Transport.ReusePort);
        Assert.NotNull(builder.Build().GetService<NodeRelayService>());
    }

    [Theory]
    [InlineData("Node:Relays:0", "/ip4/198.51.100.1/tcp/4001", "Node:Relays: '/ip4/198.51.100.1/tcp/4001' is not a relay address ending in /p2p/")]
    [InlineData("Node:Relays:0", Relay + "/p2p-circuit", "is not a relay address")]
    [InlineData("Node:Relays", "not-a-multiaddr", "Node:Relays:")]
    [InlineData("Node:Reachability", "sometimes", "Node:Reachability: 'sometimes' is not auto, public or private.")]
    [InlineData("Node:Reachability", "1", "Node:Reachability: '1' is not auto, public or private.")]
    [InlineData("Node:PortMapping", "yes", "Node:PortMapping: 'yes' is not true or false.")]
    [InlineData("Node:HolePunching", "maybe", "Node:HolePunching: 'maybe' is not true or false.")]
    [InlineData("Node:PortMappingGateway", "::1", "Node:PortMappingGateway: '::1' is not an IPv4 address.")]
    public void A_bad_value_names_its_key(string key, string value, string message)
    {
        var e = Assert.Throws<FormatException>(() => Read((key, value)));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_comma_list_replaces_the_whole_array_rather_than_merging_by_index()
    {
        var other = Relay.Replace("198.51.100.1", "198.51.100.2", StringComparison.Ordinal);
        var third = Relay.Replace("198.51.100.1", "198.51.100.3", StringComparison.Ordinal);
        // The file's array, then an environment variable or the daemon's --relay flags (one comma list).
        var settings = Read(("Node:Relays:0", Relay), ("Node:Relays:1", other), ("Node:Relays", third));
        Assert.Equal([Multiaddr.Parse(third)], settings.Relays);
        Assert.Equal([Multiaddr.Parse(Relay), Multiaddr.Parse(other)], Read(("Node:Relays:0", Relay), ("Node:Relays:1", other)).Relays);
        // An empty list clears the file's.
        Assert.Empty(Read(("Node:Relays:0", Relay), ("Node:Relays", "")).Relays);
    }

    [Theory]
    [InlineData("Node:HolePunching", "false", "Node:HolePunching: has no effect without Node:Relays or Node:ServeRelay")]
    [InlineData("Node:HolePunching", "true", "Node:HolePunching: has no effect without Node:Relays or Node:ServeRelay")]
    [InlineData("Node:Reachability", "private", "Node:Reachability: has no effect without Node:Relays")]
    public void A_relay_setting_without_relays_is_refused_naming_its_key(string key, string value, string message)
    {
        var e = Assert.Throws<FormatException>(() => Read((key, value)));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
        // With what it acts on, the same setting is taken.
        Assert.Equal(value, key == "Node:HolePunching"
            ? Read((key, value), ("Node:ServeRelay", "true")).HolePunching.ToString().ToLowerInvariant()
            : Read((key, value), ("Node:Relays", Relay)).Reachability.ToString().ToLowerInvariant());
        Assert.Throws<FormatException>(() => Read(("Node:Reachability", "public"), ("Node:ServeRelay", "true")));
    }

    [Fact]
    public void Stun_servers_turn_on_udp_punching_with_the_turn_server()
    {
        var settings = Read(("Node:Stun:0", "198.51.100.7:3478"), ("Node:Turn", "alice:s3cr:et@198.51.100.7:3478"));
        Assert.True(settings.UdpHolePunching);
        Assert.Equal("alice", settings.Turn!.Username);
        Assert.Equal("s3cr:et", settings.Turn.Password);
        Assert.Equal(IPEndPoint.Parse("198.51.100.7:3478"), settings.Turn.Server);
        var options = TestNodes.Options(_nodes.NewIdentity());
        options.StunServers.Add(IPEndPoint.Parse("198.51.100.7:3478"));
        var node = settings.Configure(PinholeNode.CreateBuilder(options)).Build();
        Assert.NotNull(node.GetService<NodeUdpPunchService>());
        Assert.Contains(NodeUdpPunchService.ProtocolId, node.LimitedConnectionProtocols);
    }

    [Fact]
    public void Udp_punching_can_be_turned_off()
    {
        var settings = Read(("Node:Stun:0", "198.51.100.7:3478"), ("Node:UdpHolePunching", "false"));
        var options = TestNodes.Options(_nodes.NewIdentity());
        options.StunServers.Add(IPEndPoint.Parse("198.51.100.7:3478"));
        Assert.Null(settings.Configure(PinholeNode.CreateBuilder(options)).Build().GetService<NodeUdpPunchService>());
    }

    [Theory]
    [InlineData("Node:Turn", "alice:pw@198.51.100.7:3478", "without Node:Stun")]
    [InlineData("Node:UdpHolePunching", "true", "without Node:Stun")]
    public void Udp_punching_settings_without_stun_are_refused(string key, string value, string expected)
    {
        var e = Assert.Throws<FormatException>(() => Read((key, value)));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("pw", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("alice@198.51.100.7:3478")]
    [InlineData("alice:pw@turn.example.org:3478")]
    [InlineData("alice:pw@198.51.100.7")]
    [InlineData(":pw@198.51.100.7:3478")]
    public void A_bad_turn_server_is_refused_without_echoing_the_password(string value)
    {
        var e = Assert.Throws<FormatException>(() => Read(("Node:Stun:0", "198.51.100.7:3478"), ("Node:Turn", value)));
        Assert.StartsWith("Node:Turn: ", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("pw", e.Message, StringComparison.Ordinal);
    }
}
