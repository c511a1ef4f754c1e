using System.Security.Cryptography;
using Pinhole.Codecs;

namespace Pinhole.Core.Tests.Records;

public class SignedEnvelopeTests
{
    private static readonly byte[] Type = [0x2f, 0x74];

    [Theory]
    [InlineData(Libp2pKeyType.Ed25519)]
    [InlineData(Libp2pKeyType.Ecdsa)]
    public void Seal_then_open_gives_the_payload_and_signer(Libp2pKeyType keyType)
    {
        using var identity = NodeIdentity.Generate(keyType);
        var sealedEnvelope = SignedEnvelope.Seal(identity, "test-domain", Type, "hello"u8);

        var opened = SignedEnvelope.Open(sealedEnvelope.Encoded.Span, "test-domain", Type);

        Assert.Equal(identity.PeerId, opened.Signer);
        Assert.Equal("hello"u8.ToArray(), opened.Payload.ToArray());
        Assert.Equal(Type, opened.PayloadType.ToArray());
    }

    [Fact]
    public void Another_domain_does_not_verify()
    {
        using var identity = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var envelope = SignedEnvelope.Seal(identity, "domain-a", Type, "x"u8);

        Assert.Throws<CryptographicException>(() => SignedEnvelope.Open(envelope.Encoded.Span, "domain-b", Type));
        Assert.False(SignedEnvelope.Decode(envelope.Encoded.Span).Verify("domain-b"));
    }

    [Fact]
    public void Another_payload_type_is_refused()
    {
        using var identity = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var envelope = SignedEnvelope.Seal(identity, "d", Type, "x"u8);

        var e = Assert.Throws<FormatException>(() => SignedEnvelope.Open(envelope.Encoded.Span, "d", [0x03, 0x01]));
        Assert.Contains("payload type", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_changed_payload_does_not_verify()
    {
        using var identity = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var envelope = SignedEnvelope.Seal(identity, "d", Type, "payload"u8);
        var bytes = envelope.Encoded.ToArray();
        var at = bytes.AsSpan().IndexOf("payload"u8);
        bytes[at] ^= 1;

        Assert.Throws<CryptographicException>(() => SignedEnvelope.Open(bytes, "d", Type));
    }

    [Fact]
    public void A_swapped_key_does_not_verify()
    {
        using var signer = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        using var other = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var envelope = SignedEnvelope.Seal(signer, "d", Type, "x"u8);
        var forged = new ProtobufWriter();
        forged.WriteBytes(1, other.PublicKey.Encoded.Span);
        forged.WriteBytes(2, Type);
        forged.WriteBytes(3, "x"u8);
        forged.WriteBytes(5, envelope.Signature.Span);

        Assert.Throws<CryptographicException>(() => SignedEnvelope.Open(forged.WrittenSpan, "d", Type));
    }

    [Theory]
    [InlineData("", "no public key")]
    [InlineData("0a00120203012a0100", "public key is invalid")]
    [InlineData("0a0500", "declares 5 bytes")]
    public void Malformed_envelopes_get_precise_errors(string hex, string expected)
    {
        var e = Assert.Throws<FormatException>(() => SignedEnvelope.Decode(Convert.FromHexString(hex)));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_signature_is_refused()
    {
        using var identity = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var writer = new ProtobufWriter();
        writer.WriteBytes(1, identity.PublicKey.Encoded.Span);
        writer.WriteBytes(2, Type);
        writer.WriteBytes(3, "x"u8);

        var e = Assert.Throws<FormatException>(() => SignedEnvelope.Decode(writer.WrittenSpan));
        Assert.Contains("no signature", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Oversized_input_is_refused_before_parsing()
    {
        var e = Assert.Throws<FormatException>(() => SignedEnvelope.Decode(new byte[SignedEnvelope.MaxEncodedLength + 1]));
        Assert.Contains("at most", e.Message, StringComparison.Ordinal);
    }
}
