using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using Pinhole.Nat.Tests.Lab;
using Pinhole.Testing.Netlab;
using Xunit.Abstractions;

namespace Pinhole.Nat.Tests.PortMapping;

/// <summary>Port mapping against the lab's real miniupnpd 2.3.1 (NAT-PMP, PCP, UPnP IGD), through real nftables NAT.</summary>
[Trait("Category", "Netns")]
public sealed class PortMapperLabTests(ITestOutputHelper output)
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(90);

    internal static PortMapperOptions For(LabSite site, int internalPort, PortMappingProtocols protocols, TimeProvider? time = null) => new()
    {
        Gateway = site.Gateway,
        LocalAddress = site.Host.Address,
        InternalPort = internalPort,
        Protocols = protocols,
        Lifetime = TimeSpan.FromMinutes(10),
        SsdpMulticast = false,
        // A loaded CI machine may be slow to answer; this bounds a hang, it is not what the test checks.
        HttpTimeout = TimeSpan.FromSeconds(30),
        TimeProvider = time ?? TimeProvider.System,
        SocketFactory = (family, type, protocol) => site.Host.Namespace.CreateSocket(family, type, protocol),
    };

    [LabFact(portMapping: true)]
    public async Task The_gateway_answers_pcp_natpmp_and_upnp_with_its_external_address()
    {
        await using NatLab lab = await NatLab.CreateAsync(new NatLabOptions().Add("pub", NatType.Public).Add("home", NatType.Easy, portMapping: true));
        LabSite home = lab["home"];
        using var guard = new CancellationTokenSource(HangGuard);
        NetcheckPortMapping probe = await PortMapper.ProbeAsync(For(home, 1, PortMappingProtocols.All), guard.Token);
        output.WriteLine($"probe: pcp={probe.Pcp} pmp={probe.NatPmp} upnp={probe.Upnp} external={probe.ExternalAddress}");
        Assert.True(probe.Pcp, "PCP ANNOUNCE");
        Assert.True(probe.NatPmp, "NAT-PMP external address");
        Assert.True(probe.Upnp, "SSDP unicast + rootDesc");
        Assert.Equal(home.PublicAddress.ToString(), probe.ExternalAddress);
        Assert.False(probe.NoPublicAddress);
    }

    [LabTheory(portMapping: true)]
    [InlineData(PortMappingProtocols.Pcp)]
    [InlineData(PortMappingProtocols.NatPmp)]
    [InlineData(PortMappingProtocols.Upnp)]
    public async Task A_mapping_lets_the_internet_reach_the_host_and_is_deleted_on_dispose(PortMappingProtocols protocol)
    {
        await using NatLab lab = await NatLab.CreateAsync(new NatLabOptions().Add("home", NatType.Easy, portMapping: true));
        LabSite home = lab["home"];
        using var guard = new CancellationTokenSource(HangGuard);
        using Socket inside = home.Host.CreateUdpSocket();
        int port = ((IPEndPoint)inside.LocalEndPoint!).Port;

        PortMapper mapper = PortMapper.Create(For(home, port, protocol));
        global::Pinhole.Nat.PortMapping? mapping = await mapper.MapAsync(guard.Token);
        output.WriteLine($"{protocol}: {mapping}\n{home.PortMapper?.Output()}");
        Assert.NotNull(mapping);
        Assert.Equal(protocol, mapping.Protocol);
        Assert.Equal(home.PublicAddress, mapping.External.Address);
        Assert.False(mapping.BehindAnotherNat);
        Assert.Contains($"dnat ip to {home.Host.Address}:{port}", await home.PortMappingRulesAsync(), StringComparison.Ordinal);

        // Unsolicited traffic from the internet now reaches the host through the router.
        using Socket outside = lab.Server.CreateUdpSocket();
        IPEndPoint from = await DeliverAsync(outside, mapping.External, inside, guard.Token);
        Assert.Equal(lab.ServerAddress, from.Address);

        var changes = new List<PortMappingChange>();
        mapper.Changed += (_, e) => changes.Add(e.Change);
        await mapper.DisposeAsync();
        Assert.Equal([PortMappingChange.Deleted], changes);
        Assert.DoesNotContain($"{home.Host.Address}:{port}", await home.PortMappingRulesAsync(), StringComparison.Ordinal);
    }

    [LabTheory(portMapping: true)]
    [InlineData(PortMappingProtocols.Pcp)]
    [InlineData(PortMappingProtocols.NatPmp)]
    [InlineData(PortMappingProtocols.Upnp)]
    public async Task The_lease_is_renewed_at_half_life_in_place(PortMappingProtocols protocol)
    {
        await using NatLab lab = await NatLab.CreateAsync(new NatLabOptions().Add("home", NatType.Easy, portMapping: true));
        LabSite home = lab["home"];
        using var guard = new CancellationTokenSource(HangGuard);
        using Socket inside = home.Host.CreateUdpSocket();
        int port = ((IPEndPoint)inside.LocalEndPoint!).Port;
        // Timers by hand, timestamps real: miniupnpd's epoch runs on the real clock, so ours must too.
        var timers = new HandTimers();
        await using PortMapper mapper = PortMapper.Create(For(home, port, protocol, timers));
        global::Pinhole.Nat.PortMapping mapping = (await mapper.MapAsync(guard.Token))!;
        Assert.NotNull(mapping);
        TimeSpan half = mapping.Lifetime / 2;
        Assert.Equal(TimeSpan.FromMinutes(10), mapping.Lifetime);

        var renewed = new TaskCompletionSource<PortMappingChangedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        mapper.Changed += (_, e) => renewed.TrySetResult(e);
        timers.Advance(half - TimeSpan.FromSeconds(1));
        Assert.Equal(0, mapper.RenewalsStarted);
        timers.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, mapper.RenewalsStarted);
        PortMappingChangedEventArgs change = await renewed.Task.WaitAsync(guard.Token);
        output.WriteLine($"{protocol}: {change.Change} {change.Mapping}");
        Assert.Equal(PortMappingChange.Renewed, change.Change);
        Assert.Equal(mapping.External, change.Mapping!.External);
        Assert.Equal(0, mapper.GatewayResets);

        // Still one rule for the mapping (renewed, not duplicated), and it still forwards.
        string rules = await home.PortMappingRulesAsync();
        Assert.Single(rules.Split('\n'), l => l.Contains($"dnat ip to {home.Host.Address}:{port}", StringComparison.Ordinal));
        using Socket outside = lab.Server.CreateUdpSocket();
        await DeliverAsync(outside, mapping.External, inside, guard.Token);
    }

    [LabTheory(portMapping: true)]
    [InlineData(PortMappingProtocols.Pcp, PortMappingChange.Recreated)]
    [InlineData(PortMappingProtocols.NatPmp, PortMappingChange.Recreated)]
    [InlineData(PortMappingProtocols.Upnp, PortMappingChange.Renewed)]
    public async Task A_router_restart_is_noticed_and_the_mapping_made_again(PortMappingProtocols protocol, PortMappingChange expected)
    {
        await using NatLab lab = await NatLab.CreateAsync(new NatLabOptions().Add("home", NatType.Easy, portMapping: true));
        LabSite home = lab["home"];
        using var guard = new CancellationTokenSource(HangGuard);
        using Socket inside = home.Host.CreateUdpSocket();
        int port = ((IPEndPoint)inside.LocalEndPoint!).Port;
        // Our clock says half a lease passed; miniupnpd, restarted, counts its epoch from zero again.
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using PortMapper mapper = PortMapper.Create(For(home, port, protocol, clock));
        global::Pinhole.Nat.PortMapping mapping = (await mapper.MapAsync(guard.Token))!;
        Assert.NotNull(mapping);

        await home.RestartPortMapperAsync();
        Assert.DoesNotContain($"{home.Host.Address}:{port}", await home.PortMappingRulesAsync(), StringComparison.Ordinal);

        var changed = new TaskCompletionSource<PortMappingChangedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        mapper.Changed += (_, e) => changed.TrySetResult(e);
        clock.Advance(mapping.Lifetime / 2);
        PortMappingChangedEventArgs change = await changed.Task.WaitAsync(guard.Token);
        output.WriteLine($"{protocol}: {change.Change} {change.Mapping} ({change.Reason})\n{home.PortMapper?.Output()}");
        Assert.Equal(expected, change.Change);
        Assert.Equal(expected == PortMappingChange.Recreated ? 1 : 0, mapper.GatewayResets);
        Assert.Contains($"dnat ip to {home.Host.Address}:{port}", await home.PortMappingRulesAsync(), StringComparison.Ordinal);
        using Socket outside = lab.Server.CreateUdpSocket();
        await DeliverAsync(outside, change.Mapping!.External, inside, guard.Token);
    }

    [LabFact(portMapping: true)]
    public async Task Behind_a_carrier_grade_nat_the_gateway_has_no_public_address_and_netcheck_says_double_nat()
    {
        await using NatLab lab = await NatLab.CreateAsync(new NatLabOptions { Coturn = true }.Add("dbl", NatType.DoubleNat, portMapping: true));
        LabSite dbl = lab["dbl"];
        using var guard = new CancellationTokenSource(HangGuard);
        using Socket inside = dbl.Host.CreateUdpSocket();
        int port = ((IPEndPoint)inside.LocalEndPoint!).Port;

        // miniupnpd on the home router sees its WAN address 100.64.N.2: it answers, but has no public address to give.
        NetcheckPortMapping probe = await PortMapper.ProbeAsync(For(dbl, port, PortMappingProtocols.All), guard.Token);
        output.WriteLine($"probe: pcp={probe.Pcp} pmp={probe.NatPmp} upnp={probe.Upnp} external={probe.ExternalAddress} none={probe.NoPublicAddress}");
        Assert.True(probe.NatPmp);
        Assert.True(probe.Upnp);
        Assert.True(probe.NoPublicAddress);
        Assert.Null(probe.ExternalAddress);

        await using PortMapper mapper = PortMapper.Create(For(dbl, port, PortMappingProtocols.All));
        Assert.Null(await mapper.MapAsync(guard.Token));
        Assert.True(mapper.GatewayLacksPublicAddress);

        // netcheck puts it together with STUN, which sees the CGNAT's public address.
        NetcheckOptions options = Netcheck.NetcheckLabTests.For(lab, dbl.Host);
        options.PortMappingProbe = async ct => await PortMapper.ProbeAsync(For(dbl, port, PortMappingProtocols.All), ct);
        NetcheckReport report = await Pinhole.Nat.Netcheck.RunAsync(options, guard.Token);
        output.WriteLine(report.ToText());
        Assert.StartsWith(dbl.PublicAddress + ":", report.PublicIPv4, StringComparison.Ordinal);
        Assert.True(report.DoubleNat);
    }

    /// <summary>Sends from <paramref name="outside"/> until a datagram arrives on <paramref name="inside"/> (bounded by the token).</summary>
    internal static async Task<IPEndPoint> DeliverAsync(Socket outside, IPEndPoint to, Socket inside, CancellationToken cancellationToken)
    {
        byte[] probe = Encoding.ASCII.GetBytes("from the internet");
        var buffer = new byte[64];
        Task<SocketReceiveFromResult> receive = inside.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), cancellationToken).AsTask();
        while (!receive.IsCompleted)
        {
            await outside.SendToAsync(probe, SocketFlags.None, to, cancellationToken);
            await Task.WhenAny(receive, Task.Delay(200, cancellationToken));
        }
        SocketReceiveFromResult r = await receive;
        Assert.Equal(probe, buffer[..r.ReceivedBytes]);
        return (IPEndPoint)r.RemoteEndPoint;
    }

    /// <summary>Timers fire when the test says (a <see cref="FakeTimeProvider"/>), while timestamps and the wall clock stay real.</summary>
    internal sealed class HandTimers : TimeProvider
    {
        private readonly FakeTimeProvider _timers = new();

        public void Advance(TimeSpan by) => _timers.Advance(by);

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
            _timers.CreateTimer(callback, state, dueTime, period);
    }
}
