using Pinhole.Coordinator.Tests.Storage;
using Pinhole.Membership;

namespace Pinhole.Coordinator.Tests.Server;

[Collection(HeavyCollection.Name)]
public class ProtocolTests
{
    public static TheoryData<string> Kinds() => Stores.Kinds();

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task OfAHundredNodesRedeemingOneInviteAtOnceExactlyOneGetsIn(string kind)
    {
        await using var coordinator = await TestCoordinator.StartAsync(kind);
        using var net = new TestNetwork();
        await coordinator.AddNetworkAsync(net);
        using var invite = coordinator.Invite(net);
        var nodes = Enumerable.Range(0, 100).Select(_ => NodeIdentity.Generate(Libp2pKeyType.Ed25519)).ToList();
        // Connect everyone first (a few handshakes at a time: the machine is shared), so the redemptions themselves race.
        var connections = await Connect.ManyAsync(nodes, coordinator.Address);
        var now = DateTimeOffset.UtcNow;
        using var go = new ManualResetEventSlim();
        var attempts = connections.Select((c, i) => Task.Run(async () =>
        {
            var redemption = RedemptionRecord.Create(invite.Invite, invite.Key, nodes[i].PeerId, now);
            go.Wait();
            try
            {
                await new CoordinatorClient(c).RedeemAsync(redemption);
                return (MembershipError?)null;
            }
            catch (MembershipException e)
            {
                return e.Reason;
            }
        })).ToList();
        go.Set();
        var outcomes = await Task.WhenAll(attempts);
        Assert.Equal(1, outcomes.Count(o => o is null));
        Assert.All(outcomes.Where(o => o is not null), o => Assert.Equal(MembershipError.AlreadyRedeemed, o));
        var winner = nodes[Array.IndexOf(outcomes, null)];
        var feed = (await coordinator.Server.GetFeedAsync(net.Id, CancellationToken.None))!;
        Assert.True(feed.View().IsMember(winner.PeerId));
        Assert.Single(feed.View().Members);
        // The winner retrying (a lost reply) is fine; a loser retrying is not.
        await new CoordinatorClient(connections[Array.IndexOf(outcomes, null)]).RedeemAsync(RedemptionRecord.Create(invite.Invite, invite.Key, winner.PeerId, now));
        foreach (var c in connections)
        {
            await c.DisposeAsync();
        }
        nodes.ForEach(n => n.Dispose());
    }

    [Fact]
    public async Task AJoinRetriedWithTheSameInviteAndKeyIsAnsweredAsTheFirst()
    {
        // A reply lost after the coordinator stored the redemption: the client redeems again, with a redemption
        // signed later (other bytes). The invite's addresses are the caller's own by then, not a conflict.
        await using var coordinator = await TestCoordinator.StartAsync();
        using var net = new TestNetwork();
        await coordinator.AddNetworkAsync(net);
        using var invite = coordinator.Invite(net);
        Assert.NotNull(invite.Invite.Ipv4);
        using var node = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        using var thief = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        await using var connection = await PeerConnection.ConnectAsync(Generous.Dial(node, PeerAddress.FromMultiaddr(coordinator.Address)));
        var client = new CoordinatorClient(connection);
        var now = DateTimeOffset.UtcNow;
        await client.RedeemAsync(RedemptionRecord.Create(invite.Invite, invite.Key, node.PeerId, now));
        await client.RedeemAsync(RedemptionRecord.Create(invite.Invite, invite.Key, node.PeerId, now + TimeSpan.FromSeconds(5)));

        var feed = (await coordinator.Server.GetFeedAsync(net.Id, CancellationToken.None))!;
        var member = Assert.Single(feed.View().Members).Value;
        Assert.Equal(invite.Invite.Ipv4, member.Ipv4);
        // Still exactly one redemption: another key is refused as before, not told of an address conflict.
        await using var other = await PeerConnection.ConnectAsync(Generous.Dial(thief, PeerAddress.FromMultiaddr(coordinator.Address)));
        var e = await Assert.ThrowsAsync<MembershipException>(() => new CoordinatorClient(other).RedeemAsync(RedemptionRecord.Create(invite.Invite, invite.Key, thief.PeerId, now)));
        Assert.Equal(MembershipError.AlreadyRedeemed, e.Reason);
    }

    [Fact]
    public async Task TheCoordinatorRefusesBadRedemptions()
    {
        await using var coordinator = await TestCoordinator.StartAsync();
        using var net = new TestNetwork();
        await coordinator.AddNetworkAsync(net);
        using var node = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        using var other = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        await using var connection = await PeerConnection.ConnectAsync(Generous.Dial(node, PeerAddress.FromMultiaddr(coordinator.Address)));
        var client = new CoordinatorClient(connection);
        async Task<MembershipError> Refusal(RedemptionRecord r) => (await Assert.ThrowsAsync<MembershipException>(() => client.RedeemAsync(r))).Reason;

        // Expired (beyond the skew).
        using var old = coordinator.Invite(net, now: DateTimeOffset.UtcNow.AddDays(-2));
        Assert.Equal(MembershipError.Expired, await Refusal(RedemptionRecord.Create(old.Invite, old.Key, node.PeerId, DateTimeOffset.UtcNow)));
        // Signed by someone who is not an admin: the coordinator cannot be used to mint invites either.
        using var forged = coordinator.Invite(net, issuer: other);
        Assert.Equal(MembershipError.Unauthorized, await Refusal(RedemptionRecord.Create(forged.Invite, forged.Key, node.PeerId, DateTimeOffset.UtcNow)));
        // For another key than the one connecting.
        using var good = coordinator.Invite(net);
        Assert.Equal(MembershipError.Forbidden, await Refusal(RedemptionRecord.Create(good.Invite, good.Key, other.PeerId, DateTimeOffset.UtcNow)));
        // Revoked before use.
        using var revoked = coordinator.Invite(net);
        await coordinator.PublishAsAdminAsync(RevocationRecord.Issue(net.Admin, net.Id, revoked.Invite.KeyId, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow));
        Assert.Equal(MembershipError.Revoked, await Refusal(RedemptionRecord.Create(revoked.Invite, revoked.Key, node.PeerId, DateTimeOffset.UtcNow)));
        // Unknown network.
        using var elsewhere = new TestNetwork();
        var (stray, strayKey) = elsewhere.Invite(issuedAt: DateTimeOffset.UtcNow);
        Assert.Equal(MembershipError.Unknown, await Refusal(RedemptionRecord.Create(stray, strayKey, node.PeerId, DateTimeOffset.UtcNow)));
        // A good one works once.
        await client.RedeemAsync(RedemptionRecord.Create(good.Invite, good.Key, node.PeerId, DateTimeOffset.UtcNow));
    }

    [Fact]
    public async Task OnlyMembersSubscribeAndNodesPublishOnlyTheirOwnEndpoint()
    {
        await using var coordinator = await TestCoordinator.StartAsync();
        using var net = new TestNetwork();
        await coordinator.AddNetworkAsync(net);
        using var member = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        using var outsider = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var client = await coordinator.JoinAsync(net, member);
        await using var connection = await PeerConnection.ConnectAsync(Generous.Dial(outsider, PeerAddress.FromMultiaddr(coordinator.Address)));
        var outside = new CoordinatorClient(connection);
        var (chain, _, time) = await outside.GetNetworkAsync(net.Id);
        Assert.Equal(net.Genesis.Id, Assert.Single(chain).Id);
        Assert.NotNull(time);
        var refused = await Assert.ThrowsAsync<MembershipException>(async () =>
        {
            await foreach (var _ in outside.SubscribeAsync(net.Id, 0))
            {
            }
        });
        Assert.Equal(MembershipError.Forbidden, refused.Reason);
        Assert.Equal(MembershipError.Forbidden, (await Assert.ThrowsAsync<MembershipException>(() => outside.PublishAsync(net.Id, [TestNetwork.Endpoint(member, net.Id, 99)]))).Reason);
        Assert.Equal(MembershipError.Forbidden, (await Assert.ThrowsAsync<MembershipException>(() => outside.GetRequestsAsync(net.Id))).Reason);
        await Assert.ThrowsAsync<ArgumentNullException>(() => outside.RedeemAsync(null!));
        Assert.Single((await coordinator.Server.GetFeedAsync(net.Id, CancellationToken.None))!.View().Members);
        Assert.True(client.IsMember(member.PeerId));
    }

    [Fact]
    public async Task RequestSpacesAreWrittenByMembersReadOnlyByTheirOwnerAndSealed()
    {
        await using var coordinator = await TestCoordinator.StartAsync();
        using var net = new TestNetwork();
        await coordinator.AddNetworkAsync(net);
        using var aliceKey = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        using var bobKey = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        using var carolKey = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        using var bobSeal = SealingKey.Generate();
        var alice = await coordinator.JoinAsync(net, aliceKey);
        var bob = await coordinator.JoinAsync(net, bobKey, seal: bobSeal);
        var carol = await coordinator.JoinAsync(net, carolKey);
        await bob.PublishEndpointAsync([Multiaddr.Parse("/ip4/127.0.0.1/tcp/9")]);
        await Wait.ForViewAsync(alice, v => v.Members.TryGetValue(bobKey.PeerId, out var m) && !(m.Endpoint?.SealKey.IsEmpty ?? true));
        var pending = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        bob.RequestsPending += (_, n) => pending.TrySetResult(n);

        var secret = "the relay is 203.0.113.7, token 0xfeedface"u8.ToArray();
        var id = await alice.SendRequestAsync(bobKey.PeerId, secret);
        Assert.True(await pending.Task.WaitAsync(Wait.Guard) >= 1);

        // Carol, a member too, cannot read Bob's space: the coordinator serves each caller only its own.
        Assert.Equal(0, await carol.AcknowledgeRequestsAsync([id]));
        await Assert.ThrowsAsync<InvalidOperationException>(() => carol.ReceiveRequestsAsync());
        await using (var carolConnection = await PeerConnection.ConnectAsync(Generous.Dial(carolKey, PeerAddress.FromMultiaddr(coordinator.Address))))
        {
            Assert.Empty((await new CoordinatorClient(carolConnection).GetRequestsAsync(net.Id)).Requests);
        }
        // What the coordinator stores is ciphertext.
        var stored = await coordinator.Store.GetRequestsAsync(net.Id, bobKey.PeerId, 0, 10, DateTimeOffset.UtcNow);
        Assert.DoesNotContain("203.0.113.7", System.Text.Encoding.Latin1.GetString(Assert.Single(stored).Envelope), StringComparison.Ordinal);

        var received = Assert.Single(await bob.ReceiveRequestsAsync());
        Assert.Equal(aliceKey.PeerId, received.Sender);
        Assert.Equal(secret, received.Payload);
        Assert.Single(await bob.ReceiveRequestsAsync()); // Not gone until acknowledged.
        Assert.Equal(1, await bob.AcknowledgeRequestsAsync([received.Id]));
        Assert.Empty(await bob.ReceiveRequestsAsync());
        // Nobody can write to a non-member's space, and a node without a sealing key takes no requests.
        await Assert.ThrowsAsync<MembershipException>(() => alice.SendRequestAsync(carolKey.PeerId, secret));
    }
}
