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
