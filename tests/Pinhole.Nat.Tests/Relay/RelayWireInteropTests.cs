using Pinhole.Nat.Relay;
using Pinhole.Nat.Relay.Protocol;
using Pinhole.Nat.Tests.Support;

namespace Pinhole.Nat.Tests.Relay;

/// <summary>Relay messages and vouchers checked byte for byte against js-libp2p's own codecs.</summary>
[Trait("Category", "Interop")]
public sealed class RelayWireInteropTests : IDisposable
{
    private readonly NodeIdentity _peer = NodeIdentity.Generate(Libp2pKeyType.Ed25519);

    public void Dispose() => _peer.Dispose();

    private static string Hex(byte[] bytes) => Convert.ToHexStringLower(bytes);

    [JsFact]
    public async Task MessagesEncodeExactlyAsJsDoes()
    {
        var addr = Multiaddr.Parse("/ip4/198.51.100.1/tcp/4001");
        var events = await JsNode.RunAsync("vectors", "--peer", _peer.PeerId.ToString(), "--addr", addr.ToString());
        var v = Assert.Single(events, e => e.GetProperty("event").GetString() == "vectors");
        string Js(string name) => v.GetProperty(name).GetString()!;

        Assert.Equal(Js("reserve"), Hex(new HopMessage(HopMessageType.Reserve).Encode()));
        Assert.Equal(Js("connect"), Hex(new HopMessage(HopMessageType.Connect, new RelayPeer(_peer.PeerId, [addr])).Encode()));
        Assert.Equal(Js("noReservation"), Hex(new HopMessage(HopMessageType.Status, Status: RelayStatus.NoReservation).Encode()));
        Assert.Equal(Js("stopOk"), Hex(new StopMessage(StopMessageType.Status, Status: RelayStatus.Ok).Encode()));
        Assert.Equal(Js("stopConnect"), Hex(new StopMessage(StopMessageType.Connect, new RelayPeer(_peer.PeerId, []), new LimitInfo(120, 131072)).Encode()));

        // The js STATUS OK carries a voucher js signed: it verifies here, and re-encoding gives js's bytes.
        var hopOk = HopMessage.Parse(Convert.FromHexString(Js("hopOk")));
        Assert.Equal(RelayStatus.Ok, hopOk.Status);
        Assert.Equal(new LimitInfo(120, 131072), hopOk.Limit);
        Assert.Equal(1_700_000_000UL, hopOk.Reservation!.Expire);
        Assert.Equal(addr, Assert.Single(hopOk.Reservation.Addresses));
        var voucher = ReservationVoucher.Open(hopOk.Reservation.Voucher!.Value.Span);
        Assert.Equal(PeerId.Parse(Js("relay")), voucher.Relay);
        Assert.Equal(_peer.PeerId, voucher.Peer);
        Assert.Equal(1_700_000_000UL, voucher.ExpirationUnixSeconds);
        Assert.Equal(Js("voucherEnvelope"), Hex(voucher.Envelope.Encoded.ToArray()));
        Assert.Equal(Js("hopOk"), Hex(hopOk.Encode()));
    }

    [JsFact]
    public async Task JsDecodesWhatWeEncode()
    {
        using var relay = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var voucher = ReservationVoucher.Seal(relay, _peer.PeerId, 1_800_000_000);
        var ok = new HopMessage(HopMessageType.Status,
            Reservation: new ReservationInfo(1_800_000_000, [Multiaddr.Parse("/ip4/198.51.100.1/tcp/4001/p2p/" + relay.PeerId)], voucher.Envelope.Encoded),
            Limit: new LimitInfo(60, 4096), Status: RelayStatus.Ok);
        var events = await JsNode.RunAsync("decode", "hop", Hex(ok.Encode()), Hex(new HopMessage(HopMessageType.Reserve).Encode()));
        var decoded = events.Where(e => e.GetProperty("event").GetString() == "decoded").Select(e => e.GetProperty("message")).ToList();
        Assert.Equal(2, decoded.Count);
        Assert.Equal("STATUS", decoded[0].GetProperty("type").GetString());
        Assert.Equal("OK", decoded[0].GetProperty("status").GetString());
        Assert.Equal("1800000000", decoded[0].GetProperty("reservation").GetProperty("expire").GetString());
        Assert.Equal(60, decoded[0].GetProperty("limit").GetProperty("duration").GetInt32());
        Assert.Equal("4096", decoded[0].GetProperty("limit").GetProperty("data").GetString());
        var payload = decoded[0].GetProperty("reservation").GetProperty("voucher").GetProperty("payload");
        Assert.Equal(Hex(_peer.PeerId.Multihash.ToArray()), payload.GetProperty("peer").GetString());
        Assert.Equal("RESERVE", decoded[1].GetProperty("type").GetString());
    }

    [JsFact]
    public async Task VouchersVerifyBothWays()
    {
        var sealedByJs = Assert.Single(await JsNode.RunAsync("seal-voucher", _peer.PeerId.ToString(), "1700000123"), e => e.GetProperty("event").GetString() == "voucher");
        var opened = ReservationVoucher.Open(Convert.FromHexString(sealedByJs.GetProperty("envelope").GetString()!));
        Assert.Equal(PeerId.Parse(sealedByJs.GetProperty("relay").GetString()!), opened.Relay);
        Assert.Equal(_peer.PeerId, opened.Peer);
        Assert.Equal(1_700_000_123UL, opened.ExpirationUnixSeconds);

        using var relay = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var ours = ReservationVoucher.Seal(relay, _peer.PeerId, 1_700_000_456);
        var checkedByJs = Assert.Single(await JsNode.RunAsync("open-voucher", Hex(ours.Envelope.Encoded.ToArray())), e => e.GetProperty("event").GetString() == "voucher-ok");
        Assert.Equal(relay.PeerId.ToString(), checkedByJs.GetProperty("signer").GetString());
        Assert.Equal(relay.PeerId.ToString(), checkedByJs.GetProperty("relay").GetString());
        Assert.Equal("0302", checkedByJs.GetProperty("payloadType").GetString());
        Assert.Equal(Hex(_peer.PeerId.Multihash.ToArray()), checkedByJs.GetProperty("peer").GetString());
        Assert.Equal("1700000456", checkedByJs.GetProperty("expiration").GetString());
    }
}
