using Pinhole.Membership;

namespace Pinhole.Coordinator.Tests.Trust;

public class NetworkCacheTests
{
    private static readonly DateTimeOffset T0 = TestNetwork.T0;

    [Fact]
    public async Task ACacheRestoresTheSameStateAndCursor()
    {
        using var net = new TestNetwork();
        using var node = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var state = net.NewState();
        state.Apply(net.Member(node.PeerId), T0);
        state.Apply(TestNetwork.Endpoint(node, net.Id, 4), T0);
        var dir = Directory.CreateTempSubdirectory("pinhole-cache-");
        try
        {
            var path = Path.Combine(dir.FullName, "net.cache");
            await NetworkCache.SaveAsync(path, state, 42);
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
            }
            var (restored, cursor, dropped) = await NetworkCache.LoadAsync(path, T0);
            Assert.Equal(42UL, cursor);
            Assert.Equal(0, dropped);
            Assert.Equal(state.Count, restored.Count);
            Assert.True(restored.GetView(T0).IsMember(node.PeerId));
            Assert.Equal(4UL, restored.GetView(T0).Members[node.PeerId].Endpoint!.Sequence);
            Assert.Equal(state.GossipDigest().ToArray(), restored.GossipDigest().ToArray());
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void ARestoredCacheStillEnforcesExpiry()
    {
        using var net = new TestNetwork();
        using var node = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var state = net.NewState();
        var member = net.Member(node.PeerId, lifetime: TimeSpan.FromHours(1));
        state.Apply(member, T0);
        var bytes = NetworkCache.Encode(net.Id, 1, [.. state.Records]);
        var (later, dropped) = NetworkCache.Restore(NetworkCache.Decode(bytes), member.NotAfter + TimeSpan.FromDays(1));
        Assert.Equal(1, dropped);
        Assert.Empty(later.GetView(member.NotAfter + TimeSpan.FromDays(1)).Members);
    }

    [Fact]
    public void DamagedCachesAreRefused()
    {
        using var net = new TestNetwork();
        using var node = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var state = net.NewState();
        state.Apply(net.Member(node.PeerId), T0);
        var bytes = NetworkCache.Encode(net.Id, 7, [.. state.Records]);
        Assert.Contains("checksum", Assert.Throws<FormatException>(() => NetworkCache.Decode(bytes[..^1])).Message);
        var flipped = (byte[])bytes.Clone();
        flipped[60] ^= 1;
        Assert.Contains("checksum", Assert.Throws<FormatException>(() => NetworkCache.Decode(flipped)).Message);
        Assert.Throws<FormatException>(() => NetworkCache.Decode("PHNX"u8.ToArray()));
        var wrongVersion = (byte[])bytes.Clone();
        wrongVersion[4] = 9;
        Assert.Contains("version", Assert.Throws<FormatException>(() => NetworkCache.Decode(wrongVersion)).Message);
        // A cache whose first record is not the genesis, or whose genesis is another network's.
        using var other = new TestNetwork();
        var swapped = NetworkCache.Encode(net.Id, 0, [other.Genesis]);
        Assert.Equal(MembershipError.WrongNetwork, Assert.Throws<MembershipException>(() => NetworkCache.Restore(NetworkCache.Decode(swapped), T0)).Reason);
        var noGenesis = NetworkCache.Encode(net.Id, 0, [net.Member(node.PeerId)]);
        Assert.Throws<FormatException>(() => NetworkCache.Restore(NetworkCache.Decode(noGenesis), T0));
        for (var cut = 0; cut < bytes.Length; cut += 11)
        {
            Assert.Throws<FormatException>(() => NetworkCache.Decode(bytes.AsSpan(0, cut)));
        }
    }
}
