using Pinhole.Codecs;
using Pinhole.Nat.Relay;
using Pinhole.Nat.Relay.Protocol;
using Pinhole.Nat.Tests.Support;

namespace Pinhole.Nat.Tests.Relay;

/// <summary>Bad hop and stop input gets a status and never breaks the relay or the client.</summary>
public sealed class RelayHostileInputTests
{
    [Theory]
    [InlineData("0a", RelayStatus.MalformedMessage)]             // length 10, then nothing: stream ends inside the message
    [InlineData("02ffff", RelayStatus.MalformedMessage)]         // protobuf garbage
    [InlineData("8120", RelayStatus.MalformedMessage)]           // 4097-byte message announced
    [InlineData("020807", RelayStatus.UnexpectedMessage)]        // unknown type 7
    [InlineData("020802", RelayStatus.UnexpectedMessage)]        // a STATUS sent to the relay
    [InlineData("020801", RelayStatus.MalformedMessage)]         // CONNECT without a peer
    [InlineData("0608011202 0a00", RelayStatus.MalformedMessage)] // CONNECT with an empty peer id
    public async Task TheRelayAnswersBadHopRequestsAndKeepsServing(string hex, RelayStatus expected)
    {
        await using var r = await TestPeer.StartAsync();
        r.ServeRelay();
        await using var a = await TestPeer.StartAsync();
        a.UseRelayClient();
        var aToR = await a.ConnectAsync(r);
        var bytes = Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal));
        await using (var hop = await aToR.OpenStreamAsync(RelayServer.HopProtocolId, TestPeer.Bounded()))
        {
            if (hex == "0a")
            {
                await hop.WriteAsync(bytes, TestPeer.Bounded());
                hop.CompleteWrites();
                var body = await DelimitedMessage.ReadAsync(hop, "hop", TestPeer.Bounded());
                Assert.Equal(expected, HopMessage.Parse(body!).Status);
            }
            else
            {
                Assert.Equal(expected, (await RawHop.RawExchangeAsync(hop, bytes)).Status);
            }
        }
        // The relay still serves the same peer on the same connection.
        await a.RelayClient!.ReserveAsync(aToR, TestPeer.Bounded());
        Assert.Equal(1, r.RelayServer!.ReservationCount);
    }

    [Fact]
    public async Task ASilentHopStreamIsCutByTheHopTimeout()
    {
        var clock = Pinhole.Testing.Clocks.StartingNow();
        await using var r = await TestPeer.StartAsync();
        r.ServeRelay(o =>
        {
            o.TimeProvider = clock;
            o.HopTimeout = TimeSpan.FromSeconds(5);
        });
        await using var a = await TestPeer.StartAsync();
        var aToR = await a.ConnectAsync(r);
        await using var hop = await aToR.OpenStreamAsync(RelayServer.HopProtocolId, TestPeer.Bounded());
        var read = hop.ReadAsync(new byte[1], TestPeer.Bounded()).AsTask();
        await Task.Delay(100);
        Assert.False(read.IsCompleted); // the clock has not moved: the relay waits
        // The relay arms its 5 s timer when its handler starts, which a loaded machine may not have done yet: keep
        // moving the clock past it until the relay cuts the stream (bounded by the read's own hang guard).
        while (!read.IsCompleted)
        {
            clock.Advance(TimeSpan.FromSeconds(6));
            await Task.WhenAny(read, Task.Delay(50));
        }
        await Assert.ThrowsAnyAsync<IOException>(() => read);
    }

    [Theory]
    [InlineData("02ffff", RelayStatus.MalformedMessage)]
    [InlineData("020801", RelayStatus.UnexpectedMessage)] // STATUS sent to the target
    [InlineData("020800", RelayStatus.MalformedMessage)]  // CONNECT without the initiator
    public async Task TheClientAnswersBadStopRequests(string hex, RelayStatus expected)
    {
        await using var relay = await TestPeer.StartAsync();
        await using var a = await TestPeer.StartAsync();
        a.UseRelayClient(o => o.AcceptOnlyReservedRelays = false);
        var aToRelay = await a.ConnectAsync(relay);
        var relaySide = await relay.AcceptAsync();
        await using var stop = await relaySide.OpenStreamAsync(RelayClient.StopProtocolId, TestPeer.Bounded());
        Assert.Equal(expected, (await RawHop.StopExchangeAsync(stop, Convert.FromHexString(hex))).Status);
        Assert.False(aToRelay.Completion.IsCompleted);
    }

    [Fact]
    public async Task TheClientRefusesCircuitsFromRelaysItHasNoReservationOn()
    {
        await using var relay = await TestPeer.StartAsync();
        await using var a = await TestPeer.StartAsync();
        a.UseRelayClient();
        await a.ConnectAsync(relay);
        var relaySide = await relay.AcceptAsync();
        await using var stop = await relaySide.OpenStreamAsync(RelayClient.StopProtocolId, TestPeer.Bounded());
        var connect = new StopMessage(StopMessageType.Connect, new RelayPeer(relay.Id, []));
        Assert.Equal(RelayStatus.PermissionDenied, (await RawHop.StopExchangeAsync(stop, DelimitedMessage.Frame(connect.Encode()))).Status);
    }

    /// <summary>A fake relay whose RESERVE answer is crafted by the test.</summary>
    private static async Task<PeerException> ReserveAgainstAsync(Func<TestPeer, TestPeer, HopMessage> answer)
    {
        await using var relay = await TestPeer.StartAsync();
        await using var a = await TestPeer.StartAsync();
        a.UseRelayClient();
        relay.Handle(RelayServer.HopProtocolId, async (_, stream) =>
        {
            await using (stream)
            {
                await DelimitedMessage.ReadAsync(stream, "hop", TestPeer.Bounded());
                await DelimitedMessage.WriteAsync(stream, answer(relay, a).Encode(), TestPeer.Bounded());
                stream.CompleteWrites();
            }
        });
        var aToRelay = await a.ConnectAsync(relay);
        return await Assert.ThrowsAnyAsync<PeerException>(() => a.RelayClient!.ReserveAsync(aToRelay, TestPeer.Bounded()));
    }

    [Fact]
    public async Task AVoucherForSomeoneElseFailsTheReservation()
    {
        using var stranger = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var e = await ReserveAgainstAsync((relay, _) =>
        {
            var voucher = ReservationVoucher.Seal(relay.Identity, stranger.PeerId, 2_000_000_000);
            return new HopMessage(HopMessageType.Status, Reservation: new ReservationInfo(2_000_000_000, [], voucher.Envelope.Encoded), Status: RelayStatus.Ok);
        });
        Assert.Equal(PeerError.ProtocolViolation, e.Error);
        Assert.Contains("voucher", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AVoucherWithABadSignatureFailsTheReservation()
    {
        var e = await ReserveAgainstAsync((relay, a) =>
        {
            var encoded = ReservationVoucher.Seal(relay.Identity, a.Id, 2_000_000_000).Envelope.Encoded.ToArray();
            encoded[^1] ^= 0x40;
            return new HopMessage(HopMessageType.Status, Reservation: new ReservationInfo(2_000_000_000, [], encoded), Status: RelayStatus.Ok);
        });
        Assert.Equal(PeerError.ProtocolViolation, e.Error);
        Assert.Contains("does not verify", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AVoucherWithAnotherExpiryFailsTheReservation()
    {
        var e = await ReserveAgainstAsync((relay, a) =>
        {
            var voucher = ReservationVoucher.Seal(relay.Identity, a.Id, 2_000_000_001);
            return new HopMessage(HopMessageType.Status, Reservation: new ReservationInfo(2_000_000_000, [], voucher.Envelope.Encoded), Status: RelayStatus.Ok);
        });
        Assert.Equal(PeerError.ProtocolViolation, e.Error);
    }

    [Fact]
    public async Task OkWithoutAnExpiryIsAProtocolViolation()
    {
        var e = await ReserveAgainstAsync((_, _) => new HopMessage(HopMessageType.Status, Status: RelayStatus.Ok));
        Assert.Equal(PeerError.ProtocolViolation, e.Error);
    }

    [Fact]
    public async Task ReservationAddressesNamingOtherPeersAreDropped()
    {
        await using var relay = await TestPeer.StartAsync();
        await using var a = await TestPeer.StartAsync();
        a.UseRelayClient();
        using var other = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        relay.Handle(RelayServer.HopProtocolId, async (_, stream) =>
        {
            await using (stream)
            {
                await DelimitedMessage.ReadAsync(stream, "hop", TestPeer.Bounded());
                var doubled = Multiaddr.Parse("/ip4/198.51.100.9/tcp/4001").Encapsulate(relay.Id).Encapsulate(relay.Id);
                var foreign = Multiaddr.Parse("/ip4/198.51.100.8/tcp/4001").Encapsulate(other.PeerId);
                var circuit = Multiaddr.Parse("/ip4/198.51.100.7/tcp/4001").Encapsulate(relay.Id).Encapsulate("/p2p-circuit");
                var info = new ReservationInfo(2_000_000_000, [doubled, foreign, circuit, Multiaddr.Parse("/ip4/198.51.100.6/tcp/4001")], null);
                await DelimitedMessage.WriteAsync(stream, new HopMessage(HopMessageType.Status, Reservation: info, Status: RelayStatus.Ok).Encode(), TestPeer.Bounded());
            }
        });
        var aToRelay = await a.ConnectAsync(relay);
        var reservation = await a.RelayClient!.ReserveAsync(aToRelay, TestPeer.Bounded());
        Assert.Null(reservation.Voucher);
        Assert.Equal(
            [
                $"/ip4/198.51.100.9/tcp/4001/p2p/{relay.Id}/p2p-circuit/p2p/{a.Id}",
                $"/ip4/198.51.100.6/tcp/4001/p2p/{relay.Id}/p2p-circuit/p2p/{a.Id}",
                $"{relay.Listener!.ListenAddresses[0]}/p2p/{relay.Id}/p2p-circuit/p2p/{a.Id}",
            ],
            reservation.Addresses.Select(c => c.ToString()));
    }

    [Fact]
    public async Task AnOversizedAnswerIsAProtocolViolation()
    {
        await using var relay = await TestPeer.StartAsync();
        await using var a = await TestPeer.StartAsync();
        a.UseRelayClient();
        relay.Handle(RelayServer.HopProtocolId, async (_, stream) =>
        {
            await using (stream)
            {
                await DelimitedMessage.ReadAsync(stream, "hop", TestPeer.Bounded());
                var prefix = new byte[3];
                var n = Varint.Write(prefix, 1 << 20);
                await stream.WriteAsync(prefix.AsMemory(0, n), TestPeer.Bounded());
            }
        });
        var aToRelay = await a.ConnectAsync(relay);
        var e = await Assert.ThrowsAsync<PeerException>(() => a.RelayClient!.ReserveAsync(aToRelay, TestPeer.Bounded()));
        Assert.Equal(PeerError.ProtocolViolation, e.Error);
    }
}
