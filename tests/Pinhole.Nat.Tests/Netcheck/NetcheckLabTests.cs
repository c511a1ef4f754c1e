using System.Net;
using Pinhole.Dtls;
using Pinhole.Nat.Tests.Lab;
using Pinhole.Testing.Netlab;
using Xunit.Abstractions;

namespace Pinhole.Nat.Tests.Netcheck;

[Trait("Category", "Netns")]
public sealed class NetcheckLabTests(ITestOutputHelper output)
{
    internal static NetcheckOptions For(NatLab lab, LabHost host)
    {
        var options = new NetcheckOptions
        {
            BindFactory = _ => host.RunInside(() => UdpDatagramBind.Bind(new IPEndPoint(host.Address, 0))),
        };
        options.StunServers.Add(lab.StunServer);
        options.StunServers.Add(lab.StunOtherAddress);
        return options;
    }

    [LabFact(coturn: true)]
    public async Task Netcheck_names_every_lab_nat_type()
    {
        var options = new NatLabOptions { Coturn = true }
            .Add("pub", NatType.Public).Add("one", NatType.OneToOne).Add("easy", NatType.Easy)
            .Add("hard", NatType.Hard).Add("rand", NatType.HardFullyRandom).Add("dbl", NatType.DoubleNat).Add("noudp", NatType.UdpBlocked);
        await using NatLab lab = await NatLab.CreateAsync(options);
        using var guard = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        NetcheckReport[] reports = await Task.WhenAll(lab.Sites.Select(s => Pinhole.Nat.Netcheck.RunAsync(For(lab, s.Host), guard.Token)));
        var expected = new Dictionary<NatType, (NatMappingBehavior, NatFilteringBehavior)>
        {
            [NatType.Public] = (NatMappingBehavior.NoNat, NatFilteringBehavior.EndpointIndependent),
            [NatType.OneToOne] = (NatMappingBehavior.EndpointIndependent, NatFilteringBehavior.EndpointIndependent),
            [NatType.Easy] = (NatMappingBehavior.EndpointIndependent, NatFilteringBehavior.AddressAndPortDependent),
            [NatType.Hard] = (NatMappingBehavior.AddressAndPortDependent, NatFilteringBehavior.AddressAndPortDependent),
            [NatType.HardFullyRandom] = (NatMappingBehavior.AddressAndPortDependent, NatFilteringBehavior.AddressAndPortDependent),
            [NatType.DoubleNat] = (NatMappingBehavior.EndpointIndependent, NatFilteringBehavior.AddressAndPortDependent),
        };
        for (int i = 0; i < lab.Sites.Count; i++)
        {
            LabSite site = lab.Sites[i];
            NetcheckReport report = reports[i];
            output.WriteLine($"== {site} ==\n{report.ToText()}");
            if (site.Nat == NatType.UdpBlocked)
            {
                Assert.False(report.Udp);
                Assert.Equal(NatMappingBehavior.Unknown, report.Mapping);
                continue;
            }
            Assert.True(report.Udp, site.Name);
            Assert.Equal(expected[site.Nat], (report.Mapping, report.Filtering));
            Assert.StartsWith(site.PublicAddress + ":", report.PublicIPv4, StringComparison.Ordinal);
            Assert.Equal(site.Nat is NatType.Hard or NatType.HardFullyRandom, report.MappingVariesByDestination);
            Assert.All(report.Servers, s => Assert.NotNull(s.LatencyMilliseconds));
            if (site.Nat != NatType.Public)
            {
                Assert.False(report.Hairpinning, site.Name);
            }
            NetcheckReport again = NetcheckReport.FromJson(report.ToJson());
            Assert.Equal(report.Mapping, again.Mapping);
            Assert.Equal(report.PublicIPv4, again.PublicIPv4);
        }
    }
}
