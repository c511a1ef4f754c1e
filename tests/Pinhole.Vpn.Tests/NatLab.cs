using System.Net;
using Pinhole.Testing;

namespace Pinhole.Vpn.Tests;

/// <summary>
/// A behind a NAT router R (masquerade, UDP conntrack timeout <c>udpTimeout</c>, unsolicited inbound dropped), B public:
/// A 10.1.0.2 — R 10.1.0.1 | 203.0.113.1 — B 203.0.113.2. B knows no endpoint for A. With
/// <c>inProcessVpn: false</c> only the namespaces are built, for tests that run the VPN in processes of their own.
/// </summary>
internal sealed class NatLab : IAsyncDisposable
{
    internal required NetworkNamespace A { get; init; }
    internal required NetworkNamespace R { get; init; }
    internal required NetworkNamespace B { get; init; }
    internal required VpnLab Vpn { get; init; }

    internal static async Task<NatLab> CreateAsync(TimeSpan keepalive, int udpTimeoutSeconds = 2, VpnTimings? timings = null, bool inProcessVpn = true)
    {
        var lab = await VpnLab.CreateAsync(configure: (a, b) =>
        {
            a.Peers[0].Endpoint = IPEndPoint.Parse("203.0.113.2:51820");
            a.Peers[0].PersistentKeepalive = keepalive;
            a.Timings = timings;
            b.Timings = timings;
        }, start: false);
        // Rewire: the lab's direct veth is replaced by a path through a router.
        await lab.A.ExecAsync("ip", "link", "del", "eth0");
        var r = await NetworkNamespace.CreateAsync("nat");
        try
        {
            await NetworkNamespace.ConnectAsync(lab.A, "eth0", r, "lan");
            await NetworkNamespace.ConnectAsync(r, "wan", lab.B, "eth1");
            await lab.A.AddAddressAsync("eth0", "10.1.0.2/24");
            await lab.A.AddRouteAsync("default", "10.1.0.1");
            await r.AddAddressAsync("lan", "10.1.0.1/24");
            await r.AddAddressAsync("wan", "203.0.113.1/24");
            await lab.B.AddAddressAsync("eth1", "203.0.113.2/24");
            await r.SysctlAsync("net.ipv4.ip_forward", "1");
            await r.NftAsync("""
                table ip nat {
                  chain post {
                    type nat hook postrouting priority 100;
                    oifname "wan" masquerade
                  }
                }
                table inet filter {
                  chain forward_wan {
                    type filter hook forward priority 0; policy accept;
                    iifname "wan" ct state established,related accept
                    iifname "wan" drop
                  }
                }
                """);
            // After the nat table exists conntrack is loaded: short UDP timeouts, as wireguard-go's netns.sh.
            string timeout = udpTimeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            await r.SysctlAsync("net.netfilter.nf_conntrack_udp_timeout", timeout);
            await r.SysctlAsync("net.netfilter.nf_conntrack_udp_timeout_stream", timeout);
            if (inProcessVpn)
            {
                lab.StartB();
                lab.StartA();
            }
            return new NatLab { A = lab.A, R = r, B = lab.B, Vpn = lab };
        }
        catch
        {
            await r.DisposeAsync();
            await lab.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Vpn.DisposeAsync();
        await R.DisposeAsync();
    }
}
