using Pinhole.Coordinator.Tests.Server;
using Pinhole.Coordinator.Tests.Trust;
using Pinhole.Membership;

namespace Pinhole.Coordinator.Tests.Malicious;

/// <summary>A compromised coordinator can deny, delay and withhold; these tests show that everything else it tries is refused or found out by the nodes.</summary>
public class LyingCoordinatorTests
{
    private static async Task<(LyingCoordinator Liar, TestNetwork Net)> SetUpAsync()
    {
        var liar = await LyingCoordinator.StartAsync();
        var net = new TestNetwork();
        liar.Chain.Add(net.Genesis);
        return (liar, net);
    }

    private static MembershipClientOptions Options(NodeIdentity node, string? cache = null, TimeProvider? time = null) => Generous.Client(node, cache, time: time);

    private static async Task<MembershipClient> JoinAsync(LyingCoordinator liar, TestNetwork net, NodeIdentity node, TimeProvider? time = null)
    {
        using var invite = liar.Invite(net);
        var client = await MembershipClient.JoinAsync(invite, Options(node, time: time));
        // The liar stores what the node redeemed and serves it back like any record.
        lock (liar.Records)
        {
            liar.Records.AddRange(liar.Redeemed.Where(r => r.Peer.Equals(node.PeerId) && !liar.Records.Contains(r)));
        }
        return client;
    }

    /// <summary>Serves <paramref name="records"/> and waits until the client has looked at all of them (its cursor passes them).</summary>
    private static async Task ServeAsync(LyingCoordinator liar, MembershipClient client, params NetworkRecord[] records)
    {
        int target;
        lock (liar.Records)
        {
            liar.Records.AddRange(records);
            target = liar.Records.Count;
        }
        liar.Changed();
        var deadline = DateTime.UtcNow + Wait.Guard;
        while (client.Cursor < (ulong)target)
        {
            Assert.True(DateTime.UtcNow < deadline, "the client never took the records");
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task AJoiningNodeRefusesAGenesisThatIsNotTheInvitesNetwork()
    {
        var (liar, net) = await SetUpAsync();
        await using (liar)
        using (net)
        {
            using var own = new TestNetwork(); // The coordinator's own "network", admin key in its hands.
            liar.Chain.Clear();
            liar.Chain.Add(own.Genesis);
            using var node = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
            using var invite = liar.Invite(net);
            var e = await Assert.ThrowsAsync<MembershipException>(() => MembershipClient.JoinAsync(invite, Options(node)));
            Assert.Equal(MembershipError.WrongNetwork, e.Reason);
            Assert.Empty(liar.Redeemed);
        }
    }

    [Fact]
    public async Task AnInviteTheCoordinatorMintedIsRefusedBeforeItIsRedeemed()
    {
        var (liar, net) = await SetUpAsync();
        await using (liar)
        using (net)
        {
            using var node = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
            using var minted = liar.Invite(net, issuer: liar.Identity);
            var e = await Assert.ThrowsAsync<MembershipException>(() => MembershipClient.JoinAsync(minted, Options(node)));
            Assert.Equal(MembershipError.Unauthorized, e.Reason);
            Assert.Empty(liar.Redeemed);
        }
    }

    [Fact]
    public async Task ForgedMembershipsAndRedemptionsAreRefused()
    {
        var (liar, net) = await SetUpAsync();
        await using (liar)
        using (net)
        {
            using var node = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
            using var sybil = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
            var client = await JoinAsync(liar, net, node);
            await using (client)
            {
                // A membership the coordinator signed itself.
                var forged = net.Member(sybil.PeerId, issuer: liar.Identity, notBefore: DateTimeOffset.UtcNow.AddMinutes(-1));
                // A redemption the coordinator made for an invite it only knows the public half of: it has no invite key,
                // so it signs with its own; and an invite key it made up for an invite it copied.
                using var real = liar.Invite(net);
                var fakeRedemption = SignedEnvelope.Seal(liar.Identity, "pinhole-redemption-v1", "/pinhole/redemption/1"u8,
                    RedemptionRecord.Create(real.Invite, real.Key, sybil.PeerId, DateTimeOffset.UtcNow).Envelopes[1].Payload.Span);
                var blob = Forge.Blob(RecordKind.Redemption, real.Invite.Envelope, fakeRedemption);
                Assert.Equal(MembershipError.BadSignature, Assert.Throws<MembershipException>(() => NetworkRecord.Decode(blob)).Reason);
                await ServeAsync(liar, client, forged);
                Assert.False(client.IsMember(sybil.PeerId));
                Assert.True(client.IsMember(node.PeerId));
                Assert.Single(client.View.Members);
            }
        }
    }

    [Fact]
    public async Task SwappedKeysAndForgedEndpointsAreRefused()
    {
        var (liar, net) = await SetUpAsync();
        await using (liar)
        using (net)
        {
            using var node = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
            using var victim = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
            var client = await JoinAsync(liar, net, node);
            await using (client)
            {
                var membership = net.Member(victim.PeerId, notBefore: DateTimeOffset.UtcNow.AddMinutes(-1));
                var honest = TestNetwork.Endpoint(victim, net.Id, 5, "/ip4/192.0.2.10/tcp/4001");
                await ServeAsync(liar, client, membership, honest);
                Assert.Equal(5UL, client.View.Members[victim.PeerId].Endpoint!.Sequence);
                // The coordinator points the victim's address at a host it controls: it must sign for the victim, and cannot.
                var fake = new PeerRecord(victim.PeerId, 6, [Multiaddr.Parse("/ip4/198.51.100.66/tcp/4001")]).Encode();
                var signedByLiar = SignedEnvelope.Seal(liar.Identity, PeerRecord.Domain, PeerRecord.PayloadType, fake);
                Assert.ThrowsAny<Exception>(() => NetworkRecord.Decode(Forge.Blob(RecordKind.Endpoint, signedByLiar, honest.Envelopes[1])));
                // Or swap the victim's key for its own in the membership: the admin's signature no longer verifies.
                var swapped = Forge.FlipPayloadByte(membership.Envelopes[0], 40);
                Assert.Equal(MembershipError.BadSignature, Assert.Throws<MembershipException>(() => NetworkRecord.Decode(Forge.Blob(3, swapped))).Reason);
                // A genuine endpoint of its own, for the victim's network: its key has no credential, so it is ignored.
                await ServeAsync(liar, client, TestNetwork.Endpoint(liar.Identity, net.Id, 7));
                Assert.False(client.IsMember(liar.Identity.PeerId));
                Assert.Equal("/ip4/192.0.2.10/tcp/4001", client.View.Members[victim.PeerId].Addresses[0].ToString());
            }
        }
    }

    [Fact]
    public async Task ReplayedRecordsChangeNothing()
    {
        var (liar, net) = await SetUpAsync();
        await using (liar)
        using (net)
        {
            using var node = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
            using var peer = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
            using var other = new TestNetwork();
            var client = await JoinAsync(liar, net, node);
            await using (client)
            {
                var now = DateTimeOffset.UtcNow;
                var expired = net.Member(peer.PeerId, notBefore: now.AddDays(-40), lifetime: TimeSpan.FromDays(30));
                var current = net.Member(peer.PeerId, notBefore: now.AddMinutes(-10));
                var newer = TestNetwork.Endpoint(peer, net.Id, 20, "/ip4/192.0.2.20/tcp/1");
                var older = TestNetwork.Endpoint(peer, net.Id, 10, "/ip4/192.0.2.10/tcp/1");
                var revocation = RevocationRecord.Issue(net.Admin, net.Id, peer.PeerId, now.AddMinutes(-5), now.AddMinutes(-5));
                // An expired membership (a member long gone), and a record of another network signed by the same admin key set.
                await ServeAsync(liar, client, expired, other.Member(peer.PeerId, issuer: net.Admin, network: other.Id));
                Assert.False(client.IsMember(peer.PeerId));
                await ServeAsync(liar, client, current, newer, older);
                Assert.Equal(20UL, client.View.Members[peer.PeerId].Endpoint!.Sequence);
                await ServeAsync(liar, client, revocation);
                Assert.False(client.IsMember(peer.PeerId));
                // The old, revoked membership served again, in a fresh order.
                await ServeAsync(liar, client, current, expired, newer);
                Assert.False(client.IsMember(peer.PeerId));
            }
        }
    }

    [Fact]
    public async Task AWithheldRevocationArrivesByGossip()
    {
        var (liar, net) = await SetUpAsync();
        await using (liar)
        using (net)
        {
            using var a = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
            using var b = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
            using var c = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
            var ca = await JoinAsync(liar, net, a);
            var cb = await JoinAsync(liar, net, b);
            var cc = await JoinAsync(liar, net, c);
            await using (ca)
            await using (cb)
            await using (cc)
            {
                await ServeAsync(liar, ca);
                await ServeAsync(liar, cb);
                await ServeAsync(liar, cc);
                Assert.True(cb.IsMember(c.PeerId));
                // C is revoked; the coordinator shows it only to A (say, the admin's own node) and hides it from B.
                var revocation = RevocationRecord.Issue(net.Admin, net.Id, c.PeerId, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow);
                List<NetworkRecord> withheld;
                lock (liar.Records)
                {
                    withheld = [.. liar.Records];
                }
                liar.FeedFor[b.PeerId] = withheld;
                await ServeAsync(liar, ca, revocation);
                Assert.False(ca.IsMember(c.PeerId));
                Assert.True(cb.IsMember(c.PeerId));
                var result = await Gossip.ExchangeAsync(cb, b, ca, a);
                Assert.False(result.InSync);
                Assert.Equal(1, result.Applied);
                Assert.False(cb.IsMember(c.PeerId));
                Assert.True((await Gossip.ExchangeAsync(cb, b, ca, a)).InSync);
                // The revoked node cannot use gossip to learn or spread anything either.
                await Assert.ThrowsAsync<MembershipException>(() => Gossip.ExchangeAsync(cc, c, ca, a));
            }
        }
    }

    [Fact]
    public async Task AnInviteRedeemedTwiceIsFoundOutEvenWhenTheCoordinatorSplitsTheViews()
    {
        var (liar, net) = await SetUpAsync();
        await using (liar)
        using (net)
        {
            using var a = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
            using var b = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
            var ca = await JoinAsync(liar, net, a);
            var cb = await JoinAsync(liar, net, b);
            await using (ca)
            await using (cb)
            {
                // One invite leaked; the coordinator lets two keys redeem it and shows each member only one of them.
                using var leaked = liar.Invite(net);
                using var x = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
                using var y = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
                var rx = RedemptionRecord.Create(leaked.Invite, leaked.Key, x.PeerId, DateTimeOffset.UtcNow);
                var ry = RedemptionRecord.Create(leaked.Invite, leaked.Key, y.PeerId, DateTimeOffset.UtcNow);
                List<NetworkRecord> common;
                lock (liar.Records)
                {
                    common = [.. liar.Records];
                }
                liar.FeedFor[a.PeerId] = [.. common, rx];
                liar.FeedFor[b.PeerId] = [.. common, ry];
                liar.Changed();
                await Wait.ForViewAsync(ca, v => v.IsMember(x.PeerId));
                await Wait.ForViewAsync(cb, v => v.IsMember(y.PeerId));
                var alerts = new List<NetworkAlert>();
                ca.Changed += (_, e) => alerts.AddRange(e.Alerts);
                await Gossip.ExchangeAsync(ca, a, cb, b);
                await Wait.ForViewAsync(ca, v => !v.IsMember(x.PeerId));
                await Wait.ForViewAsync(cb, v => !v.IsMember(y.PeerId));
                Assert.False(ca.IsMember(y.PeerId));
                Assert.False(cb.IsMember(x.PeerId));
                var alert = Assert.Single(ca.View.Alerts);
                Assert.Equal(NetworkAlertKind.InviteEquivocation, alert.Kind);
                Assert.Contains(x.PeerId, alert.Peers);
                Assert.Contains(y.PeerId, alert.Peers);
            }
        }
    }

    [Fact]
    public async Task WithoutGossipAWithheldRevocationMattersOnlyUntilTheMembershipExpires()
    {
        var (liar, net) = await SetUpAsync();
        await using (liar)
        using (net)
        {
            using var node = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
            using var peer = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
            var clock = Pinhole.Testing.Clocks.StartingNow();
            var client = await JoinAsync(liar, net, node, clock);
            await using (client)
            {
                var now = DateTimeOffset.FromUnixTimeSeconds(clock.GetUtcNow().ToUnixTimeSeconds() + 1); // Records hold whole seconds.
                // A short membership: the admin renews it, or it ends. Nodes enforce the end on their own clock.
                var shortLived = MembershipRecord.Issue(net.Admin, net.Id, peer.PeerId, System.Net.IPAddress.Parse("10.77.9.9"), null, [], now.AddHours(-1), now.AddHours(1), now.AddHours(-1));
                await ServeAsync(liar, client, shortLived);
                Assert.True(client.IsMember(peer.PeerId));
                clock.Advance(TimeSpan.FromHours(1) + NetworkState.DefaultClockSkew);
                Assert.True(client.IsMember(peer.PeerId));
                var gone = Wait.ForViewAsync(client, v => !v.IsMember(peer.PeerId));
                clock.Advance(TimeSpan.FromSeconds(1));
                await gone;
                Assert.False(client.IsMember(peer.PeerId));
            }
        }
    }
}
