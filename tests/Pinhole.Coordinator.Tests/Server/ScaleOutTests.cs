using Pinhole.Coordinator.Tests.Storage;
using Pinhole.Membership;
using Pinhole.Testing;

namespace Pinhole.Coordinator.Tests.Server;

[Collection(HeavyCollection.Name)]
public class ScaleOutTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const int Clients = 100;
    private const int Writes = 300;

    [PostgresFact]
    public async Task WhenOneOfTwoInstancesDiesItsClientsResumeOnTheOtherWithNoGap()
    {
        var spec = await Stores.NewSpecificationAsync("postgres");
        await using var storeA = await CoordinatorStore.OpenAsync(spec);
        await using var storeB = await CoordinatorStore.OpenAsync(spec);
        var a = await TestCoordinator.StartAsync(store: storeA);
        await using var b = await TestCoordinator.StartAsync(store: storeB);
        using var net = new TestNetwork();
        await a.AddNetworkAsync(net);
        var nodes = Enumerable.Range(0, Clients).Select(_ => NodeIdentity.Generate(Libp2pKeyType.Ed25519)).ToList();
        var now = DateTimeOffset.UtcNow.AddMinutes(-1);
        foreach (var node in nodes)
        {
            await storeA.AppendAsync(net.Member(node.PeerId, notBefore: now));
        }
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var addressA = a.Address;
        var addressB = b.Address;
        // Half the clients prefer instance A, half B; each falls back to the other.
        var clients = new List<MembershipClient>();
        using (var gate = new SemaphoreSlim(8))
        {
            clients.AddRange(await Task.WhenAll(nodes.Select(async (n, i) =>
            {
                await gate.WaitAsync();
                try
                {
                    return await MembershipClient.StartAsync(new MembershipClientOptions
                    {
                        Identity = n,
                        Network = net.Id,
                        Coordinators = i % 2 == 0 ? [addressA, addressB] : [addressB, addressA],
                        ReconnectDelay = TimeSpan.FromMilliseconds(50),
                        MaxReconnectDelay = TimeSpan.FromMilliseconds(500),
                        Connect = (address, ct) => PeerConnection.ConnectAsync(Generous.Dial(n, address), ct),
                        OperationTimeout = TimeSpan.FromMinutes(2),
                    });
                }
                finally
                {
                    gate.Release();
                }
            })));
        }
        try
        {
            await Task.WhenAll(clients.Select(c => c.WaitForSyncAsync().WaitAsync(TimeSpan.FromMinutes(3))));
            Assert.True(a.Server.SubscriberCount > 0 && b.Server.SubscriberCount > 0);
            output.WriteLine($"{Clients} clients synced after {clock.Elapsed.TotalSeconds:0.0} s");
            clock.Restart();

            // An admin keeps writing, through whichever instance is up; A dies a third of the way through.
            var written = new List<RecordId>();
            var aliveA = true;
            for (var i = 0; i < Writes; i++)
            {
                using var extra = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
                var record = net.Member(extra.PeerId, notBefore: now);
                if (i == Writes / 3)
                {
                    await a.KillAsync();
                    aliveA = false;
                }
                await (aliveA && i % 2 == 0 ? a : b).PublishAsAdminAsync(record);
                written.Add(record.Id);
            }
            output.WriteLine($"{Writes} writes in {clock.Elapsed.TotalSeconds:0.0} s");
            clock.Restart();
            var last = await storeB.LastSequenceAsync(net.Id);
            Assert.Equal((ulong)(Clients + Writes), last);

            // Every client, wherever it was, ends with every record: nothing skipped across the failover.
            await Task.WhenAll(clients.Select(async c =>
            {
                var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
                while (c.Cursor < last)
                {
                    Assert.True(DateTime.UtcNow < deadline, $"a client stopped at cursor {c.Cursor} of {last}");
                    await Task.Delay(50);
                }
            }));
            output.WriteLine($"all clients current {clock.Elapsed.TotalSeconds:0.0} s later; load {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
            Assert.All(clients, c =>
            {
                Assert.Equal(Clients + Writes + 1, c.RecordCount);
                var held = c.GetRecords().Select(r => r.Id).ToHashSet();
                Assert.All(written, id => Assert.Contains(id, held));
                Assert.Equal(Clients + Writes, c.View.Members.Count);
            });
            Assert.Equal(0, a.Server.SubscriberCount);
            Assert.Equal(Clients, b.Server.SubscriberCount);
        }
        finally
        {
            await Task.WhenAll(clients.Select(c => c.DisposeAsync().AsTask()));
            await a.DisposeAsync();
            nodes.ForEach(n => n.Dispose());
        }
    }
}
