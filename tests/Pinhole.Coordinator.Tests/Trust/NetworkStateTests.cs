using System.Net;
using Pinhole.Membership;

namespace Pinhole.Coordinator.Tests.Trust;

public class NetworkStateTests
{
    private static readonly DateTimeOffset T0 = TestNetwork.T0;
    private static readonly TimeSpan Skew = NetworkState.DefaultClockSkew;

    [Fact]
    public void AMembershipSignedByTheAdminMakesAMember()
    {
        using var net = new TestNetwork();
        using var node = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var state = net.NewState();
        var record = net.Member(node.PeerId, groups: ["web"]);
        Assert.Equal(ApplyStatus.Added, state.Apply(record, T0).Status);
        Assert.Equal(ApplyStatus.Duplicate, state.Apply(record, T0).Status);
        var view = state.GetView(T0 + TimeSpan.FromDays(1));
        var member = Assert.Single(view.Members).Value;
        Assert.Equal(node.PeerId, member.Peer);
        Assert.Equal(record.Ipv4, member.Ipv4);
        Assert.True(member.InGroup("web"));
        Assert.False(member.Provisional);
        Assert.Same(member, view.FindByAddress(record.Ipv4!));
    }

    [Fact]
    public void AForgedMembershipIsRefused()
    {
        using var net = new TestNetwork();
        using var node = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        using var coordinatorKey = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var state = net.NewState();
        var forged = net.Member(node.PeerId, issuer: coordinatorKey);
        var result = state.Apply(forged, T0);
        Assert.Equal(ApplyStatus.Rejected, result.Status);
        Assert.Equal(MembershipError.Unauthorized, result.Error);
        Assert.Empty(state.GetView(T0).Members);
    }

    [Fact]
    public void ARecordOfAnotherNetworkIsRefused()
    {
        using var net = new TestNetwork();
        using var other = new TestNetwork();
        using var node = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var state = net.NewState();
        // Signed by this network's admin, but for another network id: a replay across networks.
        var result = state.Apply(net.Member(node.PeerId, network: other.Id), T0);
        Assert.Equal(MembershipError.WrongNetwork, result.Error);
        Assert.Equal(MembershipError.WrongNetwork, state.Apply(other.Genesis, T0).Error);
    }

    [Theory]
    [InlineData(-1, false)]
    [InlineData(0, true)]
    [InlineData(1, true)]
    public void NotBeforeHoldsWithinTheSkewTolerance(int secondsAfterEdge, bool member)
    {
        using var net = new TestNetwork();
        using var node = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var state = net.NewState();
        var nbf = T0 + TimeSpan.FromDays(1);
        state.Apply(net.Member(node.PeerId, notBefore: nbf), T0);
        var at = nbf - Skew + TimeSpan.FromSeconds(secondsAfterEdge);
        Assert.Equal(member, state.GetView(at).IsMember(node.PeerId));
    }

    [Theory]
    [InlineData(-1, true)]
    [InlineData(0, true)]
    [InlineData(1, false)]
    public void NotAfterHoldsWithinTheSkewTolerance(int secondsAfterEdge, bool member)
    {
        using var net = new TestNetwork();
        using var node = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var state = net.NewState();
        var record = net.Member(node.PeerId, lifetime: TimeSpan.FromHours(2));
        state.Apply(record, T0);
        var at = record.NotAfter + Skew + TimeSpan.FromSeconds(secondsAfterEdge);
        Assert.Equal(member, state.GetView(at).IsMember(node.PeerId));
    }

    [Fact]
    public void TheSkewToleranceIsConfigurableAndTheViewSaysWhenItNextChanges()
    {
        using var net = new TestNetwork();
        using var node = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var state = net.NewState(TimeSpan.Zero);
        var record = net.Member(node.PeerId, lifetime: TimeSpan.FromHours(2));
        state.Apply(record, T0);
        Assert.True(state.GetView(record.NotAfter).IsMember(node.PeerId));
        Assert.False(state.GetView(record.NotAfter + TimeSpan.FromSeconds(1)).IsMember(node.PeerId));
        var before = state.GetView(T0 - TimeSpan.FromHours(1));
        Assert.Empty(before.Members);
        Assert.Equal(T0, before.NextChange);
        Assert.Equal(record.NotAfter + TimeSpan.FromTicks(1), state.GetView(T0).NextChange);
        Assert.Throws<ArgumentOutOfRangeException>(() => new NetworkState(net.Genesis, TimeSpan.FromHours(2)));
    }

    [Fact]
    public void ExpiredRecordsAreRefusedAndPruned()
    {
        using var net = new TestNetwork();
        using var node = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var state = net.NewState();
        var record = net.Member(node.PeerId, lifetime: TimeSpan.FromHours(1));
        var late = record.NotAfter + Skew + TimeSpan.FromSeconds(1);
        Assert.Equal(MembershipError.Expired, state.Apply(record, late).Error);
        Assert.Equal(ApplyStatus.Added, state.Apply(record, T0).Status);
        state.Apply(TestNetwork.Endpoint(node, net.Id, 1), T0);
        Assert.Equal(2, state.Prune(late));
        Assert.Equal(1, state.Count);
    }

    [Fact]
    public void ARevocationVoidsCredentialsIssuedBeforeItsThresholdOnly()
    {
        using var net = new TestNetwork();
        using var node = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var state = net.NewState();
        state.Apply(net.Member(node.PeerId), T0);
        var threshold = T0 + TimeSpan.FromHours(1);
        Assert.Equal(ApplyStatus.Added, state.Apply(net.Revoke(node.PeerId, threshold), threshold).Status);
        var view = state.GetView(threshold);
        Assert.False(view.IsMember(node.PeerId));
        Assert.Equal(threshold, view.Revoked[node.PeerId]);
        // The old membership (re-sent, replayed) stays void.
        Assert.Equal(ApplyStatus.Duplicate, state.Apply(net.Member(node.PeerId, v4: IPAddress.Parse("10.77.0.1"), v6: IPAddress.Parse("fd77::1")), threshold).Status);
        Assert.False(state.GetView(threshold).IsMember(node.PeerId));
        // Re-admission: a membership issued after the threshold counts again.
        state.Apply(net.Member(node.PeerId, notBefore: threshold + TimeSpan.FromMinutes(1)), threshold);
        Assert.True(state.GetView(threshold + TimeSpan.FromMinutes(1)).IsMember(node.PeerId));
    }

    [Fact]
    public void RevocationsFromStrangersOrInTheFutureAreRefused()
    {
        using var net = new TestNetwork();
        using var node = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        using var stranger = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var state = net.NewState();
        state.Apply(net.Member(node.PeerId), T0);
        Assert.Equal(MembershipError.Unauthorized, state.Apply(net.Revoke(node.PeerId, T0, stranger), T0).Error);
        Assert.Equal(MembershipError.NotYetValid, state.Apply(net.Revoke(node.PeerId, T0 + TimeSpan.FromDays(365)), T0).Error);
        Assert.True(state.GetView(T0).IsMember(node.PeerId));
    }

    [Fact]
    public void ARevocationByAnAdminWhoLaterLeftStillCounts()
    {
        using var net = new TestNetwork(admins: 2, threshold: 1);
        using var node = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var state = net.NewState();
        state.Apply(net.Member(node.PeerId, issuer: net.AdminKeys[1]), T0);
        var revocation = net.Revoke(node.PeerId, T0 + TimeSpan.FromMinutes(5), net.AdminKeys[0]);
        var change = AdminChangeRecord.Create(net.Id, 1, net.Genesis.Id, new AdminSet([net.AdminKeys[1].PublicKey], 1), T0, [net.AdminKeys[0]]);
        var now = T0 + TimeSpan.FromMinutes(10);
        Assert.Equal(ApplyStatus.Added, state.Apply(change, now).Status);
        Assert.Equal(ApplyStatus.Added, state.Apply(revocation, now).Status);
        Assert.False(state.GetView(now).IsMember(node.PeerId));
    }

    [Fact]
    public void EndpointsKeepOnlyTheHighestSequence()
    {
        using var net = new TestNetwork();
        using var node = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        using var stranger = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var state = net.NewState();
        Assert.Equal(MembershipError.Unknown, state.Apply(TestNetwork.Endpoint(node, net.Id, 1), T0).Error);
        state.Apply(net.Member(node.PeerId), T0);
        var v1 = TestNetwork.Endpoint(node, net.Id, 1, "/ip4/192.0.2.1/tcp/1");
        var v2 = TestNetwork.Endpoint(node, net.Id, 2, "/ip4/192.0.2.2/tcp/2");
        Assert.Equal(ApplyStatus.Added, state.Apply(v1, T0).Status);
        Assert.Equal(ApplyStatus.Replaced, state.Apply(v2, T0).Status);
        // A replayed older endpoint (an address the node no longer has) is refused.
        Assert.Equal(MembershipError.Stale, state.Apply(v1, T0).Error);
        Assert.Equal(MembershipError.Stale, state.Apply(TestNetwork.Endpoint(node, net.Id, 2, "/ip4/192.0.2.3/tcp/3"), T0).Error);
        Assert.Equal(ApplyStatus.Duplicate, state.Apply(v2, T0).Status);
        Assert.Equal(v2.Id, state.GetView(T0).Members[node.PeerId].Endpoint!.Id);
        Assert.False(state.Contains(v1.Id));
        Assert.Equal(MembershipError.Unknown, state.Apply(TestNetwork.Endpoint(stranger, net.Id, 9), T0).Error);
    }

    [Fact]
    public void ARedeemedInviteIsAProvisionalMembership()
    {
        using var net = new TestNetwork();
        using var node = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var state = net.NewState();
        var (invite, key) = net.Invite();
        Assert.Equal(ApplyStatus.Added, state.Apply(net.Redeem(invite, key, node.PeerId), T0).Status);
        var member = state.GetView(T0 + TimeSpan.FromMinutes(2)).Members[node.PeerId];
        Assert.True(member.Provisional);
        Assert.Equal(invite.Ipv4, member.Ipv4);
        Assert.Equal(invite.MembershipNotAfter, member.NotAfter);
        // A direct membership issued later supersedes it.
        state.Apply(net.Member(node.PeerId, notBefore: T0 + TimeSpan.FromDays(1), v4: invite.Ipv4, v6: invite.Ipv6), T0);
        Assert.False(state.GetView(T0 + TimeSpan.FromDays(2)).Members[node.PeerId].Provisional);
    }

    [Fact]
    public void AnInviteRedeemedByTwoKeysAdmitsNeither()
    {
        using var net = new TestNetwork();
        using var first = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        using var second = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var (invite, key) = net.Invite();
        var a = net.Redeem(invite, key, first.PeerId);
        var b = net.Redeem(invite, key, second.PeerId);
        foreach (var order in new[] { new[] { a, b }, [b, a] })
        {
            var state = net.NewState();
            Assert.Null(state.Apply(order[0], T0).Error);
            var result = state.Apply(order[1], T0);
            Assert.Equal(ApplyStatus.Added, result.Status);
            Assert.Equal(MembershipError.Equivocation, result.Error);
            var view = state.GetView(T0 + TimeSpan.FromMinutes(5));
            Assert.Empty(view.Members);
            var alert = Assert.Single(view.Alerts);
            Assert.Equal(NetworkAlertKind.InviteEquivocation, alert.Kind);
            Assert.Equal(invite.KeyId, alert.Peers[0]);
            Assert.Contains(first.PeerId, alert.Peers);
            Assert.Contains(second.PeerId, alert.Peers);
        }
    }

    [Fact]
    public void InvitesEndWithTheirWindowAndTheirRevocation()
    {
        using var net = new TestNetwork();
        using var node = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var (invite, key) = net.Invite(redeemWindow: TimeSpan.FromDays(1), lifetime: TimeSpan.FromDays(3));
        var late = net.NewState();
        late.Apply(net.Redeem(invite, key, node.PeerId, invite.RedeemBy + Skew + TimeSpan.FromSeconds(1)), T0);
        Assert.Empty(late.GetView(T0 + TimeSpan.FromDays(2)).Members);

        var revoked = net.NewState();
        revoked.Apply(net.Redeem(invite, key, node.PeerId), T0);
        Assert.True(revoked.GetView(T0 + TimeSpan.FromDays(2)).IsMember(node.PeerId));
        Assert.False(revoked.GetView(invite.MembershipNotAfter + Skew + TimeSpan.FromSeconds(1)).IsMember(node.PeerId));
        revoked.Apply(net.Revoke(invite.KeyId, T0 + TimeSpan.FromHours(1)), T0 + TimeSpan.FromHours(1));
        Assert.False(revoked.GetView(T0 + TimeSpan.FromDays(2)).IsMember(node.PeerId));
    }

    [Fact]
    public void InvitesFromStrangersAreRefused()
    {
        using var net = new TestNetwork();
        using var node = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        using var coordinator = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var (invite, key) = net.Invite(issuer: coordinator);
        Assert.Equal(MembershipError.Unauthorized, net.NewState().Apply(net.Redeem(invite, key, node.PeerId), T0).Error);
    }

    [Fact]
    public void AdminChangesNeedAThresholdOfThePreviousAdminsAndAnUnbrokenChain()
    {
        using var net = new TestNetwork(admins: 3, threshold: 2);
        using var newAdmin = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var state = net.NewState();
        var next = new AdminSet([net.AdminKeys[0].PublicKey, newAdmin.PublicKey], 1);
        var one = AdminChangeRecord.Create(net.Id, 1, net.Genesis.Id, next, T0, [net.AdminKeys[0]]);
        Assert.Equal(MembershipError.ThresholdNotMet, state.Apply(one, T0).Error);
        var byStranger = AdminChangeRecord.Create(net.Id, 1, net.Genesis.Id, next, T0, [net.AdminKeys[0], newAdmin]);
        Assert.Equal(MembershipError.Unauthorized, state.Apply(byStranger, T0).Error);
        var skipping = AdminChangeRecord.Create(net.Id, 2, net.Genesis.Id, next, T0, [net.AdminKeys[0], net.AdminKeys[1]]);
        Assert.Equal(MembershipError.BrokenChain, state.Apply(skipping, T0).Error);
        var wrongPrevious = AdminChangeRecord.Create(net.Id, 1, RecordId.FromBytes(new byte[32]), next, T0, [net.AdminKeys[0], net.AdminKeys[1]]);
        Assert.Equal(MembershipError.BrokenChain, state.Apply(wrongPrevious, T0).Error);
        var good = AdminChangeRecord.Create(net.Id, 1, net.Genesis.Id, next, T0, [net.AdminKeys[0], net.AdminKeys[1]]);
        Assert.Equal(ApplyStatus.Added, state.Apply(good, T0).Status);
        Assert.Equal(1UL, state.Epoch);
        Assert.Equal(good.Id, state.Head);
        Assert.True(state.Admins.IsAdmin(newAdmin.PeerId));
        Assert.False(state.Admins.IsAdmin(net.AdminKeys[2].PeerId));
        // Epoch 2 needs the epoch-1 set: the new admin alone is now enough (threshold 1).
        var two = AdminChangeRecord.Create(net.Id, 2, good.Id, new AdminSet([newAdmin.PublicKey], 1), T0, [newAdmin]);
        Assert.Equal(ApplyStatus.Added, state.Apply(two, T0).Status);
        Assert.False(state.Admins.IsAdmin(net.AdminKeys[0].PeerId));
    }

    [Fact]
    public void AForkedAdminChainIsDetectedAndTheFirstLinkKept()
    {
        using var net = new TestNetwork(admins: 2, threshold: 1);
        var state = net.NewState();
        var a = AdminChangeRecord.Create(net.Id, 1, net.Genesis.Id, new AdminSet([net.AdminKeys[0].PublicKey], 1), T0, [net.AdminKeys[0]]);
        var b = AdminChangeRecord.Create(net.Id, 1, net.Genesis.Id, new AdminSet([net.AdminKeys[1].PublicKey], 1), T0, [net.AdminKeys[1]]);
        state.Apply(a, T0);
        var result = state.Apply(b, T0);
        Assert.Equal(MembershipError.Equivocation, result.Error);
        Assert.Equal(a.Id, state.Head);
        Assert.Equal(NetworkAlertKind.AdminFork, Assert.Single(state.GetView(T0).Alerts).Kind);
    }

    [Fact]
    public void WhatARemovedIssuerSignedStopsCountingInEveryOrder()
    {
        using var net = new TestNetwork(issuers: 1);
        using var node = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var issued = net.Member(node.PeerId, issuer: net.IssuerKeys[0]);
        var change = AdminChangeRecord.Create(net.Id, 1, net.Genesis.Id, new AdminSet([net.Admin.PublicKey], 1), T0, [net.Admin]);
        var before = net.NewState();
        before.Apply(issued, T0);
        Assert.True(before.GetView(T0).IsMember(node.PeerId));
        before.Apply(change, T0);
        var after = net.NewState();
        after.Apply(change, T0);
        Assert.Equal(MembershipError.Unauthorized, after.Apply(issued, T0).Error);
        Assert.False(before.GetView(T0).IsMember(node.PeerId));
        Assert.Equal(after.GossipDigest().ToArray(), before.GossipDigest().ToArray());
    }

    [Fact]
    public void AddressConflictsAndAddressesOutsideThePrefixAreNotAdmitted()
    {
        using var net = new TestNetwork();
        using var a = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        using var b = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        using var c = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var state = net.NewState();
        var v4 = IPAddress.Parse("10.77.1.1");
        state.Apply(net.Member(a.PeerId, v4: v4, v6: IPAddress.Parse("fd77::a")), T0);
        state.Apply(net.Member(b.PeerId, issuedAt: T0 + TimeSpan.FromSeconds(1), v4: v4, v6: IPAddress.Parse("fd77::b")), T0);
        state.Apply(net.Member(c.PeerId, v4: IPAddress.Parse("192.168.1.1"), v6: IPAddress.Parse("fd77::c")), T0);
        var view = state.GetView(T0 + TimeSpan.FromMinutes(1));
        Assert.True(view.IsMember(a.PeerId));
        Assert.False(view.IsMember(b.PeerId));
        Assert.False(view.IsMember(c.PeerId));
        Assert.Contains(view.Alerts, x => x.Kind == NetworkAlertKind.AddressConflict && x.Peers[0] == b.PeerId);
        Assert.Contains(view.Alerts, x => x.Kind == NetworkAlertKind.AddressOutsidePrefix && x.Peers[0] == c.PeerId);
    }

    [Fact]
    public void TheGossipDigestDependsOnTheRecordSetNotTheOrder()
    {
        using var net = new TestNetwork();
        using var node = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var records = new NetworkRecord[] { net.Member(node.PeerId), net.Revoke(node.PeerId, T0), TestNetwork.Endpoint(node, net.Id, 3) };
        var x = net.NewState();
        var y = net.NewState();
        foreach (var r in records)
        {
            x.Apply(r, T0);
        }
        foreach (var r in records.Reverse())
        {
            y.Apply(r, T0);
        }
        Assert.Equal(x.GossipDigest().ToArray(), y.GossipDigest().ToArray());
        Assert.Equal(2, x.GossipInventory().Count);
        var before = x.GossipDigest().ToArray();
        x.Apply(net.Revoke(node.PeerId, T0 + TimeSpan.FromMinutes(1)), T0 + TimeSpan.FromMinutes(1));
        Assert.NotEqual(before, x.GossipDigest().ToArray());
    }
}
