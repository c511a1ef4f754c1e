using System.Net;
using Pinhole.Testing;
using Pinhole.Vpn.Offload;
using Pinhole.Vpn.Tun;

namespace Pinhole.Vpn.Tests;

/// <summary>The real TUN device and rtnetlink, inside a namespace of the test's own.</summary>
[Trait("Category", "Netns")]
public class LinuxTunTests
{
    [NetnsFact("ping")]
    public async Task Tun_ConfiguredByNetlink_AnswersPingThroughReadAndWrite()
    {
        await using var ns = await NetworkNamespace.CreateAsync("tun", ipv6: true);
        var (tun, netlink) = ns.RunInside(() => (LinuxTun.Create("ph0", VpnOffloads.All), RtNetlink.Open()));
        using (netlink)
        {
            netlink.SetLink(tun.InterfaceIndex, up: true, mtu: 1400);
            netlink.AddAddress(tun.InterfaceIndex, IPAddress.Parse("10.9.0.1"), 24);
            netlink.AddAddress(tun.InterfaceIndex, IPAddress.Parse("fd00:9::1"), 64);
            netlink.AddRoute(tun.InterfaceIndex, IPNetwork.Parse("10.10.0.0/16"));
            netlink.AddRoute(tun.InterfaceIndex, IPNetwork.Parse("fd00:10::/48"));
            // Idempotent: replacing what exists is fine.
            netlink.AddAddress(tun.InterfaceIndex, IPAddress.Parse("10.9.0.1"), 24);
            netlink.AddRoute(tun.InterfaceIndex, IPNetwork.Parse("10.10.0.0/16"));
            Assert.Equal(1400, netlink.GetMtu(tun.InterfaceIndex));
        }

        string link = (await ns.ExecAsync("ip", "-d", "link", "show", "ph0")).StandardOutput;
        Assert.Contains("mtu 1400", link);
        Assert.Contains("vnet_hdr on", link);
        Assert.Contains(",UP", link);
        string addresses = (await ns.ExecAsync("ip", "addr", "show", "ph0")).StandardOutput;
        Assert.Contains("10.9.0.1/24", addresses);
        Assert.Contains("fd00:9::1/64", addresses);
        Assert.Contains("10.10.0.0/16 dev ph0", (await ns.ExecAsync("ip", "-4", "route")).StandardOutput);
        Assert.Contains("fd00:10::/48 dev ph0", (await ns.ExecAsync("ip", "-6", "route")).StandardOutput);
        Assert.Equal(VpnOffloads.All, tun.Offloads); // kernel 6.2+ has USO
        Assert.Null(tun.ProbeCoalescedWrites());

        var responder = new Thread(() =>
        {
            var slots = TestPackets.Slots(8, 2048);
            while (true)
            {
                int n = tun.Read(slots);
                if (n == 0)
                {
                    return;
                }
                var replies = new List<PacketRef>();
                for (int i = 0; i < n; i++)
                {
                    if (IcmpEcho.TryReply(slots[i].Span))
                    {
                        replies.Add(slots[i]);
                    }
                }
                tun.Write(replies.ToArray());
            }
        });
        responder.Start();
        try
        {
            var v4 = await ns.TryExecAsync(TimeSpan.FromSeconds(20), "ping", "-c", "3", "-i", "0.2", "-W", "5", "10.10.0.5");
            Assert.True(v4.ExitCode == 0, v4.StandardOutput + v4.StandardError);
            var v6 = await ns.TryExecAsync(TimeSpan.FromSeconds(20), "ping", "-6", "-c", "3", "-i", "0.2", "-W", "5", "fd00:10::5");
            Assert.True(v6.ExitCode == 0, v6.StandardOutput + v6.StandardError);
            var large = await ns.TryExecAsync(TimeSpan.FromSeconds(20), "ping", "-c", "2", "-i", "0.2", "-W", "5", "-s", "1372", "-M", "do", "10.10.0.5");
            Assert.True(large.ExitCode == 0, large.StandardOutput + large.StandardError);
        }
        finally
        {
            tun.Dispose();
            Assert.True(responder.Join(TimeSpan.FromSeconds(10)), "Dispose must wake a blocked Read");
        }
        Assert.DoesNotContain("ph0", (await ns.ExecAsync("ip", "link")).StandardOutput);
    }

    [NetnsFact]
    public async Task Tun_WithoutOffloads_HasNoVirtioHeader()
    {
        await using var ns = await NetworkNamespace.CreateAsync("tunplain");
        using var tun = ns.RunInside(() => LinuxTun.Create("", VpnOffloads.None));
        Assert.StartsWith("tun", tun.Name);
        Assert.Equal(VpnOffloads.None, tun.Offloads);
        Assert.Contains("vnet_hdr off", (await ns.ExecAsync("ip", "-d", "link", "show", tun.Name)).StandardOutput);
    }

    [NetnsFact]
    public async Task Tun_OnlyChecksumOffload_IsReportedSo()
    {
        await using var ns = await NetworkNamespace.CreateAsync("tuncsum");
        using var tun = ns.RunInside(() => LinuxTun.Create("ph1", VpnOffloads.TunChecksum | VpnOffloads.UdpSegmentation));
        Assert.Equal(VpnOffloads.TunChecksum | VpnOffloads.UdpSegmentation, tun.Offloads);
    }

    [Fact]
    public void BadInterfaceName_IsRefusedBeforeAnyNativeCall()
    {
        Assert.Throws<ArgumentException>(() => LinuxTun.Create("a-name-longer-than-15", VpnOffloads.None));
        Assert.Throws<ArgumentException>(() => LinuxTun.Create("a/b", VpnOffloads.None));
    }

    [NetnsFact]
    public async Task Netlink_ReportsErrnoOfFailedRequest()
    {
        await using var ns = await NetworkNamespace.CreateAsync("nl");
        using var netlink = ns.RunInside(RtNetlink.Open);
        var e = Assert.Throws<PeerException>(() => netlink.SetLink(99999, up: true, mtu: null));
        Assert.Contains("ENODEV", e.Message);
    }

    [NetnsTheory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task CoalescedTcpWrites_AreAccepted(bool v6)
    {
        await using var ns = await NetworkNamespace.CreateAsync("tungro", ipv6: true);
        var (tun, netlink) = ns.RunInside(() => (LinuxTun.Create("ph0", VpnOffloads.All), RtNetlink.Open()));
        using (tun)
        using (netlink)
        {
            netlink.SetLink(tun.InterfaceIndex, up: true, mtu: 1400);
            netlink.AddAddress(tun.InterfaceIndex, IPAddress.Parse("10.9.0.1"), 24);
            netlink.AddAddress(tun.InterfaceIndex, IPAddress.Parse("fd00:9::1"), 64);
            var from = v6 ? new IPEndPoint(IPAddress.Parse("fd00:9::2"), 4000) : new IPEndPoint(IPAddress.Parse("10.9.0.2"), 4000);
            var to = v6 ? new IPEndPoint(IPAddress.Parse("fd00:9::1"), 5000) : new IPEndPoint(IPAddress.Parse("10.9.0.1"), 5000);
            var packets = Enumerable.Range(0, 10).Select(i => TestPackets.Tcp(from, to, Packets.IpHeader.TcpAck, 1000, (uint)(1 + i * 1000))).ToArray();
            var refs = TestPackets.Refs(packets);
            Assert.Equal(0, tun.Write(refs));
            Assert.False(tun.CoalescingDisabled);
            Assert.Equal(0, tun.Dropped);
            string stats = (await ns.ExecAsync("ip", "-s", "link", "show", "ph0")).StandardOutput;
            Assert.Contains("RX:", stats);
        }
    }
}
