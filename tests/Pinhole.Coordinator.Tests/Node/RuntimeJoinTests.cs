using System.Net;
using Pinhole.Coordinator.Tests.Server;
using Pinhole.Membership;
using Pinhole.Node;

namespace Pinhole.Coordinator.Tests.NodeSide;

/// <summary>
/// A running node joins and leaves private networks through its local API (<c>/v1/networks</c>), without a restart,
/// and every refusal is its own problem kind. Every wait is on state, bounded only as a hang guard.
/// </summary>
public sealed class RuntimeJoinTests : IDisposable
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
        var home = Directory.CreateTempSubdirectory("ph-rj-").FullName;
        _homes.Add(home);
        return home;
    }

    private static PinholeNodeOptions NodeOptions(NodeIdentity identity, string home) => new()
    {
        Identity = identity,
        Home = home,
        ListenAddresses = [Multiaddr.Parse("/ip4/127.0.0.1/tcp/0")],
        EnableUdp = false,
        Transport = { HandshakeTimeout = Wait.Guard },
        Api = new LocalApiOptions(),
    };

    private static PinholeApiClient Api(PinholeNode node) => new(node.ApiSocketPath!, 3 * Wait.Guard);

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
    public async Task ARunningNodeJoinsThroughTheApiConnectsToTheMembersIsDroppedWhenRevokedAndLeaves()
    {
        await using var coordinator = await TestCoordinator.StartAsync();
        using var net = new TestNetwork();
        await coordinator.AddNetworkAsync(net);
        using var aliceKey = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        using var bobKey = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var homeB = NewHome();
        await using var alice = PinholeNode.CreateBuilder(NodeOptions(aliceKey, NewHome()))
            .AddNetwork(new NetworkMembershipOptions { Invite = coordinator.Invite(net), OperationTimeout = Wait.Guard }).Build();
        // Bob starts a member of nothing: the network is joined after the node is up.
        await using var bob = PinholeNode.CreateBuilder(NodeOptions(bobKey, homeB)).AddNetworks().Build();
        await alice.StartAsync();
        await bob.StartAsync();
        using var api = Api(bob);
        Assert.Empty(await api.ListNetworksAsync());
        var openApi = await api.GetTextAsync("openapi/v1.json");
        foreach (var operation in new[] { "\"/v1/networks\"", "\"/v1/networks/{network}\"", "JoinNetwork", "LeaveNetwork", "ListNetworks", "GetNetwork" })
        {
            Assert.Contains(operation, openApi, StringComparison.Ordinal);
        }

        using var invite = coordinator.Invite(net);
        var joined = await api.JoinNetworkAsync(invite.ToString(), Wait.Guard);
        Assert.Equal(net.Id.ToString(), joined.Network);
        Assert.True(joined.Member);
        Assert.Equal(bobKey.PeerId.ToString(), joined.PeerId);
        Assert.NotNull(joined.Ipv4);
        Assert.NotNull(joined.Members);
        Assert.Contains(joined.Members, m => m.PeerId == bobKey.PeerId.ToString());
        Assert.True(File.Exists(MembershipClient.CachePath(Path.Combine(homeB, "networks"), net.Id)));
        var b = bob.GetNetwork(net.Id)!;

        // Without a restart, each learns the other's signed endpoint and they connect.
        await UntilAsync(() => alice.Connections.Get(bobKey.PeerId) is not null && bob.Connections.Get(aliceKey.PeerId) is not null, "alice and bob connected");
        await UntilAsync(() => bob.Connections.IsKeptConnected(aliceKey.PeerId), "bob follows alice");
        var detail = await api.GetNetworkAsync(net.Id.ToString());
        Assert.Equal(2, detail.MemberCount);
        Assert.Contains(detail.Members!, m => m.PeerId == aliceKey.PeerId.ToString() && m.Addresses.Count > 0);
        var listed = Assert.Single(await api.ListNetworksAsync());
        Assert.Null(listed.Members);
        var status = await api.GetStatusAsync();
        Assert.Equal(net.Id.ToString(), status.Services["networks"]![net.Id.ToString()]!["network"]!.GetValue<string>());

        // A revocation still drops the member joined at run time, on the other node and on its own.
        await coordinator.PublishAsAdminAsync(RevocationRecord.Issue(net.Admin, net.Id, bobKey.PeerId, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow, "lost laptop"));
        var a = alice.GetNetwork(net.Id)!;
        await UntilAsync(() => !a.IsMember(bobKey.PeerId) && alice.Connections.Get(bobKey.PeerId) is null && !alice.Connections.IsKeptConnected(bobKey.PeerId), "alice cut bob off");
        await UntilAsync(() => !b.IsMember(bobKey.PeerId) && !bob.Connections.IsKeptConnected(aliceKey.PeerId), "bob stopped following");
        Assert.False((await api.GetNetworkAsync(net.Id.ToString())).Member);

        // Leaving forgets the network: no cache to follow after a restart, and it is gone from the API.
        await api.LeaveNetworkAsync(net.Id.ToString());
        Assert.Empty(bob.GetNetworks());
        Assert.False(File.Exists(MembershipClient.CachePath(Path.Combine(homeB, "networks"), net.Id)));
        Assert.False(File.Exists(NetworkMembershipService.CoordinatorsPath(Path.Combine(homeB, "networks"), net.Id)));
        await RefusedAsync(() => api.GetNetworkAsync(net.Id.ToString()), HttpStatusCode.NotFound, "not-found");
        await RefusedAsync(() => api.LeaveNetworkAsync(net.Id.ToString()), HttpStatusCode.NotFound, "not-found");
        Assert.Empty(await api.ListNetworksAsync());
    }

    [Fact]
    public async Task EveryWayAJoinFailsIsItsOwnProblemAndSpendsNothing()
    {
        await using var coordinator = await TestCoordinator.StartAsync();
        using var net = new TestNetwork();
        await coordinator.AddNetworkAsync(net);
        using var nodeKey = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var home = NewHome();
        await using var node = PinholeNode.CreateBuilder(NodeOptions(nodeKey, home)).AddNetworks().Build();
        await node.StartAsync();
        using var api = Api(node);

        // Not an invite at all, and a timeout out of range.
        await RefusedAsync(() => api.JoinNetworkAsync("pinhole-invite:notbase32!"), HttpStatusCode.BadRequest, "bad-invite");
        using (var spare = coordinator.Invite(net))
        {
            await RefusedAsync(() => api.JoinNetworkAsync(spare.ToString(), TimeSpan.FromDays(1)), HttpStatusCode.BadRequest, "bad-request");
        }

        // An invite whose only coordinator does not listen.
        using (var key = InviteCode.GenerateKey())
        using (var nobody = NodeIdentity.Generate(Libp2pKeyType.Ed25519))
        {
            var now = DateTimeOffset.UtcNow;
            var address = Multiaddr.Parse($"/ip4/127.0.0.1/tcp/{Pinhole.Testing.FreePort.Tcp()}/p2p/{nobody.PeerId}");
            var (v4, v6) = net.NextAddresses();
            var invite = Invite.Create(net.Admin, net.Id, key.PublicKey, [address], v4, v6, ["all"], now, now + TimeSpan.FromDays(1), now + TimeSpan.FromDays(30));
            using var unreachable = InviteCode.Create(invite, key);
            var e = await RefusedAsync(() => api.JoinNetworkAsync(unreachable.ToString(), Wait.Guard), HttpStatusCode.BadGateway, "coordinator-unreachable");
            Assert.NotNull(e.PeerError);
        }

        // An invite another key already redeemed.
        using var carolKey = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        using var used = coordinator.Invite(net);
        await using (var carol = await MembershipClient.JoinAsync(used, coordinator.ClientOptions(carolKey)))
        {
            Assert.True(carol.IsMember(carolKey.PeerId));
        }
        await RefusedAsync(() => api.JoinNetworkAsync(used.ToString(), Wait.Guard), HttpStatusCode.Conflict, "invite-redeemed");

        // An invite the admin revoked before it was used.
        using var revokedInvite = coordinator.Invite(net);
        await coordinator.PublishAsAdminAsync(RevocationRecord.Issue(net.Admin, net.Id, revokedInvite.Invite.KeyId, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow, "sent to the wrong person"));
        await RefusedAsync(() => api.JoinNetworkAsync(revokedInvite.ToString(), Wait.Guard), HttpStatusCode.Forbidden, "revoked");

        // None of these left anything behind.
        Assert.Empty(await api.ListNetworksAsync());
        Assert.Empty(PinholeNodeNetworkExtensions.FindCachedNetworks(Path.Combine(home, "networks")));

        // A good invite works after all that; a second one for the same network is refused without being spent.
        using var good = coordinator.Invite(net);
        Assert.True((await api.JoinNetworkAsync(good.ToString(), Wait.Guard)).Member);
        using var second = coordinator.Invite(net);
        await RefusedAsync(() => api.JoinNetworkAsync(second.ToString(), Wait.Guard), HttpStatusCode.Conflict, "already-member");
        using var daveKey = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        await using (var dave = await MembershipClient.JoinAsync(second, coordinator.ClientOptions(daveKey)))
        {
            Assert.True(dave.IsMember(daveKey.PeerId));
        }

        await RefusedAsync(() => api.GetNetworkAsync("not-a-network"), HttpStatusCode.BadRequest, "bad-request");
        await RefusedAsync(() => api.LeaveNetworkAsync("pn" + new string('a', 52)), HttpStatusCode.NotFound, "not-found");
    }

    [Fact]
    public async Task ANodeStoppingDuringAJoinEndsItAsNotRunningRatherThanAHang()
    {
        // A coordinator that takes the request and never answers: the join is in flight until the node stops.
        using var silentKey = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        await using var listener = await PeerListener.ListenAsync(Generous.Listen(silentKey));
        var asked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var stop = new CancellationTokenSource();
        var silent = Task.Run(async () =>
        {
            await using var connection = await listener.AcceptAsync(stop.Token);
            await using var stream = await connection.AcceptStreamAsync(stop.Token);
            await CoordinatorMessage.ReadAsync(stream, cancellationToken: stop.Token);
            asked.TrySetResult();
            await Task.Delay(Timeout.Infinite, stop.Token);
        });
        using var net = new TestNetwork();
        using var inviteKey = InviteCode.GenerateKey();
        var (v4, v6) = net.NextAddresses();
        var now = DateTimeOffset.UtcNow;
        var address = listener.GetDialableAddresses().First(a => a.ToString().StartsWith("/ip4/127.0.0.1/", StringComparison.Ordinal));
        var invite = InviteCode.Create(Invite.Create(net.Admin, net.Id, inviteKey.PublicKey, [address], v4, v6, ["all"], now, now.AddDays(1), now.AddDays(2)), inviteKey);
        using var key = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        await using var node = PinholeNode.CreateBuilder(NodeOptions(key, NewHome())).AddNetworks().Build();
        await node.StartAsync();

        var join = node.GetNetworkHost()!.JoinAsync(new NetworkMembershipOptions { Invite = invite, OperationTimeout = Wait.Guard });
        await asked.Task.WaitAsync(Wait.Guard);
        await node.DisposeAsync();
        await Assert.ThrowsAsync<InvalidOperationException>(() => join.WaitAsync(Wait.Guard));
        Assert.Empty(node.GetNetworks());
        await Assert.ThrowsAsync<InvalidOperationException>(() => node.GetNetworkHost()!.JoinAsync(new NetworkMembershipOptions { Network = net.Id, Coordinators = { address } }));

        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => silent);
    }

    [Fact]
    public async Task JoiningNeedsTheNetworksServiceAndARunningNodeAndEveryRefusalDisposesTheInvite()
    {
        using var key = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        using var net = new TestNetwork();
        using var nobody = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var address = Multiaddr.Parse($"/ip4/127.0.0.1/tcp/{Pinhole.Testing.FreePort.Tcp()}/p2p/{nobody.PeerId}");
        InviteCode NewInvite()
        {
            var inviteKey = InviteCode.GenerateKey(); // owned by the invite from here
            var now = DateTimeOffset.UtcNow;
            var (v4, v6) = net.NextAddresses();
            return InviteCode.Create(Invite.Create(net.Admin, net.Id, inviteKey.PublicKey, [address], v4, v6, ["all"], now, now.AddDays(1), now.AddDays(2)), inviteKey);
        }
        // The join owns the invite on every path: a refusal leaves no private key behind for the caller to dispose
        // (disposing wipes the one-time key's seed, so the text form changes).
        var texts = new Dictionary<InviteCode, string>();
        InviteCode Tracked(InviteCode invite)
        {
            texts[invite] = invite.ToString();
            return invite;
        }
        void AssertDisposed(InviteCode invite) => Assert.NotEqual(texts[invite], invite.ToString());

        await using var plain = PinholeNode.CreateBuilder(NodeOptions(key, NewHome())).Build();
        var first = Tracked(NewInvite());
        await Assert.ThrowsAsync<InvalidOperationException>(() => plain.JoinNetworkAsync(first));
        AssertDisposed(first);
        Assert.False(await plain.LeaveNetworkAsync(net.Id));
        Assert.Empty(plain.GetNetworks());

        await using var notStarted = PinholeNode.CreateBuilder(NodeOptions(key, NewHome())).AddNetworks().Build();
        var second = Tracked(NewInvite());
        await Assert.ThrowsAsync<InvalidOperationException>(() => notStarted.JoinNetworkAsync(second));
        AssertDisposed(second);
        Assert.Empty(notStarted.GetNetworks());

        var third = Tracked(NewInvite());
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await notStarted.StartAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => notStarted.JoinNetworkAsync(third, cancelled.Token));
        AssertDisposed(third);
        Assert.Empty(notStarted.GetNetworks());
    }
}
