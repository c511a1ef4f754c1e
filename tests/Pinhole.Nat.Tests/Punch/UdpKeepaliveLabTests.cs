using Pinhole.Nat.Tests.Lab;
using Pinhole.Testing.Netlab;

namespace Pinhole.Nat.Tests.Punch;

/// <summary>
/// Keepalives against real conntrack timeouts: two easy NATs forget idle UDP flows after 6 s. A punched path
/// with keepalives every second still carries DTLS after 15 s of silence; the same path without keepalives is
/// dead after the same silence (both routers dropped their mappings, so a probe is not answered).
/// </summary>
[Trait("Category", "Netns")]
public sealed class UdpKeepaliveLabTests
{
    private static readonly TimeSpan NatTimeout = TimeSpan.FromSeconds(6);
    private static readonly TimeSpan Idle = TimeSpan.FromSeconds(15);   // 2.5 × the NATs' timeout

    [LabFact(coturn: true)]
    public async Task Keepalives_hold_a_path_through_nats_that_forget_idle_flows_and_without_them_it_dies()
    {
        var options = new NatLabOptions { Coturn = true }
            .Add("a", NatType.Easy, udpTimeout: NatTimeout).Add("b", NatType.Easy, udpTimeout: NatTimeout)
            .Add("c", NatType.Easy, udpTimeout: NatTimeout).Add("d", NatType.Easy, udpTimeout: NatTimeout);
        await using NatLab lab = await NatLab.CreateAsync(options);
        using var guard = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var easy = new NetcheckReport { Udp = true, Mapping = NatMappingBehavior.EndpointIndependent, Filtering = NatFilteringBehavior.AddressAndPortDependent };
        await using LabPeer a = await LabPeer.StartAsync(lab, lab["a"], easy, guard.Token);
        await using LabPeer b = await LabPeer.StartAsync(lab, lab["b"], easy, guard.Token);
        await using LabPeer c = await LabPeer.StartAsync(lab, lab["c"], easy, guard.Token);
        await using LabPeer d = await LabPeer.StartAsync(lab, lab["d"], easy, guard.Token);

        // a-b keep their path alive every second; c-d send nothing after the punch.
        Task<UdpPath> ab = UdpHolePunch.PunchAsync(a.Mux, a.PunchOptions(b, controlling: true, keepalive: TimeSpan.FromSeconds(1)), guard.Token);
        Task<UdpPath> ba = UdpHolePunch.PunchAsync(b.Mux, b.PunchOptions(a, controlling: false, keepalive: TimeSpan.FromSeconds(1)), guard.Token);
        Task<UdpPath> cd = UdpHolePunch.PunchAsync(c.Mux, c.PunchOptions(d, controlling: true, keepalive: Timeout.InfiniteTimeSpan), guard.Token);
        Task<UdpPath> dc = UdpHolePunch.PunchAsync(d.Mux, d.PunchOptions(c, controlling: false, keepalive: Timeout.InfiniteTimeSpan), guard.Token);
        await using UdpPath pathAB = await ab;
        await using UdpPath pathBA = await ba;
        await using UdpPath pathCD = await cd;
        await using UdpPath pathDC = await dc;

        await Task.Delay(Idle, guard.Token);

        Assert.True(pathAB.IsAlive);
        Assert.True(pathAB.ProbesAnswered >= 5, $"{pathAB.ProbesAnswered} keepalives answered");
        await UdpPunchGridTests.ExchangeOverDtlsAsync(a, pathAB.RemoteEndPoint, b, pathBA.RemoteEndPoint, guard.Token);

        // Without keepalives both routers forgot the flow: c's probe leaves by a fresh mapping and d's router drops it.
        Assert.Null(await pathCD.ProbeAsync(guard.Token));
        Assert.Equal(0, pathCD.ProbesAnswered);
    }
}
