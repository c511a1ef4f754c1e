using Microsoft.Extensions.Time.Testing;
using Pinhole.Membership;

namespace Pinhole.Coordinator.Tests.Server;

public class OfflineTests
{
    [Fact]
    public async Task WithTheCoordinatorDeadMembersStillVerifyAndReachEachOtherAndRestartFromTheirCache()
    {
        var cacheA = Directory.CreateTempSubdirectory("pinhole-a-").FullName;
        var cacheB = Directory.CreateTempSubdirectory("pinhole-b-").FullName;
        using var net = new TestNetwork();
        using var alice = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        using var bob = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        await using var bobListener = await PeerListener.ListenAsync(Generous.Listen(bob));
        var coordinator = await TestCoordinator.StartAsync();
        Multiaddr coordinatorAddress;
        await using (coordinator)
        {
            await coordinator.AddNetworkAsync(net);
            coordinatorAddress = coordinator.Address;
            using var inviteA = coordinator.Invite(net);
            using var inviteB = coordinator.Invite(net);
            await using var a = await MembershipClient.JoinAsync(inviteA, coordinator.ClientOptions(alice, cacheA));
            await using var b = await MembershipClient.JoinAsync(inviteB, coordinator.ClientOptions(bob, cacheB));
            await b.PublishEndpointAsync(bobListener.GetDialableAddresses());
            await Wait.ForViewAsync(a, v => v.Members.TryGetValue(bob.PeerId, out var m) && m.Endpoint is not null);

            await coordinator.KillAsync();
            // Nothing changes in what the members know: they keep checking each other from their own records.
            Assert.True(a.IsMember(bob.PeerId));
            Assert.True(b.IsMember(alice.PeerId));
            using var acceptGuard = new CancellationTokenSource(Wait.Guard);
            var accept = bobListener.AcceptAsync(acceptGuard.Token).AsTask();
            await using (var connection = await PeerConnection.ConnectAsync(Generous.Dial(alice, new PeerAddress(bob.PeerId, a.View.Members[bob.PeerId].Addresses))))
            {
                await using var inbound = await accept;
                Assert.True(b.IsMember(inbound.RemotePeer));
                await connection.PingAsync();
            }
            await a.SaveCacheAsync();
            await b.SaveCacheAsync();
        }

        // Restart both nodes with every coordinator gone: they start from the cache at once.
        await using (var a2 = await MembershipClient.StartAsync(new MembershipClientOptions { Identity = alice, Network = net.Id, CacheDirectory = cacheA, Coordinators = [coordinatorAddress] }))
        await using (var b2 = await MembershipClient.StartAsync(new MembershipClientOptions { Identity = bob, Network = net.Id, CacheDirectory = cacheB, Coordinators = [coordinatorAddress] }))
        {
            Assert.True(a2.IsMember(bob.PeerId));
            Assert.True(b2.IsMember(alice.PeerId));
            Assert.Equal(bobListener.GetDialableAddresses()[0], a2.View.Members[bob.PeerId].Addresses[0]);
            Assert.NotEqual(MembershipStatus.Synced, a2.Status);
        }

        // And they enforce expiry themselves: the invites' provisional memberships end after 30 days.
        var later = new FakeTimeProvider(DateTimeOffset.UtcNow + TimeSpan.FromDays(31));
        await using (var a3 = await MembershipClient.StartAsync(new MembershipClientOptions { Identity = alice, Network = net.Id, CacheDirectory = cacheA, TimeProvider = later }))
        {
            Assert.False(a3.IsMember(bob.PeerId));
            Assert.False(a3.IsMember(alice.PeerId));
            Assert.Equal(MembershipStatus.Offline, a3.Status);
        }
        Directory.Delete(cacheA, recursive: true);
        Directory.Delete(cacheB, recursive: true);
    }

    [Fact]
    public async Task AClientResumesFromItsCursorWhenTheCoordinatorComesBack()
    {
        using var net = new TestNetwork();
        using var alice = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        using var bob = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var store = await Storage.Stores.OpenNewAsync("sqlite");
        await using var _ = store;
        var first = await TestCoordinator.StartAsync(store: store, identity: NodeIdentity.Generate(Libp2pKeyType.Ed25519));
        await first.AddNetworkAsync(net);
        var address = first.Address;
        using var inviteA = first.Invite(net);
        using var inviteB = first.Invite(net);
        await using var a = await MembershipClient.JoinAsync(inviteA, first.ClientOptions(alice));
        await using var b = await MembershipClient.JoinAsync(inviteB, first.ClientOptions(bob));
        await Wait.ForViewAsync(a, v => v.IsMember(bob.PeerId));
        var cursor = a.Cursor;
        await first.KillAsync();
        await Wait.ForStatusAsync(a, MembershipStatus.Offline);

        // While it is down, a revocation reaches the store (another instance, or the admin API of one restarted elsewhere).
        Assert.Equal(StoreWrite.Stored, (await store.AppendAsync(RevocationRecord.Issue(net.Admin, net.Id, bob.PeerId, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow))).Result);
        // The coordinator comes back on the same address (same key, same port).
        var port = address.ToIPEndPoint().Port;
        await using var second = await TestCoordinator.StartAsync(store: store, identity: first.Identity, configure: o =>
        {
            o.ListenAddresses.Clear();
            o.ListenAddresses.Add(Multiaddr.Parse($"/ip4/127.0.0.1/tcp/{port}"));
        });
        await Wait.ForViewAsync(a, v => !v.IsMember(bob.PeerId));
        Assert.True(a.Cursor > cursor);
        await Wait.ForStatusAsync(a, MembershipStatus.Synced);
    }
    // A dead first coordinator: nothing listens there (the dial is refused, a PeerException), or the embedder's
    // Connect delegate fails with something else (IOException). Either way the client moves on to the second.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AClientWhoseFirstCoordinatorIsDeadSyncsFromTheNextOne(bool connectThrowsIOException)
    {
        var cache = Directory.CreateTempSubdirectory("pinhole-f-").FullName;
        try
        {
            using var net = new TestNetwork();
            using var alice = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
            using var nobody = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
            await using var coordinator = await TestCoordinator.StartAsync();
            await coordinator.AddNetworkAsync(net);
            using var invite = coordinator.Invite(net);
            await using (var joined = await MembershipClient.JoinAsync(invite, coordinator.ClientOptions(alice, cache)))
            {
                await joined.SaveCacheAsync();
            }
            var dead = Multiaddr.Parse($"/ip4/127.0.0.1/tcp/{Pinhole.Testing.FreePort.Tcp()}/p2p/{nobody.PeerId}");
            var template = coordinator.ClientOptions(alice, cache);
            var options = new MembershipClientOptions
            {
                Identity = alice,
                Network = net.Id,
                CacheDirectory = cache,
                Coordinators = { dead, coordinator.Address },
                ReconnectDelay = template.ReconnectDelay,
                MaxReconnectDelay = template.MaxReconnectDelay,
                OperationTimeout = template.OperationTimeout,
                SilenceTimeout = template.SilenceTimeout,
                Connect = (address, ct) => connectThrowsIOException && nobody.PeerId.Equals(address.PeerId)
                    ? ValueTask.FromException<PeerConnection>(new IOException("no route (test)"))
                    : template.Connect!(address, ct),
            };
            await using var restarted = await MembershipClient.StartAsync(options);
            await Wait.ForStatusAsync(restarted, MembershipStatus.Synced);
        }
        finally
        {
            Directory.Delete(cache, recursive: true);
        }
    }
}
