using Pinhole.Testing;
using Xunit.Abstractions;

namespace Pinhole.Vpn.Tests;

/// <summary>The real thing: TUN devices, netlink, UDP sockets, between two network namespaces.</summary>
[Trait("Category", "Netns")]
public class NetnsVpnTests(ITestOutputHelper output)
{
    private static string Describe(VpnInterface vpn)
    {
        var p = vpn.GetStatus().Peers.Single();
        var peer = vpn.FindPeer(p.PeerId)!;
        return $"nokey {peer.DroppedNoKey} source {peer.DroppedSource} send {peer.DroppedSend} tx {p.TxPackets}/{p.TxBytes} rx {p.RxPackets}/{p.RxBytes} dropped {p.Dropped} drops {vpn.Drops} offloads {vpn.GetStatus().Offloads}";
    }

    [NetnsFact("ping")]
    public async Task Ping_OverTheTunnel_BothFamiliesInsideAndOut()
    {
        foreach (bool outerV6 in new[] { false, true })
        {
            await using var lab = await VpnLab.CreateAsync(outerV6);
            var v4 = await VpnLab.PingAsync(lab.A, "10.7.0.2");
            Assert.True(v4.ExitCode == 0, $"outer v6 {outerV6}: {v4.StandardOutput}{v4.StandardError}\n{lab.Log}\nA: {Describe(lab.VpnA!)}\nB: {Describe(lab.VpnB!)}\n{(await lab.B.ExecAsync("ip", "-s", "link", "show", "ph0")).StandardOutput}\n{(await lab.B.ExecAsync("nstat", "-az")).StandardOutput}");
            var v6 = await VpnLab.PingAsync(lab.A, "fd07::2");
            Assert.True(v6.ExitCode == 0, $"outer v6 {outerV6}: {v6.StandardOutput}{v6.StandardError}");
            var back = await VpnLab.PingAsync(lab.B, "10.7.0.1");
            Assert.True(back.ExitCode == 0, back.StandardOutput + back.StandardError);
            var status = lab.VpnA!.GetStatus().Peers.Single();
            Assert.Equal(1, status.Handshakes);
            Assert.True(status.RxPackets >= 9, $"rx {status.RxPackets}");
        }
    }

    [NetnsTheory("iperf3")]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public async Task Iperf_TcpAndUdp_InnerByOuter(bool innerV6, bool outerV6)
    {
        await using var lab = await VpnLab.CreateAsync(outerV6);
        string target = innerV6 ? "fd07::2" : "10.7.0.2";
        var ping = await VpnLab.PingAsync(lab.A, target, count: 1);
        Assert.True(ping.ExitCode == 0, $"ping {target}: {ping.StandardOutput}{ping.StandardError}\n{lab.Log}\nA: {Describe(lab.VpnA!)}\nB: {Describe(lab.VpnB!)}");
        var tcp = await Iperf.RunAsync(lab.B, lab.A, target, 64L << 20);
        // iperf3's receiver may stop counting just before the last bytes: the sender's count is exact.
        Assert.True(tcp.SentBytes >= 64L << 20 && tcp.Bytes > 60L << 20, $"TCP sent {tcp.SentBytes}, received {tcp.Bytes} bytes");
        // UDP has no retransmission: what this checks is that datagrams of every inner × outer family cross, not the
        // loss rate, which a starved CPU sets (20 Mbit/s lost 10.8 % once at load 27). At 5 Mbit/s a tunnel that
        // carries UDP delivers far more than half even then; a broken one delivers none.
        var udp = await Iperf.RunAsync(lab.B, lab.A, target, 2L << 20, udpRate: 5_000_000, length: 1200);
        Assert.True(udp.LostPercent < 50, $"UDP lost {udp.LostPercent}%");
        output.WriteLine($"inner v6 {innerV6} outer v6 {outerV6}: TCP {tcp.BitsPerSecond / 1e9:F2} Gbit/s ({tcp.Retransmits} retransmits), UDP {udp.BitsPerSecond / 1e6:F0} Mbit/s lost {udp.LostPercent:F2}%\nA: {Describe(lab.VpnA!)} toobig {lab.VpnA!.DroppedTooBig}\nB: {Describe(lab.VpnB!)} toobig {lab.VpnB!.DroppedTooBig}");
    }
}
