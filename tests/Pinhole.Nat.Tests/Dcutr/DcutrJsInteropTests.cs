using System.Net;
using Pinhole.Nat.Dcutr;
using Pinhole.Nat.Tests.Support;
using Pinhole.Testing.Netlab;
using Xunit.Abstractions;

namespace Pinhole.Nat.Tests.Dcutr;

/// <summary>
/// DCUtR against js-libp2p's @libp2p/dcutr 3.0.28 (notes/nat.md §1, T3). js cannot punch TCP, and it refuses every
/// address in a reserved range, so the peers sit on public hosts of a lab whose internet segment is 2.0.0.0/24 (not a
/// reserved range, inside the lab's own guarded namespaces) with no NAT between them: the test checks the wire
/// exchange and the roles, not the punch. js is B (the inbound side of the relayed connection, so it starts); Pinhole
/// is A: it answers CONNECT, dials as soon as SYNC arrives, and its connection (Pinhole the TLS client, js's listener
/// the server) must be accepted by js.
/// </summary>
[Trait("Category", "Netns")]
[Trait("Category", "Interop")]
public sealed class DcutrJsInteropTests(ITestOutputHelper output)
{
    private const int JsPort = 4101;

    [JsLabFact]
    public async Task PinholeAnswersJsDcutrAndItsDirectConnectionIsAcceptedByJs()
    {
        await using var lab = await NatLab.CreateAsync(new NatLabOptions { InternetPrefix = "2.0.0" }
            .Add("relay", NatType.Public).Add("a", NatType.Public).Add("js", NatType.Public));
        var relayHost = lab["relay"].Host;
        await using var r = await TestPeer.StartAsync(ns: relayHost.Namespace);
        var relayAt = new IPEndPoint(relayHost.Address, r.ListenPort);
        var relayAddress = Multiaddr.FromIPEndPoint(relayAt).Encapsulate(r.Id);
        r.ServeRelay(o =>
        {
            o.PublicAddresses = () => [relayAddress];
            o.CircuitLimit = null;
        });

        var jsHost = lab["js"].Host;
        await using var js = JsNode.StartIn(jsHost.Namespace, "client", "--relay", relayAddress.ToString(), "--dcutr", "--host", jsHost.Address.ToString(), "--port", JsPort.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var reserved = await js.WaitForEventAsync("reserved");
        var jsId = PeerId.Parse(reserved.GetProperty("peerId").GetString()!);

        // A lists /libp2p/dcutr in identify (js's topology starts DCUtR only for peers that do) and lists no listen
        // address on the relayed connection, so js cannot take the unilateral shortcut and must run the exchange.
        await using var a = await TestPeer.StartAsync(o =>
        {
            o.Protocols.Add(DcutrService.ProtocolId);
            o.LimitedConnectionProtocols.Add(DcutrService.ProtocolId);
        }, ns: lab["a"].Host.Namespace);
        a.UseRelayClient();
        var dcutrA = new DcutrService(new DcutrOptions
        {
            ConnectionOptions = a.Options,
            LocalEndPoint = new IPEndPoint(IPAddress.Any, a.ListenPort),
            Addresses = () => [Multiaddr.FromIPEndPoint(new IPEndPoint(lab["a"].Host.Address, a.ListenPort))],
            SocketFactory = family => a.CreateSocket(family),
        });
        var answered = new TaskCompletionSource<DirectConnectionResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        a.Handle(DcutrService.ProtocolId, async (c, s) => answered.TrySetResult(await dcutrA.HandleStreamAsync(c, s)));

        var aToR = await a.ConnectAsync(r.Id, relayAt);
        var relayed = await a.RelayClient!.ConnectAsync(aToR, jsId, TestPeer.Bounded());
        a.Route(relayed);

        var result = await answered.Task.WaitAsync(TestPeer.Timeout);
        output.WriteLine(result.ToString());
        Assert.True(result.Succeeded, result.ToString());
        var direct = result.Direct!;
        Assert.Equal(jsId, direct.RemotePeer);
        Assert.False(direct.IsInbound); // A is the client, as DCUtR fixes it
        Assert.Equal(new IPEndPoint(jsHost.Address, JsPort), direct.RemoteAddress!.ToIPEndPoint());
        await direct.PingAsync(TestPeer.Bounded());

        // js saw that connection arrive on its listener from A's listen port, and (having dialed A too, as B does)
        // closed the relayed connection, as libp2p's policy says once a direct one exists.
        var fromListenPort = $"/ip4/{lab["a"].Host.Address}/tcp/{a.ListenPort}/p2p/{a.Id}";
        var seen = await js.WaitForEventAsync("connection", e =>
            e.GetProperty("remoteAddr").GetString() == fromListenPort && e.GetProperty("direction").GetString() == "inbound");
        Assert.Equal("/tls/1.0.0", seen.GetProperty("encryption").GetString());
        await js.WaitForEventAsync("connection-closed", e => e.GetProperty("remoteAddr").GetString()!.Contains("p2p-circuit", StringComparison.Ordinal));
        await Task.WhenAny(relayed.Completion).WaitAsync(TestPeer.Timeout); // js closes it abruptly (no GoAway): ended either way
    }
}
