namespace Pinhole.Vpn.Tests;

/// <summary>Each offload switched off in turn carries the same bytes (kernel offload regressions are real; so are ours).</summary>
[Trait("Category", "Netns")]
public class NetnsOffloadTests
{
    public static TheoryData<VpnOffloads> Sets() =>
    [
        VpnOffloads.All,
        VpnOffloads.All & ~VpnOffloads.TunChecksum,
        VpnOffloads.All & ~VpnOffloads.TunTcpSegmentation,
        VpnOffloads.All & ~VpnOffloads.TunUdpSegmentation,
        VpnOffloads.All & ~VpnOffloads.UdpSegmentation,
        VpnOffloads.All & ~VpnOffloads.UdpCoalescing,
        VpnOffloads.None,
    ];

    [NetnsTheory]
    [MemberData(nameof(Sets))]
    public async Task EachOffloadOff_GivesTheSameBytes(VpnOffloads offloads)
    {
        const int length = 6 << 20;
        string expected = await ByteTransfer.ExpectedAsync(42, length);
        await using var lab = await VpnLab.CreateAsync(configure: (a, b) => { a.Offloads = offloads; b.Offloads = offloads; });
        var status = lab.VpnA!.GetStatus();
        Assert.Equal(offloads & ~(offloads.HasFlag(VpnOffloads.TunChecksum) ? 0 : VpnOffloads.TunTcpSegmentation | VpnOffloads.TunUdpSegmentation), status.Offloads);
        Assert.Equal($"{length} {expected}", await ByteTransfer.RunAsync(lab.A, lab.B, "10.7.0.2", 42, length));
        Assert.Equal($"{length} {expected}", await ByteTransfer.RunAsync(lab.B, lab.A, "fd07::1", 42, length));
    }
}
