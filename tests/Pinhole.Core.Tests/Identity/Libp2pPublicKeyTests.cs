using System.Security.Cryptography;
using Org.BouncyCastle.Asn1.Sec;
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
        var curve = SecNamedCurves.GetByName("secp256k1");
        var d = new BigInteger(1, Convert.FromHexString(Secp256k1Private)[4..]);
        Assert.Equal(key.Data.ToArray(), curve.G.Multiply(d).Normalize().GetEncoded(true));
        Assert.StartsWith("16Uiu2", key.PeerId.ToString(), StringComparison.Ordinal);
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
