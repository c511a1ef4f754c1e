using System.Collections.Concurrent;
using System.Text.Json;
using Pinhole.Nat.Relay;
using Pinhole.Nat.Tests.Support;

namespace Pinhole.Nat.Tests.Relay;

/// <summary>
/// Circuit relay v2 against real js-libp2p 3.3.11 + @libp2p/circuit-relay-v2 4.2.13 on loopback: a js relay serving
/// Pinhole clients, and a Pinhole relay serving js clients.
/// </summary>
[Trait("Category", "Interop")]
public sealed class JsRelayInteropTests
{
    private const string Echo = "/pinhole-test/echo/1.0.0";

    private static async Task<(JsNode Relay, Multiaddr Address, PeerId Id)> StartJsRelayAsync(params string[] options)
    {
        var relay = JsNode.Start(["relay", .. options]);
        var listening = await relay.WaitForEventAsync("listening");
        var address = Multiaddr.Parse(listening.GetProperty("addrs")[0].GetString()!);
        return (relay, address, PeerId.Parse(listening.GetProperty("peerId").GetString()!));
    }

    private static async Task<PeerConnection> ConnectAsync(TestPeer peer, Multiaddr address)
    {
        var connection = await PeerConnection.ConnectAsync(new PeerConnectOptions
        {
            Identity = peer.Identity,
            Remote = PeerAddress.FromMultiaddr(address),
            LimitedConnectionProtocols = peer.Options.LimitedConnectionProtocols,
        }, TestPeer.Bounded());
        peer.Route(connection);
        return connection;
    }

    private static void ServeEcho(TestPeer peer) => peer.Handle(Echo, async (_, stream) =>
    {
        await using (stream)
        {
            await stream.CopyToAsync(stream, TestPeer.Bounded());
            stream.CompleteWrites();
        }
    });

    [JsFact]
    public async Task PinholeClientsReserveAndConnectThroughAJsRelayWithItsDefaultLimits()
    {
        var (js, address, relayId) = await StartJsRelayAsync();
        await using var _ = js;
        await using var a = await TestPeer.StartAsync();
        a.UseRelayClient();
        await using var b = await TestPeer.StartAsync();
        b.UseRelayClient();
        var aToR = await ConnectAsync(a, address);
        var reservation = await a.RelayClient!.ReserveAsync(aToR, TestPeer.Bounded());

        // js's voucher verified; js's limit as sent: 128 KiB, and its 120 000 ms in the seconds field (taken as a hint).
        Assert.NotNull(reservation.Voucher);
        Assert.Equal(relayId, reservation.Voucher!.Relay);
        Assert.Equal(a.Id, reservation.Voucher.Peer);
        Assert.Equal(131072UL, reservation.Limit!.Data);
        Assert.Equal(TimeSpan.FromSeconds(120_000), reservation.Limit.Duration);
        Assert.InRange(reservation.Expiration, DateTimeOffset.UtcNow + TimeSpan.FromMinutes(115), DateTimeOffset.UtcNow + TimeSpan.FromMinutes(125));
        Assert.Contains(CircuitAddress.Create(address, a.Id), reservation.Addresses);
        var reserved = await js.WaitForEventAsync("reserved");
        Assert.Equal(a.Id.ToString(), reserved.GetProperty("peer").GetString());

        var bToR = await ConnectAsync(b, address);
        var dialed = await b.RelayClient!.ConnectAsync(bToR, CircuitAddress.Create(address, a.Id), TestPeer.Bounded());
        b.Route(dialed);
        var accepted = await a.AcceptAsync();
        Assert.Equal(a.Id, dialed.RemotePeer);
        Assert.Equal(b.Id, accepted.RemotePeer);
        Assert.True(dialed.IsLimited);
        Assert.True(accepted.IsLimited);
        await dialed.PingAsync(TestPeer.Bounded());
        await accepted.PingAsync(TestPeer.Bounded());
        Assert.Equal(a.Id, Libp2pPublicKey.Decode((await dialed.IdentifyAsync(TestPeer.Bounded())).PublicKey!.Span).PeerId);
    }

    [JsFact]
    public async Task AJsRelayCutsTheCircuitAtItsDefaultDataLimit()
    {
        var (js, address, _) = await StartJsRelayAsync();
        await using var _ = js;
        await using var a = await TestPeer.StartAsync();
        a.UseRelayClient();
        await using var b = await TestPeer.StartAsync();
        b.UseRelayClient();
        await a.RelayClient!.ReserveAsync(await ConnectAsync(a, address), TestPeer.Bounded());
        var dialed = await b.RelayClient!.ConnectAsync(await ConnectAsync(b, address), a.Id, TestPeer.Bounded());
        var accepted = await a.AcceptAsync();
        Assert.Equal(131072UL, dialed.Limit!.Data);
        await dialed.PingAsync(TestPeer.Bounded());
        await using var stream = await dialed.OpenStreamAsync("/test/small/1.0.0", TestPeer.Bounded());
        var write = Task.Run(async () =>
        {
            var chunk = new byte[16 * 1024];
            for (var i = 0; i < 32; i++)
            {
                await stream.WriteAsync(chunk, TestPeer.Bounded());
            }
        });
        await Assert.ThrowsAnyAsync<Exception>(() => dialed.Completion.WaitAsync(TestPeer.Timeout));
        await Assert.ThrowsAnyAsync<Exception>(() => accepted.Completion.WaitAsync(TestPeer.Timeout));
        await Assert.ThrowsAnyAsync<IOException>(() => write);
    }

    [JsFact]
    public async Task AJsPeerDialsAPinholeClientThroughAJsRelay()
    {
        var (js, address, _) = await StartJsRelayAsync("--no-default-limit");
        await using var _ = js;
        await using var a = await TestPeer.StartAsync();
        a.UseRelayClient();
        ServeEcho(a);
        var reservation = await a.RelayClient!.ReserveAsync(await ConnectAsync(a, address), TestPeer.Bounded());
        Assert.Null(reservation.Limit);

        var run = await JsNode.RunAsync("dial", CircuitAddress.Create(address, a.Id).ToString(), "--count", "2", "--echo", "1048576");
        var connected = Single(run, "connected");
        Assert.Equal(a.Id.ToString(), connected.GetProperty("remotePeer").GetString());
        Assert.Equal(JsonValueKind.Null, connected.GetProperty("limits").ValueKind);
        Assert.True(run.Count(e => Name(e) == "ping") == 2, Events(run));
        var echo = Single(run, "echo");
        Assert.True(echo.GetProperty("ok").GetBoolean(), echo.GetRawText());
        Assert.Contains("pinhole", Single(run, "identify").GetProperty("agentVersion").GetString(), StringComparison.Ordinal);
        var accepted = await a.AcceptAsync();
        Assert.False(accepted.IsLimited);
        Assert.Equal(RelayClient.Netlayer, accepted.Netlayer);
    }

    [JsFact]
    public async Task JsClientsReserveAndConnectThroughAPinholeRelayThatSendsALimit()
    {
        await using var r = await TestPeer.StartAsync();
        var server = r.ServeRelay();
        await using var client = JsNode.Start("client", "--relay", r.Address.ToString());
        var reserved = await client.WaitForEventAsync("reserved");
        var jsId = PeerId.Parse(reserved.GetProperty("peerId").GetString()!);
        var circuit = CircuitAddress.Create(r.Address, jsId);
        Assert.Contains(circuit.ToString(), reserved.GetProperty("addrs").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(jsId, Assert.Single(server.GetReservations()).Peer);

        var run = await JsNode.RunAsync("dial", circuit.ToString(), "--count", "1");
        var connected = Single(run, "connected");
        Assert.Equal(jsId.ToString(), connected.GetProperty("remotePeer").GetString());
        // js marks the connection limited exactly because we sent a Limit: 128 KiB, ~120 s (js reports what is left).
        var limits = connected.GetProperty("limits");
        Assert.InRange(BytesLeft(limits), 100_000, 131_072);
        Assert.InRange(limits.GetProperty("seconds").GetInt32(), 115, 120);
        Assert.Single(run, e => Name(e) == "ping");
        var inbound = await client.WaitForEventAsync("connection", e => e.GetProperty("remoteAddr").GetString()!.Contains("/p2p-circuit", StringComparison.Ordinal));
        Assert.InRange(BytesLeft(inbound.GetProperty("limits")), 100_000, 131_072);

        // A Pinhole peer reaches the js client through the same relay.
        await using var b = await TestPeer.StartAsync();
        b.UseRelayClient();
        var dialed = await b.RelayClient!.ConnectAsync(await b.ConnectAsync(r), circuit, TestPeer.Bounded());
        Assert.Equal(jsId, dialed.RemotePeer);
        Assert.True(dialed.IsLimited);
        await dialed.PingAsync(TestPeer.Bounded());
        Assert.Contains("js-libp2p", (await dialed.IdentifyAsync(TestPeer.Bounded())).AgentVersion, StringComparison.Ordinal);
    }

    [JsFact]
    public async Task JsPeersThroughAnUnlimitedPinholeRelayGetNoLimitsAndTheRelaySeesOnlyTls()
    {
        await using var r = await TestPeer.StartAsync();
        var server = r.ServeRelay(o => o.CircuitLimit = null);
        var forwarded = new ConcurrentQueue<byte[]>();
        server.CircuitTap = (toTarget, chunk) =>
        {
            if (toTarget)
            {
                forwarded.Enqueue(chunk.ToArray());
            }
        };
        await using var client = JsNode.Start("client", "--relay", r.Address.ToString());
        var jsId = PeerId.Parse((await client.WaitForEventAsync("reserved")).GetProperty("peerId").GetString()!);
        var run = await JsNode.RunAsync("dial", CircuitAddress.Create(r.Address, jsId).ToString(), "--count", "1", "--echo", "262144");
        var connected = Single(run, "connected");
        Assert.Equal(JsonValueKind.Null, connected.GetProperty("limits").ValueKind);
        Assert.True(Single(run, "echo").GetProperty("ok").GetBoolean());
        await RelayEndToEndTests.WaitUntilAsync(() => server.CircuitCount == 0);
        var bytes = forwarded.SelectMany(c => c).ToArray();
        Assert.True(bytes.Length > 262144);
        // js dialer → js listener: multistream /tls/1.0.0, then TLS records only (js's echo bytes are random, so check framing).
        var at = 0;
        for (var i = 0; i < 2; i++)
        {
            at += 1 + bytes[at];
        }
        var records = 0;
        while (at < bytes.Length)
        {
            Assert.Contains(bytes[at], new byte[] { 0x14, 0x15, 0x16, 0x17 });
            Assert.Equal(0x03, bytes[at + 1]);
            at += 5 + ((bytes[at + 3] << 8) | bytes[at + 4]);
            records++;
        }
        Assert.Equal(bytes.Length, at);
        Assert.True(records > 10);
    }

    [JsFact]
    public async Task APinholeRelayAnswersNoReservationToJs()
    {
        await using var r = await TestPeer.StartAsync();
        r.ServeRelay();
        using var nobody = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var run = await JsNode.RunAsync("dial", CircuitAddress.Create(r.Address, nobody.PeerId).ToString());
        var error = Single(run, "error");
        Assert.Contains("NO_RESERVATION", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [JsFact]
    public async Task AJsPeerDialsAPinholeClientThroughAPinholeRelay()
    {
        await using var r = await TestPeer.StartAsync();
        r.ServeRelay();
        await using var a = await TestPeer.StartAsync(o => o.LimitedConnectionProtocols.Add(Echo));
        a.UseRelayClient();
        ServeEcho(a);
        await a.RelayClient!.ReserveAsync(await a.ConnectAsync(r), TestPeer.Bounded());
        var run = await JsNode.RunAsync("dial", CircuitAddress.Create(r.Address, a.Id).ToString(), "--count", "1", "--echo", "4096");
        Assert.InRange(BytesLeft(Single(run, "connected").GetProperty("limits")), 100_000, 131_072);
        Assert.True(Single(run, "echo").GetProperty("ok").GetBoolean());
        var accepted = await a.AcceptAsync();
        Assert.True(accepted.IsLimited);
    }

    private static long BytesLeft(JsonElement limits) => long.Parse(limits.GetProperty("bytes").GetString()!, System.Globalization.CultureInfo.InvariantCulture);

    private static string? Name(JsonElement e) => e.GetProperty("event").GetString();

    private static string Events(IReadOnlyList<JsonElement> events) => string.Join('\n', events.Select(e => e.GetRawText()));

    private static JsonElement Single(IReadOnlyList<JsonElement> events, string name)
    {
        var matching = events.Where(e => Name(e) == name).ToList();
        Assert.True(matching.Count == 1, $"expected one '{name}' event in:\n{string.Join('\n', events.Select(e => e.GetRawText()))}");
        return matching[0];
    }
}
