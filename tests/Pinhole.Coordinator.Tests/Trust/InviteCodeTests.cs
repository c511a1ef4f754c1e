using Pinhole.Membership;

namespace Pinhole.Coordinator.Tests.Trust;

public class InviteCodeTests
{
    [Fact]
    public void AnInviteCodeRoundTripsAndCarriesEverythingToJoin()
    {
        using var net = new TestNetwork();
        var (invite, key) = net.Invite();
        using var code = InviteCode.Create(invite, key);
        var text = code.ToString();
        Assert.StartsWith("pinhole-invite:", text, StringComparison.Ordinal);
        Assert.True(text.Length < 1200, $"invite is {text.Length} characters");
        using var parsed = InviteCode.Parse("  " + text + "\n");
        Assert.Equal(invite.Id, parsed.Invite.Id);
        Assert.Equal(net.Id, parsed.Invite.Network);
        Assert.Equal(key.PeerId, parsed.Key.PeerId);
        Assert.True(parsed.Invite.Coordinators[0].TryGetPeerId(out _));
        Assert.Equal(invite.Ipv4, parsed.Invite.Ipv4);
    }

    [Fact]
    public void DamagedInviteCodesSayWhatIsWrong()
    {
        using var net = new TestNetwork();
        var (invite, key) = net.Invite();
        using var code = InviteCode.Create(invite, key);
        var text = code.ToString();
        Assert.Contains("must start with", Assert.Throws<FormatException>(() => InviteCode.Parse(text[1..])).Message);
        Assert.Throws<FormatException>(() => InviteCode.Parse(text[..^5]));
        Assert.Throws<FormatException>(() => InviteCode.Parse(text + "aaaa"));
        Assert.Throws<FormatException>(() => InviteCode.Parse(text.Replace('a', '1')));
        Assert.Throws<FormatException>(() => InviteCode.Parse(InviteCode.Prefix + new string('a', InviteCode.MaxTextLength)));
        // A different key with the same invite.
        var (otherInvite, otherKey) = net.Invite();
        var seed = Pinhole.Codecs.Base32.Decode(text.AsSpan(InviteCode.Prefix.Length));
        var otherSeed = Pinhole.Codecs.Base32.Decode(InviteCode.Create(otherInvite, otherKey).ToString().AsSpan(InviteCode.Prefix.Length))[^32..];
        otherSeed.CopyTo(seed, seed.Length - 32);
        Assert.Contains("does not match", Assert.Throws<FormatException>(() => InviteCode.Decode(seed)).Message);
        Assert.Throws<ArgumentException>(() => InviteCode.Create(invite, otherKey));
    }
}
