using System.Diagnostics;
using System.Net;
using Pinhole.Nat.Dcutr;
using Pinhole.Nat.Tests.Support;
using Pinhole.Testing.Netlab;
using Xunit.Abstractions;

namespace Pinhole.Nat.Tests.Dcutr;

/// <summary>
/// DCUtR hole punching between Pinhole nodes behind two NAT routers of the lab (tests/Pinhole.Testing/Netlab), over a
/// Pinhole relay and over a js-libp2p relay on a public host (js itself cannot punch TCP: notes/nat.md §0). Nodes run in
/// this process; every socket is made inside its host's namespace (listeners bound on a thread inside it, dials and
/// punches through NetworkNamespace.CreateSocket).
/// </summary>
[Trait("Category", "Netns")]
public sealed class DcutrNetnsTests(ITestOutputHelper output)
{
    private const string Small = "/test/small/1.0.0";

    [LabFact]
    public async Task EasyAndEasyGoDirectThroughAPinholeRelay()
    {
        var outcome = await RunAsync(NatType.Easy, NatType.Easy, jsRelay: false);
        Assert.True(outcome.B.Succeeded, outcome.B.ToString());
    }

    [JsLabFact]
    public async Task EasyAndEasyGoDirectThroughAJsRelay()
    {
        var outcome = await RunAsync(NatType.Easy, NatType.Easy, jsRelay: true);
        Assert.True(outcome.B.Succeeded, outcome.B.ToString());
    }

    [LabFact]
    public async Task HardAndHardStayRelayed()
    {
        var outcome = await RunAsync(NatType.Hard, NatType.Hard, jsRelay: false);
        AssertStaysRelayedBecauseTheMappingIsNotPredictable(outcome);
    }

    [LabFact]
    public async Task EasyAndHardStayRelayedOverTcp()
    {
        var outcome = await RunAsync(NatType.Easy, NatType.Hard, jsRelay: false);
        AssertStaysRelayedBecauseTheMappingIsNotPredictable(outcome);
    }

    private static void AssertStaysRelayedBecauseTheMappingIsNotPredictable(Outcome outcome)
    {
        Assert.False(outcome.B.Succeeded);
        Assert.Equal(3, outcome.B.Attempts);
        // The lab's routers drop unsolicited SYNs, so a wrong prediction is silence, not a reset.
        Assert.Equal(DirectConnectionFailure.PunchTimedOut, outcome.B.Failure);
        Assert.Contains("within 3 s", outcome.B.Reason, StringComparison.Ordinal);
        if (outcome.ObservedB.ToIPEndPoint().Port != outcome.ListenPortB)
        {
            // B's hard NAT gave the relay connection another port: the result says so.
            Assert.Contains("does not preserve ports", outcome.B.Reason, StringComparison.Ordinal);
        }
        Assert.NotNull(outcome.A);
        Assert.Equal(DirectConnectionFailure.PunchTimedOut, outcome.A.Failure);
    }

    private sealed record Outcome(DirectConnectionResult? A, DirectConnectionResult B, Multiaddr ObservedB, int ListenPortB);

    private async Task<Outcome> RunAsync(NatType kindA, NatType kindB, bool jsRelay)
    {
        await using var lab = await NatLab.CreateAsync(new NatLabOptions().Add("relay", NatType.Public).Add("a", kindA).Add("b", kindB));
        var relayHost = lab["relay"].Host;
        JsNode? js = null;
        TestPeer? r = null;
        try
        {
            IPEndPoint relayAt;
            PeerId relayId;
            if (jsRelay)
            {
                js = JsNode.StartIn(relayHost.Namespace, "relay", "--host", relayHost.Address.ToString());
                var listening = await js.WaitForEventAsync("listening");
                relayAt = Multiaddr.Parse(listening.GetProperty("addrs")[0].GetString()!).ToIPEndPoint();
                Assert.Equal(relayHost.Address, relayAt.Address);
                relayId = PeerId.Parse(listening.GetProperty("peerId").GetString()!);
            }
            else
            {
                r = await TestPeer.StartAsync(ns: relayHost.Namespace);
                relayAt = new IPEndPoint(relayHost.Address, r.ListenPort);
                relayId = r.Id;
                r.ServeRelay(o => o.PublicAddresses = () => [Multiaddr.FromIPEndPoint(relayAt).Encapsulate(relayId)]);
            }
            await using var a = await TestPeer.StartAsync(o => o.LimitedConnectionProtocols.Add(DcutrService.ProtocolId), ns: lab["a"].Host.Namespace);
            await using var b = await TestPeer.StartAsync(o => o.LimitedConnectionProtocols.Add(DcutrService.ProtocolId), ns: lab["b"].Host.Namespace);
            a.UseRelayClient();
            b.UseRelayClient();
            var aToR = await a.ConnectAsync(relayId, relayAt);
            var bToR = await b.ConnectAsync(relayId, relayAt);
            var dcutrA = Dcutr(a, await ObservedAsync(aToR, lab["a"].PublicAddress));
            var observedB = await ObservedAsync(bToR, lab["b"].PublicAddress);
            var dcutrB = Dcutr(b, observedB);
            var answered = new TaskCompletionSource<DirectConnectionResult>(TaskCreationOptions.RunContinuationsAsynchronously);
            a.Handle(DcutrService.ProtocolId, async (c, s) => answered.TrySetResult(await dcutrA.HandleStreamAsync(c, s)));
            b.Handle(Small, EchoAsync);
            await b.RelayClient!.ReserveAsync(bToR, TestPeer.Bounded());

            // A reaches B through the relay; time to the first byte echoed back over the circuit.
            var clock = Stopwatch.StartNew();
            var relayedA = await a.RelayClient!.ConnectAsync(aToR, b.Id, TestPeer.Bounded());
            a.Route(relayedA);
            await using var longLived = await relayedA.OpenStreamAsync(Small, TestPeer.Bounded());
            await longLived.WriteAsync("x"u8.ToArray(), TestPeer.Bounded());
            Assert.Equal((byte)'x', await ReadByteAsync(longLived));
            var firstByte = clock.Elapsed;
            var relayedB = await b.AcceptAsync();
            Assert.True(relayedB.IsInbound);

            // B, the inbound side, starts the upgrade.
            var resultB = await dcutrB.UpgradeAsync(relayedB, TestPeer.Bounded());
            var toDirect = clock.Elapsed;
            var resultA = resultB.Succeeded || resultB.Attempts > 0 ? await answered.Task.WaitAsync(TestPeer.Timeout) : null;
            output.WriteLine($"{Name(kindA)}↔{Name(kindB)} via {(jsRelay ? "js" : "Pinhole")} relay: {(resultB.Succeeded ? "direct" : "relayed")}; " +
                $"first relayed byte {firstByte.TotalMilliseconds:0} ms after dialing; DCUtR {resultB.Elapsed.TotalMilliseconds:0} ms, " +
                $"{resultB.Attempts} attempt(s), relay RTT {resultB.RelayRoundTrip?.TotalMilliseconds:0.0} ms; direct at {toDirect.TotalMilliseconds:0} ms; {resultB.Failure}: {resultB.Reason}");

            if (resultB.Succeeded)
            {
                Assert.NotNull(resultA);
                Assert.True(resultA.Succeeded, resultA.ToString());
                var directA = resultA.Direct!;
                var directB = resultB.Direct!;
                a.Route(directA);
                b.Route(directB);
                // Roles as DCUtR fixes them: A (dialed through the relay) is the client, B the server.
                Assert.False(directA.IsInbound);
                Assert.True(directB.IsInbound);
                Assert.Equal(b.Id, directA.RemotePeer);
                Assert.Equal(a.Id, directB.RemotePeer);
                Assert.Equal("tcp", directA.Netlayer);
                Assert.False(directA.IsLimited);
                // The punched path is the routers' public mappings of the listen ports.
                Assert.Equal(new IPEndPoint(lab["b"].PublicAddress, b.ListenPort), directA.RemoteAddress!.ToIPEndPoint());
                Assert.Equal(new IPEndPoint(lab["a"].PublicAddress, a.ListenPort), directB.RemoteAddress!.ToIPEndPoint());
                await directA.PingAsync(TestPeer.Bounded());
                await directB.PingAsync(TestPeer.Bounded());
                // New streams go direct (and are not limited); the relayed stream opened before keeps working.
                await using (var bulk = await directA.OpenStreamAsync("/test/bulk/1.0.0", TestPeer.Bounded()))
                {
                    var send = Task.Run(async () =>
                    {
                        await bulk.WriteAsync(new byte[300_000], TestPeer.Bounded());
                        bulk.CompleteWrites();
                    });
                    var (via, incoming) = await b.NextStreamAsync();
                    Assert.Same(directB, via);
                    await using (incoming)
                    {
                        Assert.Equal(300_000, (await Relay.RelayEndToEndTests.ReadAllAsync(incoming)).Length);
                    }
                    await send;
                }
                await longLived.WriteAsync("y"u8.ToArray(), TestPeer.Bounded());
                Assert.Equal((byte)'y', await ReadByteAsync(longLived));
                // Closing the relayed connection leaves the direct one up.
                await relayedA.DisposeAsync();
                await Task.WhenAny(relayedB.Completion).WaitAsync(TestPeer.Timeout);
                await directB.PingAsync(TestPeer.Bounded());
            }
            else
            {
                Assert.False(resultA?.Succeeded ?? false);
                // The relayed connection and its stream still work.
                await relayedA.PingAsync(TestPeer.Bounded());
                await longLived.WriteAsync("z"u8.ToArray(), TestPeer.Bounded());
                Assert.Equal((byte)'z', await ReadByteAsync(longLived));
            }
            return new Outcome(resultA, resultB, observedB, b.ListenPort);
        }
        finally
        {
            if (r is not null)
            {
                await r.DisposeAsync();
            }
            if (js is not null)
            {
                await js.DisposeAsync();
            }
        }
    }

    private static string Name(NatType kind) => kind.ToString().ToLowerInvariant();

    private static async Task<Multiaddr> ObservedAsync(PeerConnection toRelay, IPAddress expected)
    {
        var observed = (await toRelay.IdentifyAsync(TestPeer.Bounded())).ObservedAddr;
        Assert.NotNull(observed);
        Assert.Equal(expected, observed.ToIPEndPoint().Address);
        return observed;
    }

    private static DcutrService Dcutr(TestPeer peer, Multiaddr observed) => new(new DcutrOptions
    {
        ConnectionOptions = peer.Options,
        LocalEndPoint = new IPEndPoint(IPAddress.Any, peer.ListenPort),
        Addresses = () => DcutrService.PredictAddresses([observed], peer.ListenPort),
        ObservedAddresses = () => [observed],
        SocketFactory = family => peer.CreateSocket(family),
        AttemptTimeout = TimeSpan.FromSeconds(3),
    });

    private static async Task EchoAsync(PeerConnection connection, PeerStream stream)
    {
        await using (stream)
        {
            var buffer = new byte[4096];
            int n;
            try
            {
                while ((n = await stream.ReadAsync(buffer, TestPeer.Bounded())) > 0)
                {
                    await stream.WriteAsync(buffer.AsMemory(0, n), TestPeer.Bounded());
                }
                stream.CompleteWrites();
            }
            catch (Exception e) when (e is IOException or OperationCanceledException)
            {
            }
        }
    }

    private static async Task<byte> ReadByteAsync(Stream stream)
    {
        var one = new byte[1];
        await stream.ReadExactlyAsync(one, TestPeer.Bounded());
        return one[0];
    }
}
