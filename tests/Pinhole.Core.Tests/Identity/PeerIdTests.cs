using Pinhole.Codecs;

namespace Pinhole.Core.Tests.Identity;

public class PeerIdTests
{
    private const string Ed25519Id = "12D3KooWM6CgA9iBFZmcYAHA6A2qvbAxqfkmrYiRQuz3XEsk4Ksv";
    private const string EcdsaId = "QmfXbAwNjJLXfesgztEHe8HwgVDCMMpZ9Eax1HYq6hn9uE";
    private const string Secp256k1Id = "16Uiu2HAkutTMoTzDw1tCvSRtu6YoixJwS46S1ZFxW8hSx9fWHiPs";

    [Theory]
    [InlineData(Ed25519Id)]
    [InlineData(EcdsaId)]
    [InlineData(Secp256k1Id)]
    public void Base58FormRoundTrips(string text)
    {
        var id = PeerId.Parse(text);
        Assert.Equal(text, id.ToString());
        Assert.Equal(id, PeerId.Parse(id.ToCidString()));
        Assert.Equal(id, PeerId.FromMultihash(id.Multihash.Span));
    }

    [Fact]
    public void CidFormFromTheSpecParses()
    {
        const string cid = "bafzbeie5745rpv2m6tjyuugywy4d5ewrqgqqhfnf445he3omzpjbx5xqxe";
        var id = PeerId.Parse(cid);
        Assert.Equal(cid, id.ToCidString());
        Assert.StartsWith("Qm", id.ToString(), StringComparison.Ordinal);
        Assert.Equal(id, PeerId.Parse(cid.ToUpperInvariant()));
    }

    [Fact]
    public void P2pPrefixAndWhitespaceAreAccepted()
    {
        Assert.Equal(PeerId.Parse(EcdsaId), PeerId.Parse($"  /p2p/{EcdsaId} "));
    }

    [Fact]
    public void IdentityMultihashIdsCarryTheirKey()
    {
        var key = PeerId.Parse(Ed25519Id).TryGetPublicKey();
        Assert.NotNull(key);
        Assert.Equal(Libp2pKeyType.Ed25519, key.Type);
        Assert.Equal(Ed25519Id, key.PeerId.ToString());
        Assert.Null(PeerId.Parse(EcdsaId).TryGetPublicKey());
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("Qm0000", "Invalid base58 character '0'")]
    [InlineData("xyz", "must be base58btc")]
    [InlineData("QmfXbAwNjJLXfesgztEHe8HwgVDCMMpZ9Eax1HYq6hn9u", "digest")]
    [InlineData("bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi", "libp2p-key")]
    [InlineData("b!!!", "base32")]
    public void BadIdsSayWhatIsWrong(string text, string expected)
    {
        var e = Assert.Throws<FormatException>(() => PeerId.Parse(text));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownMultihashCodeIsRejected()
    {
        var bogus = new byte[34];
        bogus[0] = 0x13;
        bogus[1] = 32;
        var e = Assert.Throws<FormatException>(() => PeerId.FromMultihash(bogus));
        Assert.Contains("0x13", e.Message, StringComparison.Ordinal);
        Assert.Throws<FormatException>(() => PeerId.Parse(Base58.Encode(bogus)));
    }

    [Fact]
    public void AnInvalidKeyIsRejectedEveryTimeAndValidKeysPastTheCacheStillParse()
    {
        // Parsing remembers keys that validated; one that did not must fail on every parse.
        // An Ed25519 key of 3 bytes, and a compressed secp256k1 point whose x (2^256 - 1) exceeds the field.
        byte[][] invalid =
        [
            IdentityMultihash([0x08, 0x01, 0x12, 0x03, 0x01, 0x02, 0x03]),
            IdentityMultihash([0x08, 0x02, 0x12, 0x21, 0x02, .. Enumerable.Repeat((byte)0xFF, 32)]),
        ];
        foreach (var multihash in invalid)
        {
            Assert.False(IsValidKey(multihash.AsSpan(2)));
            for (var i = 0; i < 3; i++)
            {
                var e = Assert.Throws<FormatException>(() => PeerId.FromMultihash(multihash));
                Assert.Contains("valid public key", e.Message, StringComparison.Ordinal);
                Assert.Throws<FormatException>(() => PeerId.Parse(Base58.Encode(multihash)));
            }
        }
        // More distinct keys than the cache holds (4,096): it starts over and every one still parses.
        for (var i = 0; i < 4_200; i++)
        {
            var id = NodeIdentity.Generate(Libp2pKeyType.Ed25519).PeerId;
            Assert.Equal(id, PeerId.Parse(id.ToString()));
        }
        Assert.All(invalid, m => Assert.Throws<FormatException>(() => PeerId.FromMultihash(m)));
        Assert.Equal(Ed25519Id, PeerId.Parse(Ed25519Id).ToString());
    }

    private static byte[] IdentityMultihash(byte[] key) => [0x00, (byte)key.Length, .. key];

    private static bool IsValidKey(ReadOnlySpan<byte> key)
    {
        try
        {
            _ = Libp2pPublicKey.Decode(key);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    [Fact]
    public void OverlongTextIsRejectedBeforeDecoding()
    {
        var e = Assert.Throws<FormatException>(() => PeerId.Parse(new string('Q', 10_000)));
        Assert.Contains("longer than any peer ID", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EqualityAndConstantTimeComparisonAgree()
    {
        var a = PeerId.Parse(EcdsaId);
        var b = PeerId.Parse(EcdsaId);
        var c = PeerId.Parse(Ed25519Id);
        Assert.True(a == b);
        Assert.True(a.FixedTimeEquals(b));
        Assert.False(a.FixedTimeEquals(c));
        Assert.NotEqual(a, c);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
    }
}
