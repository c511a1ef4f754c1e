using Pinhole.Nat.Tests.Lab;
using Pinhole.Testing.Netlab;
using Xunit.Abstractions;

namespace Pinhole.Nat.Tests.PortMapping;

[Trait("Category", "Netns")]
public sealed class PortMapperLabTests(ITestOutputHelper output)
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(60);

    internal static PortMapperOptions For(LabSite site, int internalPort, PortMappingProtocols protocols) => new()
    {
        Gateway = site.Gateway,
        LocalAddress = site.Host.Address,
        InternalPort = internalPort,
        Protocols = protocols,
        Lifetime = TimeSpan.FromMinutes(10),
        SsdpMulticast = false,
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
    }
}
