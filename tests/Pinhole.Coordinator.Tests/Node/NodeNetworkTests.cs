using Pinhole.Coordinator.Tests.Server;
using Pinhole.Membership;
using Pinhole.Node;

namespace Pinhole.Coordinator.Tests.NodeSide;

/// <summary>
/// The issue's "done when" through <see cref="PinholeNode"/>: two nodes join with one invite each, learn each other's
/// verified endpoints, connect on their own, and the revoked one is cut off. Every wait is on state, bounded only
/// as a hang guard.
/// </summary>
public class NodeNetworkTests
{
    private static PinholeNodeOptions NodeOptions(NodeIdentity identity, string home) => new()
    {
        Identity = identity,
        Home = home,
        ListenAddresses = [Multiaddr.Parse("/ip4/127.0.0.1/tcp/0")],
        EnableUdp = false,
        Transport = { HandshakeTimeout = Wait.Guard },
    };

    private static async Task UntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Wait.Guard;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "never: " + what);
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task TwoNodesJoinWithAnInviteEachConnectToEachOtherAndTheRevokedOneIsCutOff()
    {
        await using var coordinator = await TestCoordinator.StartAsync();
        using var net = new TestNetwork();
        await coordinator.AddNetworkAsync(net);
        using var aliceKey = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        using var bobKey = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var homeA = Directory.CreateTempSubdirectory("ph-a-").FullName;
        var homeB = Directory.CreateTempSubdirectory("ph-b-").FullName;
        try
        {
            await using var alice = PinholeNode.CreateBuilder(NodeOptions(aliceKey, homeA))
                .AddNetwork(new NetworkMembershipOptions { Invite = coordinator.Invite(net), OperationTimeout = Wait.Guard }).Build();
            await using var bob = PinholeNode.CreateBuilder(NodeOptions(bobKey, homeB))
                .AddNetwork(new NetworkMembershipOptions { Invite = coordinator.Invite(net), OperationTimeout = Wait.Guard }).Build();
            await alice.StartAsync();
            await bob.StartAsync();
            var a = alice.GetNetwork(net.Id)!;
            var b = bob.GetNetwork(net.Id)!;
            Assert.True(a.IsMember(aliceKey.PeerId));
            Assert.True(File.Exists(MembershipClient.CachePath(Path.Combine(homeA, "networks"), net.Id)));

            // Each learns the other's signed endpoint through the coordinator and dials it by itself.
            await UntilAsync(() => alice.Connections.Get(bobKey.PeerId) is not null && bob.Connections.Get(aliceKey.PeerId) is not null, "both connected");
            Assert.True(a.IsMember(bobKey.PeerId));
            // Whichever side dialled first, each also follows the other from its verified endpoint record.
            await UntilAsync(() => alice.Peers.Get(bobKey.PeerId)!.Addresses.Any(x => x.Source == AddressSource.Coordinator) && alice.Connections.IsKeptConnected(bobKey.PeerId)
                && bob.Peers.Get(aliceKey.PeerId)!.Addresses.Any(x => x.Source == AddressSource.Coordinator) && bob.Connections.IsKeptConnected(aliceKey.PeerId), "both follow each other");
            Assert.Equal(2, a.GetStatus()!["members"]!.GetValue<int>());

            await coordinator.PublishAsAdminAsync(RevocationRecord.Issue(net.Admin, net.Id, bobKey.PeerId, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow, "lost laptop"));
            await UntilAsync(() => !a.IsMember(bobKey.PeerId) && alice.Connections.Get(bobKey.PeerId) is null && !alice.Connections.IsKeptConnected(bobKey.PeerId), "alice cut bob off");
            await UntilAsync(() => !b.IsMember(bobKey.PeerId) && !bob.Connections.IsKeptConnected(aliceKey.PeerId), "bob learned it and stopped following");

            // Bob dialling in again is refused at once by Alice's node.
            // (Who closed the old connection first, Alice's cut-off or Bob stopping, is a race: count only from here.)
            var droppedBefore = a.Dropped;
            var reconnected = false;
            try
            {
                await bob.Connections.ConnectAsync(aliceKey.PeerId);
                reconnected = true;
            }
            catch (PeerException)
            {
                // Closed during the handshake or just after: cut off either way.
            }
            if (reconnected)
            {
                await UntilAsync(() => a.Dropped > droppedBefore, "alice dropped bob's new connection");
            }
            await UntilAsync(() => alice.Connections.Get(bobKey.PeerId) is null, "no connection from bob at alice");
        }
        finally
        {
            Directory.Delete(homeA, recursive: true);
            Directory.Delete(homeB, recursive: true);
        }
    }
}
