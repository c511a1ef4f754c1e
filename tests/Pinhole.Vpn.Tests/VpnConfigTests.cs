using System.Net;
using System.Text;
using Pinhole.Vpn.Config;

namespace Pinhole.Vpn.Tests;

public class VpnConfigTests
{
    private static readonly string PeerA = NodeIdentity.Generate().PeerId.ToString();
    private static readonly string PeerB = NodeIdentity.Generate().PeerId.ToString();

    [Fact]
    public async Task FullConfig_ParsesToOptions()
    {
        var config = VpnConfig.Parse($"""
            # a comment
            [Interface]
            Name = ph7
            Address = 10.7.0.1/24, fd07::1/64
            Address = 10.8.0.1/16
            ListenPort = 51820
            MTU = 1400
            DisableOffloads = tun-tso, udp-gro
            FwMark = 1234
            Table = 77

            [Peer]
            PeerId = {PeerA}
            Name = laptop   # inline comment
            AllowedIPs = 10.7.0.2/32, fd07::2/128
            AllowedIPs = 192.168.5.0/24
            Endpoint = 192.0.2.7:51820
            PersistentKeepalive = 25

            [peer]
            PeerId = {PeerB}
            AllowedIPs = 10.7.0.3
            Endpoint = [2001:db8::7]:4000
            """);
        Assert.Equal("ph7", config.Name);
        Assert.Equal(["10.7.0.1/24", "fd07::1/64", "10.8.0.1/16"], config.Addresses.Select(a => a.ToString()));
        Assert.Equal(VpnOffloads.All & ~VpnOffloads.TunTcpSegmentation & ~VpnOffloads.UdpCoalescing, config.Offloads);
        Assert.Equal(2, config.Peers.Count);
        Assert.Equal(["10.7.0.2/32", "fd07::2/128", "192.168.5.0/24"], config.Peers[0].AllowedPrefixes.Select(p => p.ToString()));
        Assert.Equal(TimeSpan.FromSeconds(25), config.Peers[0].PersistentKeepalive);
        Assert.Equal("10.7.0.3/32", config.Peers[1].AllowedPrefixes.Single().ToString());

        using var identity = NodeIdentity.Generate();
        var options = await config.ToOptionsAsync(identity);
        options.Validate();
        Assert.Equal(IPEndPoint.Parse("[2001:db8::7]:4000"), options.Peers[1].Endpoint);
        Assert.Equal(1234u, options.FirewallMark);
        Assert.Equal(77u, options.RouteTable);
        Assert.Equal(1400, options.Mtu);
    }

    public static TheoryData<string, string> Bad() => new()
    {
        { "[Interface]\nAddress = 10.7.0.300/24", "line 2" },
        { "[Interface]\nListenPort = 70000", "ListenPort" },
        { "[Interface]\nMTU = 1000", "MTU" },
        { "[Interface]\nBogus = 1", "unknown [Interface] key" },
        { "[Interface]\nListenPort = 1\nListenPort = 2", "twice" },
        { "[Interface]\n[Interface]", "second [Interface]" },
        { "Address = 10.0.0.1/24", "before any" },
        { "[Peer]\nPeerId = x", "not a PeerId" },
        { "[Interface]\n[Peer]\nAllowedIPs = 10.0.0.0/8", "no PeerId" },
        { "[Interface]\n[Peer]\nPeerId = " + "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N" + "\nEndpoint = 2001:db8::1:80", "host:port" },
        { "[Interface]\n[Peer]\nPeerId = QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N\nEndpoint = host:0", "host:port" },
        { "[Interface]\n[Peer]\nPeerId = QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N\n[Peer]\nPeerId = QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N", "twice" },
        { "[Interface]\nDisableOffloads = warp-drive", "unknown offload" },
        { "[Interface]\nName = a-much-too-long-name", "interface name" },
        { "[Wireguard]", "unknown section" },
        { "[Interface", "section header" },
        { "[Interface]\nno equals sign", "Key = Value" },
        { "", "no [Interface]" },
    };

    [Theory]
    [MemberData(nameof(Bad))]
    public void BadConfigs_AreRefusedWithTheLine(string text, string expected)
    {
        var e = Assert.Throws<FormatException>(() => VpnConfig.Parse(text));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void OversizeAndInvalidUtf8_AreRefused()
    {
        Assert.Throws<FormatException>(() => VpnConfig.Parse(new byte[VpnConfig.MaxLength + 1]));
        Assert.Throws<FormatException>(() => VpnConfig.Parse([0x5B, 0xFF, 0xFE]));
    }

    [Fact]
    public async Task DuplicatePrefixAcrossPeers_FailsValidation()
    {
        var config = VpnConfig.Parse($"[Interface]\n[Peer]\nPeerId = {PeerA}\nAllowedIPs = 10.0.0.0/24\n[Peer]\nPeerId = {PeerB}\nAllowedIPs = 10.0.0.7/24\n");
        using var identity = NodeIdentity.Generate();
        var options = await config.ToOptionsAsync(identity);
        Assert.Contains("belongs to one peer", Assert.Throws<ArgumentException>(options.Validate).Message);
    }

    [Fact]
    public void RandomText_NeverThrowsAnythingButFormatException()
    {
        var random = new Random(9);
        string[] pieces = ["[Interface]", "[Peer]", "Address", "AllowedIPs", "=", "10.0.0.1/24", ",", "\n", "#", "PeerId", PeerA, "Endpoint", "[::1]:5", ":", "/", "MTU", "99999", " "];
        for (int i = 0; i < 5000; i++)
        {
            var text = new StringBuilder();
            int n = random.Next(0, 30);
            for (int j = 0; j < n; j++)
            {
                text.Append(pieces[random.Next(pieces.Length)]);
            }
            try
            {
                VpnConfig.Parse(Encoding.UTF8.GetBytes(text.ToString()));
            }
            catch (FormatException)
            {
            }
        }
    }
}
