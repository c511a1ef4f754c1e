using System.Net;
using Microsoft.Extensions.Configuration;
using Pinhole.Membership;
using Pinhole.Vpn.Hosting;

namespace Pinhole.Vpn.Tests;

/// <summary>Coordinator mode in the daemon (<c>Node:Vpn:Network</c>): resolved against the home's joined networks before the node starts.</summary>
public sealed class VpnSettingsNetworkTests : IDisposable
{
    private readonly string _home = Directory.CreateTempSubdirectory("pinhole-vpn-net-").FullName;
    private readonly NodeIdentity _admin = NodeIdentity.Generate();
    private readonly NodeIdentity _self = NodeIdentity.Generate();
    private readonly GenesisRecord _genesis;

    public VpnSettingsNetworkTests()
    {
        DateTimeOffset now = DateTimeOffset.UtcNow - TimeSpan.FromMinutes(5);
        _genesis = GenesisRecord.Create("office", new AdminSet([_admin.PublicKey], 1, []), IPNetwork.Parse("10.77.0.0/16"), null, now, [_admin]);
        Records.Add(_genesis);
        Records.Add(MembershipRecord.Issue(_admin, _genesis.Network, _self.PeerId, IPAddress.Parse("10.77.0.5"), null, ["all"], now, now + TimeSpan.FromDays(30), now));
    }

    private List<NetworkRecord> Records { get; } = [];

    private static IConfiguration Configuration(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build();

    private async Task CacheAsync()
    {
        string directory = VpnSettings.NetworksDirectory(_home);
        Directory.CreateDirectory(directory);
        string path = MembershipClient.CachePath(directory, _genesis.Network);
        await File.WriteAllBytesAsync(path, NetworkCache.Encode(_genesis.Network, 1, Records));
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite); // the cache's owner-only rule, as the client writes it
    }

    [Fact]
    public async Task ByNameOrId_TheNetworkAndTheDefaults()
    {
        await CacheAsync();
        foreach (string name in new[] { "office", _genesis.Network.ToString() })
        {
            var settings = VpnSettings.Read(Configuration(("Node:Vpn:Network", name)));
            Assert.True(settings.Enabled);
            VpnNodeServiceOptions options = (await settings.LoadAsync(_self, _home))!;
            Assert.Equal(_genesis.Network, options.Network);
            Assert.Null(options.Membership);
            Assert.Equal(VpnSettings.DefaultInterface, options.Interface.InterfaceName);
            Assert.Equal(51820, options.Interface.ListenPort);
            Assert.Equal(TimeSpan.FromSeconds(25), options.PersistentKeepalive);
            Assert.Null(options.Interface.Mtu);
            Assert.Empty(options.Interface.Peers); // they come from the memberships at start
            Assert.Equal(Path.Combine(_home, "vpn", "pinhole0.sock"), options.ControlSocketPath);
        }
        var custom = (await VpnSettings.Read(Configuration(("Node:Vpn:Network", "office"), ("Node:Vpn:Interface", "ph3"), ("Node:Vpn:Port", "0"),
            ("Node:Vpn:Keepalive", "0"), ("Node:Vpn:Mtu", "1380"))).LoadAsync(_self, _home))!;
        Assert.Equal("ph3", custom.Interface.InterfaceName);
        Assert.Equal(0, custom.Interface.ListenPort);
        Assert.Equal(TimeSpan.Zero, custom.PersistentKeepalive);
        Assert.Equal(1380, custom.Interface.Mtu);
        Assert.Equal(Path.Combine(_home, "vpn", "ph3.sock"), custom.ControlSocketPath);
    }

    [Fact]
    public async Task UnknownNetwork_NamesItAndListsTheJoinedOnes()
    {
        var none = await Assert.ThrowsAsync<FormatException>(() => VpnSettings.Read(Configuration(("Node:Vpn:Network", "ofice"))).LoadAsync(_self, _home));
        Assert.Equal("Node:Vpn:Network: 'ofice' is not a network this node has joined; it has joined none (pinhole join INVITE).", none.Message);
        await CacheAsync();
        var typo = await Assert.ThrowsAsync<FormatException>(() => VpnSettings.Read(Configuration(("Node:Vpn:Network", "ofice"))).LoadAsync(_self, _home));
        Assert.Equal($"Node:Vpn:Network: 'ofice' is not a network this node has joined; joined: office ({_genesis.Network}).", typo.Message);
    }

    [Fact]
    public async Task RevokedOrNotAMember_IsRefusedBeforeStart()
    {
        Records.Add(RevocationRecord.Issue(_admin, _genesis.Network, _self.PeerId, DateTimeOffset.UtcNow - TimeSpan.FromMinutes(1), DateTimeOffset.UtcNow - TimeSpan.FromMinutes(1), "test"));
        await CacheAsync();
        var revoked = await Assert.ThrowsAsync<MembershipException>(() => VpnSettings.Read(Configuration(("Node:Vpn:Network", "office"))).LoadAsync(_self, _home));
        Assert.Equal(MembershipError.Revoked, revoked.Reason);
        Assert.Contains("no longer a member of office", revoked.Message);
        using var stranger = NodeIdentity.Generate();
        Assert.Equal(MembershipError.Revoked, (await Assert.ThrowsAsync<MembershipException>(() => VpnSettings.Read(Configuration(("Node:Vpn:Network", "office"))).LoadAsync(stranger, _home))).Reason);
    }

    [Theory]
    [InlineData("Node:Vpn:Port", "65536", "Node:Vpn:Port: '65536' is not a number from 0 to 65535.")]
    [InlineData("Node:Vpn:Keepalive", "-1", "Node:Vpn:Keepalive: '-1' is not a number from 0 to 65535.")]
    [InlineData("Node:Vpn:Mtu", "1000", "Node:Vpn:Mtu: '1000' is not a number from 1280 to 65535.")]
    [InlineData("Node:Vpn:Config", "vpn.conf", "Node:Vpn: Config (a file of peers) and Network (peers from a coordinator) are two modes; set one (--vpn or --vpn-network).")]
    public void BadSettings_NameTheKey(string key, string value, string error) =>
        Assert.Equal(error, Assert.Throws<FormatException>(() => VpnSettings.Read(Configuration(("Node:Vpn:Network", "office"), (key, value)))).Message);

    [Fact]
    public void CoordinatorKeysWithoutANetwork_AreRefused()
    {
        var e = Assert.Throws<FormatException>(() => VpnSettings.Read(Configuration(("Node:Vpn:Config", "vpn.conf"), ("Node:Vpn:Port", "51821"))));
        Assert.Equal("Node:Vpn:Port: applies to coordinator mode (Network); a Config file sets it itself.", e.Message);
    }

    [Fact]
    public async Task BadInterfaceName_IsAFormatError()
    {
        await CacheAsync();
        var e = await Assert.ThrowsAsync<FormatException>(() => VpnSettings.Read(Configuration(("Node:Vpn:Network", "office"), ("Node:Vpn:Interface", "a-very-long-interface"))).LoadAsync(_self, _home));
        Assert.StartsWith("Node:Vpn: 'a-very-long-interface' is not a valid interface name", e.Message);
    }

    public void Dispose()
    {
        Directory.Delete(_home, recursive: true);
        _admin.Dispose();
        _self.Dispose();
    }
}
