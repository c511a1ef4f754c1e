using Pinhole.Core.Tests.Interop;

namespace Pinhole.Core.Tests.Records;

public class PeerRecordTests
{
    private static readonly Multiaddr[] Addresses =
    [
        Multiaddr.Parse("/ip4/198.51.100.7/tcp/4001"),
        Multiaddr.Parse("/ip6/2001:db8::1/udp/4001"),
    ];

    [Fact]
    public void Round_trip_through_a_signed_envelope()
    {
        using var identity = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var envelope = new PeerRecord(identity.PeerId, 42, Addresses).Seal(identity);

        var record = PeerRecord.Open(envelope.Encoded.Span);

        Assert.Equal(identity.PeerId, record.PeerId);
        Assert.Equal(42UL, record.Sequence);
        Assert.Equal(Addresses, record.Addresses);
    }

    [Fact]
    public void A_record_signed_by_another_key_is_refused()
    {
        using var subject = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        using var forger = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var payload = new PeerRecord(subject.PeerId, 1, Addresses).Encode();
        var forged = SignedEnvelope.Seal(forger, PeerRecord.Domain, PeerRecord.PayloadType, payload);

        var e = Assert.Throws<FormatException>(() => PeerRecord.Open(forged.Encoded.Span));
        Assert.Contains("signed by another key", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new PeerRecord(subject.PeerId, 1, Addresses).Seal(forger));
    }

    [Fact]
    public void Too_many_addresses_are_refused_while_decoding()
    {
        using var identity = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var writer = new Codecs.ProtobufWriter();
        writer.WriteBytes(1, identity.PeerId.Multihash.Span);
        for (var i = 0; i <= PeerRecord.MaxAddresses; i++)
        {
            var info = new Codecs.ProtobufWriter();
            info.WriteBytes(1, Addresses[0].Bytes.Span);
            writer.WriteBytes(3, info.WrittenSpan);
        }

        var e = Assert.Throws<FormatException>(() => PeerRecord.Decode(writer.WrittenSpan));
        Assert.Contains("more than", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_bad_multiaddr_is_refused()
    {
        using var identity = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var writer = new Codecs.ProtobufWriter();
        writer.WriteBytes(1, identity.PeerId.Multihash.Span);
        var info = new Codecs.ProtobufWriter();
        info.WriteBytes(1, [0xff, 0xff, 0xff]);
        writer.WriteBytes(3, info.WrittenSpan);

        Assert.Throws<FormatException>(() => PeerRecord.Decode(writer.WrittenSpan));
    }

    [JsLibp2pFact]
    public async Task Js_libp2p_opens_a_record_pinhole_sealed()
    {
        using var identity = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var envelope = new PeerRecord(identity.PeerId, 1_700_000_000, Addresses).Seal(identity);

        var run = await JsLibp2pPeer.RunAsync(["open-record", Convert.ToHexString(envelope.Encoded.Span)], JsLibp2pPeer.DefaultTimeout);

        Assert.True(run.ExitCode == 0, run.ToString());
        var opened = run.Single("record-ok");
        Assert.Equal(identity.PeerId.ToString(), opened.GetString("peerId"));
        Assert.Equal("1700000000", opened.GetString("seq"));
        Assert.Equal(Addresses.Select(a => a.ToString()), opened.GetStrings("addrs"));
    }

    [JsLibp2pFact]
    public async Task Js_libp2p_rejects_a_record_pinhole_signed_for_another_domain()
    {
        using var identity = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var payload = new PeerRecord(identity.PeerId, 1, Addresses).Encode();
        var wrongDomain = SignedEnvelope.Seal(identity, "libp2p-relay-rsvp", PeerRecord.PayloadType, payload);

        var run = await JsLibp2pPeer.RunAsync(["open-record", Convert.ToHexString(wrongDomain.Encoded.Span)], JsLibp2pPeer.DefaultTimeout);

        Assert.Equal(1, run.ExitCode);
    }

    [JsLibp2pFact]
    public async Task Pinhole_opens_a_record_js_libp2p_sealed()
    {
        var run = await JsLibp2pPeer.RunAsync(
            ["seal-record", "7", "--addr", "/ip4/198.51.100.7/tcp/4001", "--addr", "/ip6/2001:db8::1/udp/4001"], JsLibp2pPeer.DefaultTimeout);
        Assert.True(run.ExitCode == 0, run.ToString());
        var sealedRecord = run.Single("record");

        var record = PeerRecord.Open(Convert.FromHexString(sealedRecord.GetString("envelope")!));

        Assert.Equal(sealedRecord.GetString("peerId"), record.PeerId.ToString());
        Assert.Equal(7UL, record.Sequence);
        Assert.Equal(Addresses, record.Addresses);
    }
}
