using Pinhole.Benchmarks.Transport;
using Pinhole.Node;

namespace Pinhole.Benchmarks.Daemon;

/// <summary>
/// Memory per idle peer of a daemon (<see cref="PinholeNode"/>: connection manager, peer store, identify, keep-alives)
/// holding N connected peers, measured like <see cref="IdleMemoryScenario"/>'s other kinds: in a fresh child process,
/// both ends in the process (the N dialers are bare <see cref="PeerConnection"/>s with their own identities, as N real
/// peers would be), growth of the managed heap and the working set per connection after a compacting GC.
/// </summary>
internal static class NodeIdleScenario
{
    private const int Parallel = 8;

    public static async Task<(double Heap, double WorkingSet)> RunAsync(int connections)
    {
        var home = Directory.CreateTempSubdirectory("pinhole-bench-idle-");
        using var identity = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var options = new PinholeNodeOptions
        {
            Identity = identity,
            Home = home.FullName,
            ListenAddresses = [Multiaddr.Parse("/ip4/127.0.0.1/tcp/0")],
            EnableUdp = false,
        };
        options.Connections.IdleTimeout = TimeSpan.Zero;
        options.Connections.MaxConnections = connections + 16;
        // Every peer dials from 127.0.0.1: the per-address admission limits would throttle exactly this benchmark.
        options.Transport.MaxInboundConnections = connections + 16;
        options.Transport.MaxInboundConnectionsPerAddress = connections + 16;
        options.Transport.MaxHandshakesPerAddress = 128;
        options.Transport.HandshakesPerSecondPerAddress = 1e6;
        options.Transport.HandshakeBurstPerAddress = 1_000_000;
        var peers = Enumerable.Range(0, connections + 1).Select(_ => NodeIdentity.Generate(Libp2pKeyType.Ed25519)).ToList();
        var open = new List<PeerConnection>();
        try
        {
            await using var node = PinholeNode.CreateBuilder(options).Build();
            await node.StartAsync(Harness.Bounded());
            var address = node.ListenAddresses[0];
            PeerConnectOptions Dial(NodeIdentity peer) => new() { Identity = peer, Remote = new PeerAddress(node.LocalPeer, [address]) };

            // One untimed peer first, so that code, the store's pages and pools exist before the "before" snapshot.
            await using (await PeerConnection.ConnectAsync(Dial(peers[^1]), Harness.Bounded()))
            {
                await UntilAsync(() => node.Connections.Count == 1);
            }
            await UntilAsync(() => node.Connections.Count == 0);
            var before = IdleMemoryScenario.Snapshot();
            for (var i = 0; i < connections; i += Parallel)
            {
                var batch = Enumerable.Range(i, Math.Min(Parallel, connections - i)).Select(j => PeerConnection.ConnectAsync(Dial(peers[j]), Harness.Bounded()).AsTask());
                open.AddRange(await Task.WhenAll(batch));
            }
            await UntilAsync(() => node.Connections.Count == connections);
            var after = await IdleMemoryScenario.SettleAndSnapshotAsync();
            if (node.Connections.Count != connections)
            {
                throw new InvalidOperationException($"The node held {node.Connections.Count} connections, not {connections}, after settling.");
            }
            foreach (var connection in open)
            {
                await connection.DisposeAsync();
            }
            await node.StopAsync(Harness.Bounded());
            return IdleMemoryScenario.PerConnection(before, after, connections);
        }
        finally
        {
            peers.ForEach(p => p.Dispose());
            home.Delete(recursive: true);
        }
    }

    private static async Task UntilAsync(Func<bool> condition)
    {
        using var bound = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        while (!condition())
        {
            await Task.Delay(20, bound.Token);
        }
    }
}
