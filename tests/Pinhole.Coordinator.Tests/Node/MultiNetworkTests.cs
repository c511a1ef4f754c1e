using System.Net;
using Pinhole.Coordinator.Tests.Server;
using Pinhole.Membership;
using Pinhole.Node;

namespace Pinhole.Coordinator.Tests.NodeSide;

/// <summary>
/// A node in several networks: one network letting a peer go does not cut off a peer another network (or the user)
/// still keeps; a leave or a join whose files fail is a precise problem that leaves the node consistent. Every wait is
/// on state, bounded only as a hang guard.
/// </summary>
public sealed class MultiNetworkTests : IDisposable
{
    private readonly List<string> _homes = [];

    public void Dispose()
    {
        foreach (var home in _homes)
        {
            Directory.Delete(home, recursive: true);
        }
    }

    private string NewHome()
    {
        var home = Directory.CreateTempSubdirectory("ph-mn-").FullName;
        _homes.Add(home);
        return home;
    }

    private static PinholeNodeOptions NodeOptions(NodeIdentity identity, string home, bool api = false) => new()
    {
        Identity = identity,
        Home = home,
        ListenAddresses = [Multiaddr.Parse("/ip4/127.0.0.1/tcp/0")],
        EnableUdp = false,
        Transport = { HandshakeTimeout = Wait.Guard },
        Api = api ? new LocalApiOptions() : null,
    };

    private static NetworkMembershipOptions Join(InviteCode invite) => new() { Invite = invite, OperationTimeout = Wait.Guard };

    private static async Task UntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Wait.Guard;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "never: " + what);
            await Task.Delay(20);
        }
    }

    private static async Task<PinholeApiException> RefusedAsync(Func<Task> call, HttpStatusCode status, string kind)
    {
        var e = await Assert.ThrowsAsync<PinholeApiException>(call);
        Assert.Equal(status, e.Status);
        Assert.Equal("urn:pinhole:problem:" + kind, e.ProblemType);
        return e;
    }

    [Fact]
    public async Task ARevocationInOneNetworkKeepsAPeerThatAnotherNetworkOrTheUserStillKeeps()
    {
        await using var coordinator = await TestCoordinator.StartAsync();
        using var netA = new TestNetwork();
        using var netB = new TestNetwork();
        await coordinator.AddNetworkAsync(netA);
        await coordinator.AddNetworkAsync(netB);
        using var aliceKey = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        using var bobKey = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        using var daveKey = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        // Bob is in both networks; Dave only in A, and Alice pinned him herself before she joined A.
        await using var bob = PinholeNode.CreateBuilder(NodeOptions(bobKey, NewHome()))
            .AddNetwork(Join(coordinator.Invite(netA))).AddNetwork(Join(coordinator.Invite(netB))).Build();
        await using var dave = PinholeNode.CreateBuilder(NodeOptions(daveKey, NewHome())).AddNetwork(Join(coordinator.Invite(netA))).Build();
        await using var alice = PinholeNode.CreateBuilder(NodeOptions(aliceKey, NewHome())).AddNetwork(Join(coordinator.Invite(netB))).Build();
        await bob.StartAsync();
        await dave.StartAsync();
        await alice.StartAsync();
        alice.Peers.Add(daveKey.PeerId, addresses: dave.GetDialableAddresses());
        alice.Connections.KeepConnected(daveKey.PeerId, true);
        await UntilAsync(() => alice.Connections.Get(daveKey.PeerId) is not null, "alice connected to the peer she pinned");
        await alice.JoinNetworkAsync(coordinator.Invite(netA));
        var aliceA = alice.GetNetwork(netA.Id)!;
        var aliceB = alice.GetNetwork(netB.Id)!;
        var bobA = bob.GetNetwork(netA.Id)!;
        var bobB = bob.GetNetwork(netB.Id)!;
        await UntilAsync(() => aliceA.Follows(bobKey.PeerId) && aliceA.Follows(daveKey.PeerId) && aliceB.Follows(bobKey.PeerId), "alice follows bob in both and dave in A");
        await UntilAsync(() => bobA.Follows(aliceKey.PeerId) && bobB.Follows(aliceKey.PeerId), "bob follows alice in both");
        await UntilAsync(() => alice.Connections.Get(bobKey.PeerId) is not null, "alice and bob connected");

        // Bob and Dave are revoked in A only.
        var now = DateTimeOffset.UtcNow;
        await coordinator.PublishAsAdminAsync(RevocationRecord.Issue(netA.Admin, netA.Id, bobKey.PeerId, now, now, "left the team"));
        await coordinator.PublishAsAdminAsync(RevocationRecord.Issue(netA.Admin, netA.Id, daveKey.PeerId, now, now, "left the team"));
        await UntilAsync(() => !aliceA.IsMember(bobKey.PeerId) && !aliceA.IsMember(daveKey.PeerId) && !aliceA.Follows(bobKey.PeerId) && !aliceA.Follows(daveKey.PeerId),
            "alice's A dropped bob and dave");
        await aliceA.WhenIdleAsync();
        // Bob is still B's member: kept and connected. Dave is still the user's pin: kept.
        Assert.True(alice.Connections.IsKeptConnected(bobKey.PeerId), "a revocation in A un-kept a member of B");
        Assert.True(aliceB.Follows(bobKey.PeerId));
        Assert.NotNull(alice.Connections.Get(bobKey.PeerId));
        Assert.True(alice.Connections.IsKeptConnected(daveKey.PeerId), "a revocation in A un-kept the user's pin");
        Assert.Equal(0, aliceA.Dropped);

        // On Bob's side, "this node was cut off from A" does not cut him off from Alice, who is in B with him.
        await UntilAsync(() => !bobA.IsMember(bobKey.PeerId) && !bobA.Follows(aliceKey.PeerId), "bob's A let alice go");
        await bobA.WhenIdleAsync();
        Assert.True(bob.Connections.IsKeptConnected(aliceKey.PeerId), "bob's A cut-off un-kept alice, a member of B");
        Assert.NotNull(bob.Connections.Get(aliceKey.PeerId));

        // Once B lets Bob go too, nothing keeps him.
        await coordinator.PublishAsAdminAsync(RevocationRecord.Issue(netB.Admin, netB.Id, bobKey.PeerId, now, now, "left the team"));
        await UntilAsync(() => !aliceB.Follows(bobKey.PeerId), "alice's B dropped bob");
        await aliceB.WhenIdleAsync();
        Assert.False(alice.Connections.IsKeptConnected(bobKey.PeerId));
        Assert.True(alice.Connections.IsKeptConnected(daveKey.PeerId));
    }

    [Fact]
    public async Task ALeaveWhoseFilesCannotBeRemovedFailsWithTheNetworkStillFollowedAndSucceedsOnceTheyCan()
    {
        await using var coordinator = await TestCoordinator.StartAsync();
        using var net = new TestNetwork();
        await coordinator.AddNetworkAsync(net);
        using var aliceKey = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        using var bobKey = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var home = NewHome();
        var cacheDir = Path.Combine(home, "networks");
        await using var bob = PinholeNode.CreateBuilder(NodeOptions(bobKey, NewHome())).AddNetwork(Join(coordinator.Invite(net))).Build();
        await using var alice = PinholeNode.CreateBuilder(NodeOptions(aliceKey, home, api: true)).AddNetwork(Join(coordinator.Invite(net))).Build();
        await bob.StartAsync();
        await alice.StartAsync();
        var a = alice.GetNetwork(net.Id)!;
        await UntilAsync(() => a.Follows(bobKey.PeerId) && alice.Connections.IsKeptConnected(bobKey.PeerId), "alice follows bob");
        using var api = new PinholeApiClient(alice.ApiSocketPath!, 3 * Wait.Guard);

        // A coordinator list that cannot be removed (a directory in its place: refused even to root).
        var coordinators = NetworkMembershipService.CoordinatorsPath(cacheDir, net.Id);
        File.Delete(coordinators);
        Directory.CreateDirectory(Path.Combine(coordinators, "in-the-way"));
        var e = await RefusedAsync(() => api.LeaveNetworkAsync(net.Id.ToString()), HttpStatusCode.InternalServerError, "leave-failed");
        Assert.Contains(coordinators, e.Message, StringComparison.Ordinal);
        // Nothing changed: still followed, still cached, the member still kept.
        Assert.Same(a, alice.GetNetwork(net.Id));
        Assert.Single(await api.ListNetworksAsync());
        Assert.True(File.Exists(MembershipClient.CachePath(cacheDir, net.Id)));
        Assert.True(alice.Connections.IsKeptConnected(bobKey.PeerId));
        Assert.True(a.Follows(bobKey.PeerId));

        Directory.Delete(coordinators, recursive: true);
        await api.LeaveNetworkAsync(net.Id.ToString());
        Assert.Empty(alice.GetNetworks());
        Assert.False(File.Exists(MembershipClient.CachePath(cacheDir, net.Id)));
        Assert.False(Path.Exists(coordinators));
        Assert.Empty(Directory.EnumerateFileSystemEntries(cacheDir));
        Assert.False(alice.Connections.IsKeptConnected(bobKey.PeerId));
    }

    [Fact]
    public async Task AJoinWhoseFilesCannotBeWrittenIsAStorageErrorThatSaysWhetherTheInviteWasSpent()
    {
        await using var coordinator = await TestCoordinator.StartAsync();
        using var net = new TestNetwork();
        using var other = new TestNetwork();
        await coordinator.AddNetworkAsync(net);
        await coordinator.AddNetworkAsync(other);
        using var key = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var home = NewHome();
        var cacheDir = Path.Combine(home, "networks");
        Directory.CreateDirectory(cacheDir);
        await using var node = PinholeNode.CreateBuilder(NodeOptions(key, home, api: true)).AddNetworks().Build();
        await node.StartAsync();
        using var api = new PinholeApiClient(node.ApiSocketPath!, 3 * Wait.Guard);

        // The coordinator list cannot be written: the join fails before the invite is redeemed.
        var coordinators = NetworkMembershipService.CoordinatorsPath(cacheDir, net.Id);
        Directory.CreateDirectory(Path.Combine(coordinators, "in-the-way"));
        using var invite = coordinator.Invite(net);
        var e = await RefusedAsync(() => api.JoinNetworkAsync(invite.ToString(), Wait.Guard), HttpStatusCode.InternalServerError, "storage-error");
        Assert.Contains(coordinators, e.Message, StringComparison.Ordinal);
        Assert.Empty(node.GetNetworks());
        Directory.Delete(coordinators, recursive: true);
        // ... so the same invite still works.
        Assert.True((await api.JoinNetworkAsync(invite.ToString(), Wait.Guard)).Member);
        Assert.True(File.Exists(coordinators));
        Assert.True(File.Exists(MembershipClient.CachePath(cacheDir, net.Id)));

        // The cache cannot be written: the invite was spent, and the problem says so rather than "unreachable".
        var cache = MembershipClient.CachePath(cacheDir, other.Id);
        Directory.CreateDirectory(Path.Combine(cache, "in-the-way"));
        using var spent = coordinator.Invite(other);
        e = await RefusedAsync(() => api.JoinNetworkAsync(spent.ToString(), Wait.Guard), HttpStatusCode.InternalServerError, "storage-error");
        Assert.Contains("redeemed", e.Message, StringComparison.Ordinal);
        Assert.Contains(cache, e.Message, StringComparison.Ordinal);
        Assert.Single(node.GetNetworks());
        // Spent indeed: another key is refused.
        using var thiefKey = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var thief = await Assert.ThrowsAsync<MembershipException>(() => MembershipClient.JoinAsync(spent, coordinator.ClientOptions(thiefKey)));
        Assert.Equal(MembershipError.AlreadyRedeemed, thief.Reason);
        Assert.Single(node.GetNetworks());
    }
}
