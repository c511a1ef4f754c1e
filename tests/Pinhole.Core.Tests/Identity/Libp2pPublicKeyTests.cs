using System.Security.Cryptography;
using Org.BouncyCastle.Crypto.EC;
using Org.BouncyCastle.Math;
using Org.BouncyCastle.Math.EC.Rfc8032;

namespace Pinhole.Core.Tests.Identity;

/// <summary>The key test vectors of libp2p/specs peer-ids/peer-ids.md.</summary>
public class Libp2pPublicKeyTests
{
    private const string EcdsaPrivate = "08031279307702010104203E5B1FE9712E6C314942A750BD67485DE3C1EFE85B1BFB520AE8F9AE3DFA4A4CA00A06082A8648CE3D030107A14403420004DE3D300FA36AE0E8F5D530899D83ABAB44ABF3161F162A4BC901D8E6ECDA020E8B6D5F8DA30525E71D6851510C098E5C47C646A597FB4DCEC034E9F77C409E62";
    private const string EcdsaPublic = "0803125b3059301306072a8648ce3d020106082a8648ce3d03010703420004de3d300fa36ae0e8f5d530899d83abab44abf3161f162a4bc901d8e6ecda020e8b6d5f8da30525e71d6851510c098e5c47c646a597fb4dcec034e9f77c409e62";
    private const string Ed25519Private = "080112407e0830617c4a7de83925dfb2694556b12936c477a0e1feb2e148ec9da60fee7d1ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e";
    private const string Ed25519Public = "080112201ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e";
    private const string Secp256k1Private = "0802122053DADF1D5A164D6B4ACDB15E24AA4C5B1D3461BDBD42ABEDB0A4404D56CED8FB";
    private const string Secp256k1Public = "08021221037777e994e452c21604f91de093ce415f5432f701dd8cd1a7a6fea0e630bfca99";

    [Fact]
    public void EcdsaVectorDecodesAndMatchesItsPrivateKey()
    {
        var key = Libp2pPublicKey.Decode(Convert.FromHexString(EcdsaPublic));
        Assert.Equal(Libp2pKeyType.Ecdsa, key.Type);
        Assert.Equal(EcdsaPublic, Convert.ToHexStringLower(key.Encoded.Span));
        using var ecdsa = ECDsa.Create();
        ecdsa.ImportECPrivateKey(Convert.FromHexString(EcdsaPrivate)[4..], out _);
        Assert.Equal(key, Libp2pPublicKey.FromECDsa(ecdsa));
        var signature = ecdsa.SignData("hello"u8, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
        Assert.True(key.Verify("hello"u8, signature));
        Assert.False(key.Verify("hellO"u8, signature));
    }

    [Fact]
    public void Ed25519VectorDecodesAndMatchesItsPrivateKey()
    {
        var key = Libp2pPublicKey.Decode(Convert.FromHexString(Ed25519Public));
        Assert.Equal(Libp2pKeyType.Ed25519, key.Type);
        var seed = Convert.FromHexString(Ed25519Private)[4..36];
        var derived = new byte[32];
        Ed25519.GeneratePublicKey(seed, 0, derived, 0);
        Assert.Equal(key.Data.ToArray(), derived);
        var signature = new byte[64];
        var message = "libp2p"u8.ToArray();
        Ed25519.Sign(seed, 0, message, 0, message.Length, signature, 0);
        Assert.True(key.Verify(message, signature));
        signature[0] ^= 1;
        Assert.False(key.Verify(message, signature));
        // 36 bytes encoded: an identity-multihash PeerId.
        Assert.StartsWith("12D3KooW", key.PeerId.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Secp256k1VectorDecodesAndMatchesItsPrivateKey()
    {
        var key = Libp2pPublicKey.Decode(Convert.FromHexString(Secp256k1Public));
        Assert.Equal(Libp2pKeyType.Secp256k1, key.Type);
        var curve = CustomNamedCurves.GetByName("secp256k1");
        var d = new BigInteger(1, Convert.FromHexString(Secp256k1Private)[4..]);
        Assert.Equal(key.Data.ToArray(), curve.G.Multiply(d).Normalize().GetEncoded(true));
        Assert.StartsWith("16Uiu2", key.PeerId.ToString(), StringComparison.Ordinal);
    }

    // Made with OpenSSL 3.0 (an independent implementation): `openssl dgst -sha256 -sign` over a secp256k1 key,
    // `openssl pkeyutl -sign -rawin` over an Ed25519 key, both of the message below.
    private static readonly byte[] OpenSslMessage = "libp2p secp256k1 vector"u8.ToArray();
    private const string OpenSslSecp256k1Public = "021da418343a26c44be7371ed1d0ba9acfa906828e39e13dd82e4d7876d0c4bf9c";
    private const string OpenSslSecp256k1Signature = "3045022100a11b164bab55fefddb5098849e02213621fcdcd2c273f923ceeba3f160bbd91e022074b366c01918357c089880782b9cda4348c82349eab2f3e07667061022a97d5c";
    private const string OpenSslEd25519Public = "f5be0a423c834b3f02ef3867dcde8820473748d456937bc6fcd15deed586080c";
    private const string OpenSslEd25519Signature = "b3e76505524443880baca49a201e1a2be692e03a640f520b4f2d5c3dedbf7abe19c5d28bcd45295d1cd7a995a12d7d3d54059d03f86b61aed2abaa5a98656807";

    [Fact]
    public void Secp256k1SignatureFromOpenSslVerifies()
    {
        var key = Libp2pPublicKey.Decode(Convert.FromHexString("08021221" + OpenSslSecp256k1Public));
        var signature = Convert.FromHexString(OpenSslSecp256k1Signature);
        Assert.True(key.Verify(OpenSslMessage, signature));
        Assert.False(key.Verify("libp2p secp256k1 vectoR"u8, signature));
        var flipped = (byte[])signature.Clone();
        flipped[^1] ^= 1;
        Assert.False(key.Verify(OpenSslMessage, flipped));
        // Not DER at all: false, not an exception.
        Assert.False(key.Verify(OpenSslMessage, new byte[64]));
        Assert.False(key.Verify(OpenSslMessage, []));
    }

    [Fact]
    public void Ed25519SignatureFromOpenSslVerifies()
    {
        var key = Libp2pPublicKey.Create(Libp2pKeyType.Ed25519, Convert.FromHexString(OpenSslEd25519Public));
        var signature = Convert.FromHexString(OpenSslEd25519Signature);
        Assert.True(key.Verify(OpenSslMessage, signature));
        Assert.False(key.Verify("libp2p secp256k1 vectoR"u8, signature));
        Assert.False(key.Verify(OpenSslMessage, signature.AsSpan(0, 63)));
    }

    [Fact]
    public void Ed25519SigningMatchesRfc8032TestVectors()
    {
        // RFC 8032 section 7.1, TEST 1 (empty message) and TEST 2 (one byte): signing is deterministic.
        AssertVector(
            "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
            "",
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
        AssertVector(
            "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
            "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
            "72",
            "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00");

        static void AssertVector(string seedHex, string publicHex, string messageHex, string signatureHex)
        {
            using var identity = NodeIdentity.ImportPem(Pinhole.Identity.Ed25519Keys.ExportPem(Convert.FromHexString(seedHex)));
            Assert.Equal(publicHex, Convert.ToHexStringLower(identity.PublicKey.Data.Span));
            var message = Convert.FromHexString(messageHex);
            var signature = identity.Sign(message);
            Assert.Equal(signatureHex, Convert.ToHexStringLower(signature));
            Assert.True(identity.PublicKey.Verify(message, signature));
        }
    }

    [Fact]
    public void Ed25519KeyThatIsNoCurvePointDecodesButVerifiesNothing()
    {
        // 32 bytes are accepted as an Ed25519 key (as go-libp2p and js-libp2p do); if they decode to no curve
        // point, no signature verifies against them.
        var data = new byte[32];
        for (byte y = 2; ; y++)
        {
            data[0] = y;
            if (!Ed25519.ValidatePublicKeyPartial(data))
            {
                break;
            }
        }
        var key = Libp2pPublicKey.Decode(Libp2pPublicKey.Create(Libp2pKeyType.Ed25519, data).Encoded.Span);
        Assert.False(key.Verify("m"u8, new byte[64]));
    }

    [Fact]
    public void RsaKeysRoundTrip()
    {
        using var rsa = RSA.Create(2048);
        var key = Libp2pPublicKey.Create(Libp2pKeyType.Rsa, rsa.ExportSubjectPublicKeyInfo());
        Assert.Equal(key, Libp2pPublicKey.Decode(key.Encoded.Span));
        var signature = rsa.SignData("m"u8.ToArray(), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        Assert.True(key.Verify("m"u8, signature));
        Assert.StartsWith("Qm", key.PeerId.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "no Type")]
    [InlineData("0803", "no Data")]
    [InlineData("080912020000", "Unknown libp2p key type 9")]
    [InlineData("08011203010203", "32 bytes")]
    [InlineData("0802122104" + "7777e994e452c21604f91de093ce415f5432f701dd8cd1a7a6fea0e630bfca99", "compressed")]
    [InlineData("0803120401020304", "SubjectPublicKeyInfo")]
    [InlineData("08011240", "declares 64 bytes")]
    public void MalformedKeysAreRejected(string hex, string expected)
    {
        var e = Assert.Throws<FormatException>(() => Libp2pPublicKey.Decode(Convert.FromHexString(hex)));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NonCanonicalEncodingIsRejected()
    {
        // Data before Type: same fields, different bytes, so a different PeerId hash: refuse it.
        var e = Assert.Throws<FormatException>(() => Libp2pPublicKey.Decode(Convert.FromHexString("12201ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e0801")));
        Assert.Contains("canonical", e.Message, StringComparison.Ordinal);
    }
}
