using System.Net;
using Pinhole.Testing;
using Pinhole.Vpn.Routing;

namespace Pinhole.Vpn.Tests;

/// <summary>Paths that change under the tunnel: roaming, NAT timeouts, a full-tunnel default route.</summary>
[Trait("Category", "Netns")]
public class NetnsPathTests
{
    [NetnsFact("ping", "nft", "conntrack")]
    public async Task Roaming_AddressAndPortChange_TrafficContinuesAfterOnePacket_NoNewHandshake()
    {
        // Nothing but the test's pings: a packet from B to A's old address between the conntrack flush and A's
        // ping (an RTT ping, a path MTU probe, a passive keepalive, due after 10 s on a loaded machine) would make
        // a conntrack entry in which A's packets are replies, never SNATed, so B would rightly not see A move.
        var quiet = new VpnTimings { PingInterval = TimeSpan.MaxValue, ProbePathMtu = false, KeepaliveTimeout = TimeSpan.FromSeconds(30) };
        await using var lab = await VpnLab.CreateAsync(configure: (a, b) =>
        {
            a.Timings = quiet;
            b.Timings = quiet;
        });
        Assert.Equal(0, (await VpnLab.PingAsync(lab.A, "10.7.0.2", count: 1)).ExitCode);
        Assert.Equal(IPEndPoint.Parse("10.0.0.1:51820"), lab.VpnB!.GetStatus().Peers[0].Endpoint);

        // A "moves": its packets now leave from 10.0.0.11:40000 (a new address and port, as after a network change).
        await lab.A.AddAddressAsync("eth0", "10.0.0.11/24");
        await lab.A.NftAsync("""
            table ip roam {
              chain post {
                type nat hook postrouting priority 100;
                ip saddr 10.0.0.1 udp sport 51820 snat to 10.0.0.11:40000
              }
            }
            """);
        await lab.A.ExecAsync("conntrack", "-F");
        var one = await VpnLab.PingAsync(lab.A, "10.7.0.2", count: 1);
        Assert.True(one.ExitCode == 0, one.StandardOutput + lab.Log);
        var peerA = lab.VpnB.GetStatus().Peers[0];
        Assert.Equal(IPEndPoint.Parse("10.0.0.11:40000"), peerA.Endpoint);
        Assert.Equal(1, peerA.Handshakes);
        Assert.Equal(1, lab.VpnA!.GetStatus().Peers[0].Handshakes);
        // And B can reach A at its new place by itself.
        Assert.Equal(0, (await VpnLab.PingAsync(lab.B, "10.7.0.1", count: 2)).ExitCode);
    }

    /// <summary>
    /// wireguard-go's netns.sh case (conntrack 2 s, keepalive 1 s, 3 s idle) with margins that no scheduling delay
    /// can eat on a loaded CI machine: the mapping lives 5 s, a keepalive goes every 1 s (4 s of slack), and the
    /// idle time is at least 7 s, so without keepalives the mapping is always gone. Pings and path probes are off and
    /// passive keepalives wait 30 s, so nothing but the persistent keepalive can refresh it during the idle time.
    /// </summary>
    [NetnsFact("ping", "nft")]
    public async Task NatTimeout_KeepaliveHoldsTheMapping_WithoutKeepaliveItExpires()
    {
        var quiet = new VpnTimings { PingInterval = TimeSpan.MaxValue, ProbePathMtu = false, KeepaliveTimeout = TimeSpan.FromSeconds(30) };
        foreach (bool keepalive in new[] { true, false })
        {
            await using var nat = await NatLab.CreateAsync(keepalive ? TimeSpan.FromSeconds(1) : TimeSpan.Zero, udpTimeoutSeconds: 5, timings: quiet);
            // A (behind the NAT) opens the tunnel; B learns A's mapped address from the handshake.
            Assert.Equal(0, (await VpnLab.PingAsync(nat.A, "10.7.0.2", count: 1)).ExitCode);
            await Task.Delay(TimeSpan.FromSeconds(7)); // at least this long: longer than the NAT's 5 s UDP timeout
            var fromB = await VpnLab.PingAsync(nat.B, "10.7.0.1", count: 2, wait: 5);
            if (keepalive)
            {
                Assert.True(fromB.ExitCode == 0, "keepalives should hold the NAT mapping: " + fromB.StandardOutput);
            }
            else
            {
                Assert.True(fromB.ExitCode != 0, "negative control: without keepalives the mapping expires: " + fromB.StandardOutput);
            }
        }
    }

    [NetnsFact("ping")]
    public async Task FullTunnel_DefaultRouteThroughPeer_WithoutRoutingLoop()
    {
        await using var lab = await VpnLab.CreateAsync(configure: (a, b) =>
        {
            a.Peers[0].AllowedPrefixes.Add(IpPrefix.Parse("0.0.0.0/0"));
        }, start: false);
        // An "internet" address only B has.
        await lab.B.ExecAsync("ip", "addr", "add", "203.0.113.5/32", "dev", "lo");
        await lab.B.SysctlAsync("net.ipv4.ip_forward", "1");
        lab.StartB();
        lab.StartA();
        var ping = await VpnLab.PingAsync(lab.A, "203.0.113.5", count: 3);
        Assert.True(ping.ExitCode == 0, ping.StandardOutput + lab.Log);
        Assert.True(lab.VpnB!.GetStatus().Peers[0].RxPackets >= 3);
        Assert.Contains("dev ph0", (await lab.A.ExecAsync("ip", "route", "get", "203.0.113.5")).StandardOutput);
        // The tunnel's own packets (marked) still leave by the underlay: no loop.
        Assert.Contains("dev eth0", (await lab.A.ExecAsync("ip", "route", "get", "10.0.0.2", "mark", "51820")).StandardOutput);
        // The local subnet stays on the LAN (main wins for everything but its default route).
        Assert.Contains("dev eth0", (await lab.A.ExecAsync("ip", "route", "get", "10.0.0.99")).StandardOutput);
        string rules = (await lab.A.ExecAsync("ip", "rule")).StandardOutput;
        Assert.Contains("not from all fwmark 0xca6c lookup 51820", rules);
        Assert.Contains("suppress_prefixlength 0", rules);
        // A rekey handshake would go out the same way: the underlay address stays reachable directly.
        Assert.Equal(0, (await VpnLab.PingAsync(lab.A, "10.0.0.2", count: 1)).ExitCode);
        await lab.VpnA!.DisposeAsync();
        lab.VpnA = null;
        Assert.DoesNotContain("51820", (await lab.A.ExecAsync("ip", "rule")).StandardOutput);
    }
}
