using Pinhole.Testing;

namespace Pinhole.Vpn.Tests;

/// <summary>MTU: don't-fragment pings at and over the limit, and a black-holing 1280-byte underlay.</summary>
[Trait("Category", "Netns")]
public class NetnsMtuTests
{
    [NetnsFact("ping")]
    public async Task DontFragmentPing_AtTheLimitPasses_OneByteOverGetsIcmpBack()
    {
        // The underlay carries 1400 bytes, the TUN says 1420: the probes find 1400, so inner packets up to
        // 1400 − 57 = 1343 bytes pass and larger ones are answered with ICMP from the tunnel.
        await using var lab = await VpnLab.CreateAsync(configure: (a, b) => { a.Mtu = 1420; b.Mtu = 1420; }, start: false);
        await lab.A.ExecAsync("ip", "link", "set", "eth0", "mtu", "1400");
        await lab.B.ExecAsync("ip", "link", "set", "eth0", "mtu", "1400");
        lab.StartB();
        lab.StartA();
        Assert.Equal(0, (await VpnLab.PingAsync(lab.A, "10.7.0.2", count: 1)).ExitCode);
        await VpnPair.WaitUntilAsync(() => lab.VpnA!.GetStatus().Peers[0].PathMtu == 1400, "the path MTU probe to find 1400");

        var atLimit = await VpnLab.PingAsync(lab.A, "10.7.0.2", count: 2, size: 1343 - 28, dontFragment: true);
        Assert.True(atLimit.ExitCode == 0, atLimit.StandardOutput + atLimit.StandardError + lab.Log);
        var over = await VpnLab.PingAsync(lab.A, "10.7.0.2", count: 2, size: 1344 - 28, dontFragment: true, wait: 2);
        Assert.NotEqual(0, over.ExitCode);
        Assert.Contains("mtu = 1343", over.StandardOutput + over.StandardError);

        var v6AtLimit = await VpnLab.PingAsync(lab.A, "fd07::2", count: 2, size: 1343 - 48, dontFragment: true);
        Assert.True(v6AtLimit.ExitCode == 0, v6AtLimit.StandardOutput + v6AtLimit.StandardError);
        var v6Over = await VpnLab.PingAsync(lab.A, "fd07::2", count: 2, size: 1344 - 48, dontFragment: true, wait: 2);
        Assert.NotEqual(0, v6Over.ExitCode);
        Assert.Contains("mtu=1343", v6Over.StandardOutput + v6Over.StandardError);
        Assert.True(lab.VpnA!.DroppedTooBig >= 2);

        // Over the TUN MTU itself the kernel refuses before the tunnel sees the packet.
        long tooBig = lab.VpnA!.DroppedTooBig;
        var overTun = await VpnLab.PingAsync(lab.A, "10.7.0.2", count: 1, size: 1421 - 28, dontFragment: true, wait: 1);
        Assert.NotEqual(0, overTun.ExitCode);
        Assert.Equal(tooBig, lab.VpnA!.DroppedTooBig);
    }

    [NetnsFact("iperf3", "nft")]
    public async Task Underlay1280DroppingSilently_StillCarries1MiB()
    {
        await using var lab = await VpnLab.CreateAsync(start: false);
        // Anything above 1280 bytes vanishes without ICMP (tailscale#20681's black hole), both ways.
        const string blackHole = """
            table inet blackhole {
              chain pre {
                type filter hook prerouting priority -300; policy accept;
                iifname "eth0" ip length > 1280 drop
                iifname "eth0" ip6 length > 1240 drop
              }
            }
            """;
        await lab.A.NftAsync(blackHole);
        await lab.B.NftAsync(blackHole);
        // A real link carries one datagram per frame: make the veth segment UDP GSO batches before they
        // cross it (otherwise nft would see, and drop, whole 64 KiB batches).
        await lab.A.ExecAsync("ip", "link", "set", "eth0", "gso_max_segs", "1");
        await lab.B.ExecAsync("ip", "link", "set", "eth0", "gso_max_segs", "1");
        lab.StartB();
        lab.StartA();
        Assert.Equal(0, (await VpnLab.PingAsync(lab.A, "10.7.0.2", count: 1)).ExitCode);
        Iperf.Result transfer;
        try
        {
            transfer = await Iperf.RunAsync(lab.B, lab.A, "10.7.0.2", 1 << 20, timeout: TimeSpan.FromSeconds(40));
        }
        catch (TimeoutException e)
        {
            var a = lab.VpnA!.GetStatus().Peers[0];
            var b = lab.VpnB!.GetStatus().Peers[0];
            throw new InvalidOperationException($"{e.Message}\nA: path {a.PathMtu} toobig {lab.VpnA.DroppedTooBig} tx {a.TxPackets} rx {a.RxPackets} drop {a.Dropped}\nB: path {b.PathMtu} toobig {lab.VpnB!.DroppedTooBig} tx {b.TxPackets} rx {b.RxPackets} drop {b.Dropped}\n"
                + (await lab.A.ExecAsync("ip", "route", "get", "10.7.0.2")).StandardOutput + (await lab.A.ExecAsync("nstat", "-az", "IcmpInDestUnreachs", "TcpRetransSegs", "IcmpOutDestUnreachs")).StandardOutput
                + (await lab.B.ExecAsync("nstat", "-az", "IcmpInDestUnreachs", "TcpRetransSegs", "TcpInSegs")).StandardOutput + lab.Log, e);
        }
        Assert.True(transfer.SentBytes >= 1 << 20, $"sent {transfer.SentBytes}");
        Assert.Equal(1280, lab.VpnA!.GetStatus().Peers[0].PathMtu);
        var back = await Iperf.RunAsync(lab.A, lab.B, "10.7.0.1", 1 << 20, timeout: TimeSpan.FromSeconds(90));
        Assert.True(back.SentBytes >= 1 << 20, $"sent {back.SentBytes}");
    }
}
