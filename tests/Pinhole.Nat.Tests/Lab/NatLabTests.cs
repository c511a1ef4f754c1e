using System.Net;
using System.Net.Sockets;
using Pinhole.Dtls;
using Pinhole.Testing.Netlab;
using Xunit.Abstractions;

namespace Pinhole.Nat.Tests.Lab;

[Trait("Category", "Netns")]
public sealed class NatLabTests(ITestOutputHelper output)
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(30);

    internal static StunClientOptions QuickStun => new() { InitialRetransmitTimeout = TimeSpan.FromMilliseconds(200), MaxSends = 4, FinalWaitMultiplier = 4 };

    [LabFact(coturn: true)]
    public async Task Every_nat_type_maps_as_configured()
    {
        var options = new NatLabOptions { Coturn = true }
            .Add("pub", NatType.Public).Add("one", NatType.OneToOne).Add("easy", NatType.Easy)
            .Add("hard", NatType.Hard).Add("rand", NatType.HardFullyRandom).Add("dbl", NatType.DoubleNat).Add("noudp", NatType.UdpBlocked);
        await using NatLab lab = await NatLab.CreateAsync(options);
        output.WriteLine($"lab with {lab.Sites.Count} sites and coturn up in {lab.SetupTime.TotalMilliseconds:0} ms");
        using var guard = new CancellationTokenSource(HangGuard);
        foreach (LabSite site in lab.Sites)
        {
            await using StunClient client = site.Host.RunInside(() => StunClient.Create(UdpDatagramBind.Bind(new IPEndPoint(site.Host.Address, 0)), QuickStun));
            if (site.Nat == NatType.UdpBlocked)
            {
                PeerException e = await Assert.ThrowsAsync<PeerException>(() => client.BindingAsync(lab.StunServer, cancellationToken: guard.Token));
                Assert.Equal(PeerError.Timeout, e.Error);
                continue;
            }
            StunResponse first = await client.BindingAsync(lab.StunServer, cancellationToken: guard.Token);
            IPEndPoint mapped = first.Message.XorMappedAddress!;
            Assert.Equal(site.PublicAddress, mapped.Address);
            Assert.Equal(lab.StunOtherAddress, first.Message.OtherAddress);
            // Four destinations (both server addresses x both ports): an endpoint-independent mapping gives one
            // external port for all; a "random" one a port per destination, so all four agree by chance only
            // once in about 28,000^3 runs.
            var mappings = new HashSet<IPEndPoint> { mapped };
            foreach (IPEndPoint destination in new[] { lab.StunOtherAddress, new IPEndPoint(lab.ServerAddress, NatLab.StunPort + 1), new IPEndPoint(lab.ServerOtherAddress, NatLab.StunPort) })
            {
                mappings.Add((await client.BindingAsync(destination, cancellationToken: guard.Token)).Message.XorMappedAddress!);
            }
            output.WriteLine($"{site}: {string.Join(", ", mappings)}");
            Assert.All(mappings, m => Assert.Equal(site.PublicAddress, m.Address));
            Assert.Equal(site.Nat is not (NatType.Hard or NatType.HardFullyRandom), mappings.Count == 1);
        }
    }

    [LabFact]
    public async Task Routers_drop_unsolicited_inbound_packets()
    {
        await using NatLab lab = await NatLab.CreateAsync(new NatLabOptions().Add("pub", NatType.Public).Add("easy", NatType.Easy));
        LabSite easy = lab["easy"];
        using Socket inside = easy.Host.CreateUdpSocket(40000);
        using Socket outside = lab["pub"].Host.CreateUdpSocket(40000);
        // Nothing has gone out yet: a packet to the router's WAN port must die there, leaving no flow behind.
        await outside.SendToAsync(new byte[] { 1 }, new IPEndPoint(easy.PublicAddress, 40000));
        await Task.Delay(200);
        Assert.Equal(0, inside.Available);
        Assert.DoesNotContain("dport=40000", await easy.ConntrackAsync(), StringComparison.Ordinal);
        // After the host sends out, the reply comes back through the mapping (port kept: masquerade).
        await inside.SendToAsync(new byte[] { 2 }, new IPEndPoint(lab["pub"].PublicAddress, 40000));
        var buffer = new byte[16];
        using var guard = new CancellationTokenSource(HangGuard);
        SocketReceiveFromResult seen = await outside.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), guard.Token);
        Assert.Equal(new IPEndPoint(easy.PublicAddress, 40000), seen.RemoteEndPoint);
        await outside.SendToAsync(new byte[] { 3 }, seen.RemoteEndPoint);
        SocketReceiveFromResult back = await inside.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), guard.Token);
        Assert.Equal(3, buffer[0]);
        Assert.Equal(1, back.ReceivedBytes);
    }
}
