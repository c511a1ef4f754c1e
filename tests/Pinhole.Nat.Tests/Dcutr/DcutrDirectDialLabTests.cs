using System.Net;
using Pinhole.Nat.Dcutr;
using Pinhole.Nat.Tests.Support;
using Pinhole.Testing.Netlab;
using Xunit.Abstractions;

namespace Pinhole.Nat.Tests.Dcutr;

/// <summary>
/// DCUtR's plain dial first (go-libp2p's short cut) in the lab: A on a public host reaches B, behind an easy NAT, through
/// a relay; B sees that A announces a public address and dials it directly instead of punching.
/// </summary>
[Trait("Category", "Netns")]
public sealed class DcutrDirectDialLabTests(ITestOutputHelper output)
{
    [LabFact]
    public async Task A_public_peer_is_dialed_directly_and_no_punch_starts()
    {
        await using var lab = await NatLab.CreateAsync(new NatLabOptions().Add("relay", NatType.Public).Add("a", NatType.Public).Add("b", NatType.Easy));
        var relayHost = lab["relay"].Host;
        await using var r = await TestPeer.StartAsync(ns: relayHost.Namespace);
        var relayAt = new IPEndPoint(relayHost.Address, r.ListenPort);
        r.ServeRelay(o => o.PublicAddresses = () => [Multiaddr.FromIPEndPoint(relayAt).Encapsulate(r.Id)]);
        await using var a = await TestPeer.StartAsync(o => o.LimitedConnectionProtocols.Add(DcutrService.ProtocolId), ns: lab["a"].Host.Namespace);
        await using var b = await TestPeer.StartAsync(o => o.LimitedConnectionProtocols.Add(DcutrService.ProtocolId), ns: lab["b"].Host.Namespace);
        var aPublic = new IPEndPoint(lab["a"].Host.Address, a.ListenPort);
        // A announces its listen address in identify, as a node does (its dialable addresses).
        a.UseRelayClient(o => o.ListenAddresses = () => [Multiaddr.FromIPEndPoint(aPublic).Encapsulate(a.Id)]);
        b.UseRelayClient();
        var punchStarted = false;
        a.Handle(DcutrService.ProtocolId, (_, stream) =>
        {
            punchStarted = true;
            stream.Abort();
            return Task.CompletedTask;
        });
        var aToR = await a.ConnectAsync(r.Id, relayAt);
        var bToR = await b.ConnectAsync(r.Id, relayAt);
        var observedB = (await bToR.IdentifyAsync(TestPeer.Bounded())).ObservedAddr!;
        Assert.Equal(lab["b"].PublicAddress, observedB.ToIPEndPoint().Address);
        await b.RelayClient!.ReserveAsync(bToR, TestPeer.Bounded());
        var relayedA = await a.RelayClient!.ConnectAsync(aToR, b.Id, TestPeer.Bounded());
        a.Route(relayedA);
        var relayedB = await b.AcceptAsync();

        var dcutrB = new DcutrService(new DcutrOptions
        {
            ConnectionOptions = b.Options,
            LocalEndPoint = new IPEndPoint(IPAddress.Any, b.ListenPort),
            Addresses = () => DcutrService.PredictAddresses([observedB], b.ListenPort),
            SocketFactory = family => b.CreateSocket(family),
            AttemptTimeout = TimeSpan.FromSeconds(20),
        });
        var result = await dcutrB.UpgradeAsync(relayedB, TestPeer.Bounded());
        output.WriteLine(result.ToString());
        Assert.True(result.DialedDirectly, result.ToString());
        Assert.Equal(0, result.Attempts);
        Assert.False(punchStarted);
        var direct = result.Direct!;
        Assert.Equal(a.Id, direct.RemotePeer);
        Assert.False(direct.IsInbound);
        Assert.False(direct.IsLimited);
        Assert.Equal(aPublic, direct.RemoteAddress!.ToIPEndPoint());
        await direct.PingAsync(TestPeer.Bounded());
        // A accepted it on its listener: B's NAT made the connection from B's public address.
        var accepted = await a.AcceptAsync();
        Assert.Equal(b.Id, accepted.RemotePeer);
        Assert.Equal(lab["b"].PublicAddress, accepted.RemoteAddress!.ToIPEndPoint().Address);
    }
}
