using Pinhole.Membership;

namespace Pinhole.Coordinator.Tests.Server;

public class EndToEndTests
{
    [Fact]
    public async Task TwoInvitedNodesSeeEachOthersVerifiedEndpointsConnectAndARevokedOneIsCutOff()
    {
        await using var coordinator = await TestCoordinator.StartAsync();
        using var net = new TestNetwork();
        await coordinator.AddNetworkAsync(net);
        using var alice = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        using var bob = NodeIdentity.Generate(Libp2pKeyType.Ecdsa);
        await using var aliceListener = await PeerListener.ListenAsync(new PeerListenerOptions { Identity = alice, ListenAddresses = [Multiaddr.Parse("/ip4/127.0.0.1/tcp/0")] });
        await using var bobListener = await PeerListener.ListenAsync(new PeerListenerOptions { Identity = bob, ListenAddresses = [Multiaddr.Parse("/ip4/127.0.0.1/tcp/0")] });

        var a = await coordinator.JoinAsync(net, alice);
        var b = await coordinator.JoinAsync(net, bob);
        Assert.True(a.IsMember(alice.PeerId));
        Assert.Equal(MembershipStatus.Synced, b.Status);
        await a.PublishEndpointAsync(aliceListener.GetDialableAddresses(), EndpointNatType.Open);
        await b.PublishEndpointAsync(bobListener.GetDialableAddresses(), EndpointNatType.EndpointIndependent);
        await Wait.ForViewAsync(a, v => v.Members.TryGetValue(bob.PeerId, out var m) && m.Endpoint is not null);
        await Wait.ForViewAsync(b, v => v.Members.TryGetValue(alice.PeerId, out var m) && m.Endpoint is not null);

        // Alice dials Bob at the addresses Bob signed; the handshake proves the key the membership names.
        var bobSeen = a.View.Members[bob.PeerId];
        Assert.Equal(EndpointNatType.EndpointIndependent, bobSeen.Endpoint!.NatType);
        var accept = bobListener.AcceptAsync().AsTask();
        await using (var connection = await PeerConnection.ConnectAsync(new PeerConnectOptions { Identity = alice, Remote = new PeerAddress(bob.PeerId, bobSeen.Addresses) }))
        {
            await using var inbound = await accept;
            Assert.True(b.IsMember(inbound.RemotePeer));
            Assert.True(await connection.PingAsync() >= TimeSpan.Zero);
        }

        var removed = new TaskCompletionSource<MemberRemoval>(TaskCreationOptions.RunContinuationsAsynchronously);
        a.Changed += (_, e) =>
        {
            foreach (var r in e.Removed)
            {
                removed.TrySetResult(r);
            }
        };
        await coordinator.PublishAsAdminAsync(RevocationRecord.Issue(net.Admin, net.Id, bob.PeerId, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow, "lost laptop"));
        var removal = await removed.Task.WaitAsync(Wait.Guard);
        Assert.Equal(bob.PeerId, removal.Member.Peer);
        Assert.Equal(MemberRemovalReason.Revoked, removal.Reason);
        Assert.False(a.IsMember(bob.PeerId));
        // Bob learns it too, and the coordinator refuses him from now on.
        await Wait.ForViewAsync(b, v => !v.IsMember(bob.PeerId));
        await using var direct = await PeerConnection.ConnectAsync(new PeerConnectOptions { Identity = bob, Remote = PeerAddress.FromMultiaddr(coordinator.Address) });
        var client = new CoordinatorClient(direct);
        var refused = await Assert.ThrowsAsync<MembershipException>(async () =>
        {
            await foreach (var _ in client.SubscribeAsync(net.Id, 0))
            {
            }
        });
        Assert.Equal(MembershipError.Revoked, refused.Reason);
        Assert.Equal(MembershipError.Revoked, (await Assert.ThrowsAsync<MembershipException>(() => client.PublishAsync(net.Id, [TestNetwork.Endpoint(bob, net.Id, ulong.MaxValue)]))).Reason);
    }
}
