using Microsoft.Extensions.Configuration;
using Pinhole.Vpn.Hosting;

namespace Pinhole.Vpn.Tests;

/// <summary>The daemon's <c>Node:Vpn</c> section (docs/node.md) and its file, read before the node starts.</summary>
public class VpnSettingsTests
{
    private static IConfiguration Configuration(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build();

    [Fact]
    public void NoSection_NoVpn()
    {
        var settings = VpnSettings.Read(Configuration(("Node:Port", "4001")));
        Assert.False(settings.Enabled);
        Assert.Null(settings.ConfigFile);
    }

    [Fact]
    public void UnknownKeyOrAValue_RefusedWithTheKey()
    {
        var typo = Assert.Throws<FormatException>(() => VpnSettings.Read(Configuration(("Node:Vpn:Confg", "vpn.conf"))));
        Assert.Contains("Node:Vpn:Confg", typo.Message);
        var value = Assert.Throws<FormatException>(() => VpnSettings.Read(Configuration(("Node:Vpn", "vpn.conf"))));
        Assert.Contains("Node:Vpn", value.Message);
    }

    [Fact]
    public async Task RelativePaths_AreInTheHome_AndTheControlSocketDefaultsToTheInterface()
    {
        string home = Directory.CreateTempSubdirectory("pinhole-vpn-settings-").FullName;
        try
        {
            using var identity = NodeIdentity.Generate();
            using var peer = NodeIdentity.Generate();
            await File.WriteAllTextAsync(Path.Combine(home, "ph0.conf"), $"[Interface]\nName = ph7\nAddress = 10.7.0.1/24\n\n[Peer]\nPeerId = {peer.PeerId}\nAllowedIPs = 10.7.0.2/32\n");
            var settings = VpnSettings.Read(Configuration(("Node:Vpn:Config", "ph0.conf")));
            Assert.True(settings.Enabled);
            VpnNodeServiceOptions? options = await settings.LoadAsync(identity, home);
            Assert.NotNull(options);
            Assert.Equal("ph7", options.Interface.InterfaceName);
            Assert.Equal(peer.PeerId, Assert.Single(options.Interface.Peers).PeerId);
            Assert.Equal(Path.Combine(home, "vpn", "ph7.sock"), options.ControlSocketPath);

            var custom = await VpnSettings.Read(Configuration(("Node:Vpn:Config", "ph0.conf"), ("Node:Vpn:ControlSocket", "sockets/x.sock"))).LoadAsync(identity, home);
            Assert.Equal(Path.Combine(home, "sockets", "x.sock"), custom!.ControlSocketPath);
            Assert.Null(await VpnSettings.Read(Configuration()).LoadAsync(identity, home));
        }
        finally
        {
            Directory.Delete(home, recursive: true);
        }
    }

    [Fact]
    public async Task BadOrMissingFile_NamesThePathAndLine()
    {
        string home = Directory.CreateTempSubdirectory("pinhole-vpn-settings-").FullName;
        try
        {
            using var identity = NodeIdentity.Generate();
            string path = Path.Combine(home, "bad.conf");
            await File.WriteAllTextAsync(path, "[Interface]\nAddress = 10.7.0.1/24\nListenPort = 70000\n");
            var bad = await Assert.ThrowsAsync<FormatException>(() => VpnSettings.Read(Configuration(("Node:Vpn:Config", path))).LoadAsync(identity, home));
            Assert.StartsWith($"{path}: line 3:", bad.Message);
            var missing = await Assert.ThrowsAsync<FileNotFoundException>(() => VpnSettings.Read(Configuration(("Node:Vpn:Config", "absent.conf"))).LoadAsync(identity, home));
            Assert.Contains(Path.Combine(home, "absent.conf"), missing.Message);
        }
        finally
        {
            Directory.Delete(home, recursive: true);
        }
    }
}
