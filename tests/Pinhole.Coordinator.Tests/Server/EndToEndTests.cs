using Pinhole.Membership;

namespace Pinhole.Coordinator.Tests.Server;

/// <summary>
/// The issue's "done when", at the library level: every step waits for an event or a state (the coordinator's
/// caught-up marker, a view change, an accepted connection); timeouts are hang guards only (<see cref="Wait.Guard"/>).
/// </summary>
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
        await using var aliceListener = await PeerListener.ListenAsync(Generous.Listen(alice));
        await using var bobListener = await PeerListener.ListenAsync(Generous.Listen(bob));

        var a = await coordinator.JoinAsync(net, alice);
        var b = await coordinator.JoinAsync(net, bob);
        // Joining returns once synced or after its operation timeout; wait for the caught-up marker itself.
        await a.WaitForSyncAsync().WaitAsync(Wait.Guard);
        await b.WaitForSyncAsync().WaitAsync(Wait.Guard);
        Assert.True(a.IsMember(alice.PeerId));
        Assert.Equal(MembershipStatus.Synced, b.Status);
        await a.PublishEndpointAsync(aliceListener.GetDialableAddresses(), EndpointNatType.Open);
        await b.PublishEndpointAsync(bobListener.GetDialableAddresses(), EndpointNatType.EndpointIndependent);
        await Wait.ForViewAsync(a, v => v.Members.TryGetValue(bob.PeerId, out var m) && m.Endpoint is not null);
        await Wait.ForViewAsync(b, v => v.Members.TryGetValue(alice.PeerId, out var m) && m.Endpoint is not null);

        // Alice dials Bob at the addresses Bob signed; the handshake proves the key the membership names.
        var bobSeen = a.View.Members[bob.PeerId];
        Assert.Equal(EndpointNatType.EndpointIndependent, bobSeen.Endpoint!.NatType);
        using var acceptGuard = new CancellationTokenSource(Wait.Guard);
        var accept = bobListener.AcceptAsync(acceptGuard.Token).AsTask();
        await using (var connection = await PeerConnection.ConnectAsync(Generous.Dial(alice, new PeerAddress(bob.PeerId, bobSeen.Addresses))))
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
        await using var direct = await PeerConnection.ConnectAsync(Generous.Dial(bob, PeerAddress.FromMultiaddr(coordinator.Address)));
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
