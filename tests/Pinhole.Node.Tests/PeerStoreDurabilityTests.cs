using System.Globalization;
using Pinhole.Testing;

namespace Pinhole.Node.Tests;

/// <summary>Crashes during writes and concurrent writers leave a consistent store that has every acknowledged write.</summary>
public sealed class PeerStoreDurabilityTests : IDisposable
{
    private readonly TempHome _home = new();
    private string StorePath => _home.File("peers.db");

    public void Dispose() => _home.Dispose();

    private static ExternalProcess StartWriter(string path) => ExternalProcess.Start("dotnet",
        [Path.Combine(AppContext.BaseDirectory, "Pinhole.Node.Tests.dll"), "store-writer", path]);

    [Fact]
    public async Task AWriterKilledWithSigkillLosesNothingItAcknowledged()
    {
        var acknowledged = new List<(PeerId Peer, string Address)>();
        for (var round = 0; round < 3; round++)
        {
            await using var writer = StartWriter(StorePath);
            // Let it commit a few hundred transactions, then kill it wherever it is.
            var target = 200 + (round * 150);
            string line;
            do
            {
                line = await writer.WaitForLineAsync(l => l.StartsWith("committed ", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
                acknowledged.Add(Parse(line));
            }
            while (int.Parse(line.Split(' ')[1], CultureInfo.InvariantCulture) < target);
            writer.Kill();
            await writer.WaitForExitAsync(TimeSpan.FromSeconds(30));
            // Lines printed between our last read and the kill were acknowledged too.
            foreach (var extra in writer.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(l => l.StartsWith("committed ", StringComparison.Ordinal)))
            {
                acknowledged.Add(Parse(extra));
            }

            using var store = PeerStore.Open(StorePath);
            Assert.Empty(store.CheckIntegrity());
            var stored = store.List().SelectMany(p => p.Addresses.Select(a => (p.PeerId, a.Address.ToString()))).ToHashSet();
            var missing = acknowledged.Where(a => !stored.Contains(a)).ToList();
            Assert.True(missing.Count == 0, $"round {round}: {missing.Count} acknowledged writes missing, e.g. {missing.FirstOrDefault()}");
            // Every address row belongs to a peer row (the two writes of one step commit together).
            Assert.All(store.List(), p => Assert.NotEmpty(p.Addresses));
        }
    }

    [Fact]
    public async Task ConcurrentWritersInOneAndTwoProcessesAllLand()
    {
        using (PeerStore.Open(StorePath))
        {
        }
        await using var other = StartWriter(StorePath);
        await other.WaitForLineAsync(l => l.StartsWith("committed ", StringComparison.Ordinal), TimeSpan.FromSeconds(60));

        const int Threads = 4;
        const int PerThread = 30; // under MaxAddressesPerPeer (32), so none is evicted
        var peers = Enumerable.Range(0, Threads).Select(_ => NodeIdentity.Generate(Libp2pKeyType.Ed25519).PeerId).ToArray();
        await Task.WhenAll(Enumerable.Range(0, Threads).Select(t => Task.Run(() =>
        {
            // One store (one SQLite connection) per thread, all on the same file as the child process.
            using var store = PeerStore.Open(StorePath);
            for (var i = 0; i < PerThread; i++)
            {
                store.AddAddress(peers[t], Multiaddr.Parse($"/ip4/198.51.100.{t + 1}/tcp/{i + 1}"), AddressSource.Identify);
                store.RecordConnected(peers[t], PeerTrust.Seen);
            }
        })));
        var progress = await other.WaitForLineAsync(l => l.StartsWith("committed ", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        other.Kill();

        using var check = PeerStore.Open(StorePath);
        Assert.Empty(check.CheckIntegrity());
        foreach (var peer in peers)
        {
            Assert.Equal(PerThread, check.Get(peer)!.Addresses.Count);
        }
        Assert.NotNull(progress);
    }

    private static (PeerId, string) Parse(string line)
    {
        // "committed N <peer> <host byte> <port>"
        var parts = line.Split(' ');
        return (PeerId.Parse(parts[2]), $"/ip4/192.0.2.{parts[3]}/tcp/{parts[4]}");
    }
}
