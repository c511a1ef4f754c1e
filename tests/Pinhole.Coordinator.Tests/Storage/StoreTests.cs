using System.Collections.Concurrent;
using Pinhole.Membership;
using Pinhole.Testing;

namespace Pinhole.Coordinator.Tests.Storage;

public class StoreTests
{
    private static readonly DateTimeOffset T0 = TestNetwork.T0;

    public static TheoryData<string> Kinds() => Stores.Kinds();

    [PostgresFact]
    public async Task TemporaryPostgresRunsAsAnUnprivilegedUserAndStopsByPid()
    {
        var server = await Stores.PostgresAsync();
        Assert.True(Directory.Exists($"/proc/{server.ProcessId}"));
        if (Tools.IsRoot)
        {
            var status = await File.ReadAllLinesAsync($"/proc/{server.ProcessId}/status");
            Assert.Contains(status, l => l.StartsWith("Uid:", StringComparison.Ordinal) && l.Contains("65534", StringComparison.Ordinal));
        }
        await using var own = await TemporaryPostgres.StartAsync();
        var pid = own.ProcessId;
        await using (var store = await CoordinatorStore.OpenAsync("postgres:" + await own.CreateDatabaseAsync("probe")))
        {
            Assert.Equal(1, store.SchemaVersion);
        }
        await own.DisposeAsync();
        Assert.False(Directory.Exists($"/proc/{pid}"));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task MigrationsApplyOnceAndReopeningKeepsTheData(string kind)
    {
        var spec = await Stores.NewSpecificationAsync(kind);
        using var net = new TestNetwork();
        await using (var store = await CoordinatorStore.OpenAsync(spec))
        {
            Assert.Equal(1, store.SchemaVersion);
            Assert.True(await store.CreateNetworkAsync(net.Genesis, T0));
            Assert.False(await store.CreateNetworkAsync(net.Genesis, T0));
        }
        await using (var again = await CoordinatorStore.OpenAsync(spec))
        {
            Assert.Equal([net.Id], await again.ListNetworksAsync());
            var (genesis, last) = (await again.GetNetworkAsync(net.Id))!.Value;
            Assert.Equal(net.Genesis.Encoded.ToArray(), genesis);
            Assert.Equal(0UL, last);
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task AppendsGetSequencesAndEndpointsReplaceOlderOnes(string kind)
    {
        await using var store = await Stores.OpenNewAsync(kind);
        using var net = new TestNetwork();
        using var node = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        await store.CreateNetworkAsync(net.Genesis, T0);
        var member = net.Member(node.PeerId);
        Assert.Equal((StoreWrite.Stored, 1UL), await store.AppendAsync(member));
        Assert.Equal(StoreWrite.Duplicate, (await store.AppendAsync(member)).Result);
        var e1 = TestNetwork.Endpoint(node, net.Id, 1);
        var e2 = TestNetwork.Endpoint(node, net.Id, 2);
        Assert.Equal((StoreWrite.Stored, 2UL), await store.AppendAsync(e1));
        Assert.Equal((StoreWrite.Stored, 3UL), await store.AppendAsync(e2));
        Assert.Equal(StoreWrite.Stale, (await store.AppendAsync(e1)).Result);
        Assert.Equal(StoreWrite.Stale, (await store.AppendAsync(TestNetwork.Endpoint(node, net.Id, 2, "/ip4/127.0.0.2/tcp/9"))).Result);
        Assert.Equal(3UL, await store.LastSequenceAsync(net.Id));
        var changes = await store.ReadChangesAsync(net.Id, 0, 100);
        Assert.Equal([1UL, 3UL], changes.Select(c => c.Sequence));
        Assert.Equal(e2.Encoded.ToArray(), changes[1].Blob);
        Assert.Equal(RecordKind.Endpoint, changes[1].Kind);
        Assert.Single(await store.ReadChangesAsync(net.Id, 1, 100));
        Assert.Single(await store.ReadChangesAsync(net.Id, 0, 1));
        using var other = new TestNetwork();
        Assert.Equal(StoreWrite.UnknownNetwork, (await store.AppendAsync(other.Member(node.PeerId))).Result);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task OfAHundredConcurrentRedemptionsOfOneInviteExactlyOneWins(string kind)
    {
        await using var store = await Stores.OpenNewAsync(kind);
        using var net = new TestNetwork();
        await store.CreateNetworkAsync(net.Genesis, T0);
        var (invite, key) = net.Invite();
        var nodes = Enumerable.Range(0, 100).Select(_ => NodeIdentity.Generate(Libp2pKeyType.Ed25519)).ToList();
        var redemptions = nodes.Select(n => net.Redeem(invite, key, n.PeerId)).ToList();
        using var go = new ManualResetEventSlim();
        var results = await Task.WhenAll(redemptions.Select(r => Task.Run(async () =>
        {
            go.Wait();
            return await store.RedeemAsync(r);
        })).ToList().Also(_ => go.Set()));
        var winners = results.Where(r => r.Result == StoreWrite.Stored).ToList();
        var winner = Assert.Single(winners).Winner;
        Assert.All(results.Where(r => r.Result != StoreWrite.Stored), r =>
        {
            Assert.Equal(StoreWrite.AlreadyRedeemed, r.Result);
            Assert.Equal(winner, r.Winner);
        });
        var stored = Assert.Single(await store.ReadChangesAsync(net.Id, 0, 1000));
        Assert.Equal(winner, ((RedemptionRecord)NetworkRecord.Decode(stored.Blob)).Peer);
        nodes.ForEach(n => n.Dispose());
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task HostNumbersAreNeverHandedOutTwice(string kind)
    {
        await using var store = await Stores.OpenNewAsync(kind);
        using var net = new TestNetwork();
        await store.CreateNetworkAsync(net.Genesis, T0);
        var hosts = new ConcurrentBag<ulong>();
        await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => Task.Run(async () => hosts.Add(await store.AllocateHostAsync(net.Id, null, 1000, T0)))));
        Assert.Equal(Enumerable.Range(1, 40).Select(i => (ulong)i), hosts.Order());
        var invite = InviteCode.GenerateKey();
        var host = await store.AllocateHostAsync(net.Id, invite.PeerId, 42, T0);
        Assert.Equal((true, invite.PeerId), await store.GetAllocationAsync(net.Id, host));
        Assert.Equal((false, (PeerId?)null), await store.GetAllocationAsync(net.Id, 999));
        await store.AllocateHostAsync(net.Id, null, 42, T0);
        var e = await Assert.ThrowsAsync<MembershipException>(() => store.AllocateHostAsync(net.Id, null, 42, T0));
        Assert.Equal(MembershipError.AddressesExhausted, e.Reason);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task RequestSpacesBelongToTheirRecipient(string kind)
    {
        await using var store = await Stores.OpenNewAsync(kind);
        using var net = new TestNetwork();
        using var alice = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        using var bob = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        using var key = SealingKey.Generate();
        await store.CreateNetworkAsync(net.Genesis, T0);
        SealedRequest Request(string text, TimeSpan lifetime) => SealedRequest.Seal(alice, net.Id, bob.PeerId, key.PublicKey.Span, System.Text.Encoding.UTF8.GetBytes(text), T0, lifetime);
        var first = Request("one", TimeSpan.FromHours(1));
        Assert.Equal(StoreWrite.Stored, await store.PutRequestAsync(first, 2));
        Assert.Equal(StoreWrite.Duplicate, await store.PutRequestAsync(first, 2));
        Assert.Equal(StoreWrite.Stored, await store.PutRequestAsync(Request("two", TimeSpan.FromMinutes(1)), 2));
        Assert.Equal(StoreWrite.Full, await store.PutRequestAsync(Request("three", TimeSpan.FromHours(1)), 2));
        Assert.Empty(await store.GetRequestsAsync(net.Id, alice.PeerId, 0, 10, T0));
        var forBob = await store.GetRequestsAsync(net.Id, bob.PeerId, 0, 10, T0);
        Assert.Equal(2, forBob.Count);
        Assert.Single(await store.GetRequestsAsync(net.Id, bob.PeerId, forBob[0].Cursor, 10, T0));
        Assert.Equal(1, await store.CountRequestsAsync(net.Id, bob.PeerId, T0 + TimeSpan.FromMinutes(30)));
        // Alice cannot delete Bob's requests; Bob can.
        Assert.Equal(0, await store.DeleteRequestsAsync(net.Id, alice.PeerId, [first.Id]));
        Assert.Equal(1, await store.DeleteRequestsAsync(net.Id, bob.PeerId, [first.Id]));
        Assert.Equal(1, await store.PruneAsync(T0 + TimeSpan.FromMinutes(2)));
        Assert.Equal(0, await store.CountRequestsAsync(net.Id, bob.PeerId, T0));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task ConcurrentWritersNeverLeaveAGapThatAReaderCouldSkip(string kind)
    {
        var spec = await Stores.NewSpecificationAsync(kind);
        await using var a = await CoordinatorStore.OpenAsync(spec);
        // SQLite has one writer process; PostgreSQL gets a second instance on the same database.
        await using var b = kind == "postgres" ? await CoordinatorStore.OpenAsync(spec) : null;
        using var net = new TestNetwork();
        await a.CreateNetworkAsync(net.Genesis, T0);
        var peers = Enumerable.Range(0, 200).Select(_ => NodeIdentity.Generate(Libp2pKeyType.Ed25519).PeerId).ToList();
        var records = peers.Select(p => net.Member(p)).ToList();
        var seen = new List<ulong>();
        using var done = new CancellationTokenSource();
        var reader = Task.Run(async () =>
        {
            ulong cursor = 0;
            while (true)
            {
                var finished = done.IsCancellationRequested;
                foreach (var change in await a.ReadChangesAsync(net.Id, cursor, 50))
                {
                    seen.Add(change.Sequence);
                    cursor = change.Sequence;
                }
                if (finished && cursor == (ulong)records.Count)
                {
                    return;
                }
            }
        });
        var writers = records.Chunk(25).Select((chunk, i) => Task.Run(async () =>
        {
            foreach (var record in chunk)
            {
                Assert.Equal(StoreWrite.Stored, (await (i % 2 == 1 && b is not null ? b : a).AppendAsync(record)).Result);
            }
        }));
        await Task.WhenAll(writers);
        await done.CancelAsync();
        await reader.WaitAsync(TimeSpan.FromMinutes(2));
        // A reader that follows its cursor saw every sequence exactly once, in order: nothing committed behind it.
        Assert.Equal(Enumerable.Range(1, records.Count).Select(i => (ulong)i), seen);
    }

    [PostgresFact]
    public async Task PostgresInstancesHearEachOthersChanges()
    {
        var spec = "postgres:" + await Stores.NewPostgresDatabaseAsync();
        await using var a = await CoordinatorStore.OpenAsync(spec);
        await using var b = await CoordinatorStore.OpenAsync(spec);
        using var net = new TestNetwork();
        using var node = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        using var key = SealingKey.Generate();
        var change = new TaskCompletionSource<(NetworkId?, ulong)>(TaskCreationOptions.RunContinuationsAsynchronously);
        var request = new TaskCompletionSource<(NetworkId, PeerId)>(TaskCreationOptions.RunContinuationsAsynchronously);
        b.ChangeNotified += (n, s) => change.TrySetResult((n, s));
        b.RequestNotified += (n, p) => request.TrySetResult((n, p));
        await a.CreateNetworkAsync(net.Genesis, T0);
        await a.AppendAsync(net.Member(node.PeerId));
        Assert.Equal((net.Id, 1UL), await change.Task.WaitAsync(Server.Wait.Guard));
        await a.PutRequestAsync(SealedRequest.Seal(node, net.Id, node.PeerId, key.PublicKey.Span, "x"u8, T0, TimeSpan.FromDays(1)), 10);
        Assert.Equal((net.Id, node.PeerId), await request.Task.WaitAsync(Server.Wait.Guard));
        Assert.True(b.IsShared);
    }
}

internal static class TaskListExtensions
{
    public static List<T> Also<T>(this List<T> list, Action<List<T>> action)
    {
        action(list);
        return list;
    }
}
