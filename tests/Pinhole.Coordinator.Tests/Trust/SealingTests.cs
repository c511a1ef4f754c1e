using System.Security.Cryptography;
using Pinhole.Membership;
using Pinhole.Membership.Internal;

namespace Pinhole.Coordinator.Tests.Trust;

public class SealingTests
{
    // RFC 9180 appendix A.3.1: DHKEM(P-256, HKDF-SHA256), HKDF-SHA256, AES-128-GCM, base mode.
    private const string IkmE = "4270e54ffd08d79d5928020af4686d8f6b7d35dbe470265f1f5aa22816ce860e";
    private const string SkEm = "4995788ef4b9d6132b249ce59a77281493eb39af373d236a1fe415cb0c2d7beb";
    private const string PkEm = "04a92719c6195d5085104f469a8b9814d5838ff72b60501e2c4466e5e67b325ac98536d7b61a1af4b78e5b7f951c0900be863c403ce65c9bfcb9382657222d18c4";
    private const string IkmR = "668b37171f1072f3cf12ea8a236a45df23fc13b82af3609ad1e354f6ef817550";
    private const string SkRm = "f3ce7fdae57e1a310d87f1ebbde6f328be0a99cdbcadf4d6589cf29de4b8ffd2";
    private const string PkRm = "04fe8c19ce0905191ebc298a9245792531f26f0cece2460639e8bc39cb7f706a826a779b4cf969b8a0e539c7f62fb3d30ad6aa8f80e30f1d128aafd68a2ce72ea0";
    private const string Info = "4f6465206f6e2061204772656369616e2055726e";
    private const string Pt = "4265617574792069732074727574682c20747275746820626561757479";
    private const string Aad0 = "436f756e742d30";
    private const string Ct0 = "5ad590bb8baa577f8619db35a36311226a896e7342a6d836d8b7bcd2f20b6c7f9076ac232e3ab2523f39513434";

    private static byte[] Hex(string hex) => Convert.FromHexString(hex);

    [Fact]
    public void DeriveKeyPairMatchesRfc9180()
    {
        using var e = Hpke.DeriveKeyPair(Hex(IkmE));
        Assert.Equal(SkEm, Convert.ToHexStringLower(e.ExportParameters(true).D!));
        Assert.Equal(PkEm, Convert.ToHexStringLower(Hpke.SerializePublicKey(e)));
        using var r = Hpke.DeriveKeyPair(Hex(IkmR));
        Assert.Equal(SkRm, Convert.ToHexStringLower(r.ExportParameters(true).D!));
        Assert.Equal(PkRm, Convert.ToHexStringLower(Hpke.SerializePublicKey(r)));
    }

    [Fact]
    public void SealAndOpenMatchRfc9180()
    {
        using var ephemeral = Hpke.DeriveKeyPair(Hex(IkmE));
        var (enc, ct) = Hpke.Seal(Hex(PkRm), Hex(Info), Hex(Aad0), Hex(Pt), ephemeral);
        Assert.Equal(PkEm, Convert.ToHexStringLower(enc));
        Assert.Equal(Ct0, Convert.ToHexStringLower(ct));
        using var recipient = Hpke.ImportPrivateKey(Hex(SkRm));
        Assert.Equal(Pt, Convert.ToHexStringLower(Hpke.Open(recipient, Hex(PkEm), Hex(Info), Hex(Aad0), Hex(Ct0))));
        Assert.ThrowsAny<CryptographicException>(() => Hpke.Open(recipient, Hex(PkEm), Hex(Info), Hex("436f756e742d31"), Hex(Ct0)));
        Assert.Throws<FormatException>(() => Hpke.ImportPublicKey(Hex(PkRm)[..64]));
        var offCurve = Hex(PkRm);
        offCurve[64] ^= 1;
        Assert.Throws<FormatException>(() => Hpke.ImportPublicKey(offCurve));
    }

    [Fact]
    public void OnlyTheRecipientOpensASealedRequest()
    {
        using var net = new TestNetwork();
        using var sender = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        using var recipient = NodeIdentity.Generate(Libp2pKeyType.Ecdsa);
        using var recipientKey = SealingKey.Generate();
        using var otherKey = SealingKey.Generate();
        var message = "meet at 10.77.0.9:5000"u8.ToArray();
        var request = SealedRequest.Seal(sender, net.Id, recipient.PeerId, recipientKey.PublicKey.Span, message, TestNetwork.T0, TimeSpan.FromHours(1));
        var decoded = SealedRequest.Decode(request.Envelope.Encoded.Span);
        Assert.Equal(sender.PeerId, decoded.Sender);
        Assert.Equal(recipient.PeerId, decoded.Recipient);
        Assert.Equal(request.Id, decoded.Id);
        Assert.Equal(message, decoded.Open(recipientKey));
        // The ciphertext does not contain the plaintext (what a coordinator stores).
        Assert.DoesNotContain("10.77.0.9", System.Text.Encoding.Latin1.GetString(request.Envelope.Encoded.Span), StringComparison.Ordinal);
        Assert.Equal(MembershipError.Forbidden, Assert.Throws<MembershipException>(() => decoded.Open(otherKey)).Reason);
    }

    [Fact]
    public void ARequestReSignedByAnotherSenderDoesNotDecrypt()
    {
        using var net = new TestNetwork();
        using var sender = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        using var impostor = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        using var recipient = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        using var key = SealingKey.Generate();
        var request = SealedRequest.Seal(sender, net.Id, recipient.PeerId, key.PublicKey.Span, "hello"u8, TestNetwork.T0, TimeSpan.FromHours(1));
        // The impostor copies the ciphertext, claims to be the sender and signs it.
        var w = new Pinhole.Codecs.ProtobufWriter();
        var reader = new Pinhole.Codecs.ProtobufReader(request.Envelope.Payload.Span);
        while (reader.TryReadField())
        {
            if (reader.FieldNumber == 3)
            {
                reader.ReadBytes();
                w.WriteBytes(3, impostor.PeerId.Multihash.Span);
            }
            else if (reader.WireType == Pinhole.Codecs.ProtobufWireType.Varint)
            {
                w.WriteVarint(reader.FieldNumber, reader.ReadVarint());
            }
            else
            {
                var n = reader.FieldNumber;
                w.WriteBytes(n, reader.ReadBytes());
            }
        }
        var forged = SignedEnvelope.Seal(impostor, "pinhole-request-v1", "/pinhole/request/1"u8, w.WrittenSpan);
        var decoded = SealedRequest.Decode(forged.Encoded.Span);
        Assert.Equal(impostor.PeerId, decoded.Sender);
        Assert.Equal(MembershipError.BadSignature, Assert.Throws<MembershipException>(() => decoded.Open(key)).Reason);
        // Claiming a sender without being it fails at decode.
        var claim = SignedEnvelope.Seal(impostor, "pinhole-request-v1", "/pinhole/request/1"u8, request.Envelope.Payload.Span);
        Assert.Equal(MembershipError.BadSignature, Assert.Throws<MembershipException>(() => SealedRequest.Decode(claim.Encoded.Span)).Reason);
    }

    [Fact]
    public async Task SealingKeysArePrivateFiles()
    {
        var dir = Directory.CreateTempSubdirectory("pinhole-seal-");
        try
        {
            var path = Path.Combine(dir.FullName, "seal.key");
            using var a = await SealingKey.LoadOrCreateAsync(path);
            using var b = await SealingKey.LoadOrCreateAsync(path);
            Assert.Equal(a.PublicKey.ToArray(), b.PublicKey.ToArray());
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
                await Assert.ThrowsAsync<UnauthorizedAccessException>(() => SealingKey.LoadOrCreateAsync(path));
            }
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
