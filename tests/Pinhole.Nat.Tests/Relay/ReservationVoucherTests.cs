using System.Security.Cryptography;
using Pinhole.Codecs;
using Pinhole.Nat.Relay;

namespace Pinhole.Nat.Tests.Relay;

public sealed class ReservationVoucherTests : IDisposable
{
    private readonly NodeIdentity _relay = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
    private readonly NodeIdentity _peer = NodeIdentity.Generate(Libp2pKeyType.Ed25519);

    public void Dispose()
    {
        _relay.Dispose();
        _peer.Dispose();
    }

    [Fact]
    public void SealedVoucherOpensAndSaysWhoAndUntilWhen()
    {
        var voucher = ReservationVoucher.Seal(_relay, _peer.PeerId, 1_800_000_000);
        var opened = ReservationVoucher.Open(voucher.Envelope.Encoded.Span);
        Assert.Equal(_relay.PeerId, opened.Relay);
        Assert.Equal(_peer.PeerId, opened.Peer);
        Assert.Equal(1_800_000_000UL, opened.ExpirationUnixSeconds);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1_800_000_000), opened.Expiration);
        Assert.Equal(new byte[] { 0x03, 0x02 }, opened.Envelope.PayloadType.ToArray());
    }

    [Fact]
    public void PayloadIsCanonical()
    {
        var payload = ReservationVoucher.EncodePayload(_relay.PeerId, _peer.PeerId, 300);
        var expected = new ProtobufWriter();
        expected.WriteBytes(1, _relay.PeerId.Multihash.Span);
        expected.WriteBytes(2, _peer.PeerId.Multihash.Span);
        expected.WriteVarint(3, 300);
        Assert.Equal(expected.ToArray(), payload);
    }

    [Fact]
    public void TamperedVoucherFailsItsSignature()
    {
        var encoded = ReservationVoucher.Seal(_relay, _peer.PeerId, 1_800_000_000).Envelope.Encoded.ToArray();
        // The expiration is the payload's last byte group; flip a bit inside the payload.
        var envelope = SignedEnvelope.Decode(encoded);
        var payloadAt = encoded.AsSpan().IndexOf(envelope.Payload.Span);
        encoded[payloadAt + envelope.Payload.Length - 1] ^= 0x01;
        Assert.Throws<CryptographicException>(() => ReservationVoucher.Open(encoded));
    }

    [Fact]
    public void VoucherOfAnotherDomainOrTypeIsRefused()
    {
        var payload = ReservationVoucher.EncodePayload(_relay.PeerId, _peer.PeerId, 10);
        var wrongDomain = SignedEnvelope.Seal(_relay, "libp2p-peer-record", ReservationVoucher.PayloadType, payload);
        Assert.Throws<CryptographicException>(() => ReservationVoucher.Open(wrongDomain.Encoded.Span));
        // The uvarint of 0x0302 (82 06) is not what implementations send.
        var varintType = SignedEnvelope.Seal(_relay, ReservationVoucher.Domain, [0x82, 0x06], payload);
        Assert.Throws<FormatException>(() => ReservationVoucher.Open(varintType.Encoded.Span));
    }

    [Fact]
    public void VoucherSignedBySomeoneElseIsRefused()
    {
        var payload = ReservationVoucher.EncodePayload(_relay.PeerId, _peer.PeerId, 10);
        var forged = SignedEnvelope.Seal(_peer, ReservationVoucher.Domain, ReservationVoucher.PayloadType, payload);
        var e = Assert.Throws<FormatException>(() => ReservationVoucher.Open(forged.Encoded.Span));
        Assert.Contains("signed by", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "relay (field 1)")]
    [InlineData("1803", "relay (field 1)")]
    [InlineData("0a00", "")]
    public void IncompletePayloadsAreRefused(string hex, string expected)
    {
        var e = Assert.Throws<FormatException>(() => ReservationVoucher.DecodePayload(Convert.FromHexString(hex)));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PayloadWithoutExpirationIsRefused()
    {
        var writer = new ProtobufWriter();
        writer.WriteBytes(1, _relay.PeerId.Multihash.Span);
        writer.WriteBytes(2, _peer.PeerId.Multihash.Span);
        var e = Assert.Throws<FormatException>(() => ReservationVoucher.DecodePayload(writer.WrittenSpan));
        Assert.Contains("expiration", e.Message, StringComparison.Ordinal);
    }
}
