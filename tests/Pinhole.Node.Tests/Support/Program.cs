namespace Pinhole.Node.Tests;

/// <summary>
/// This test assembly doubles as a child process for the tests that must kill a writer mid-write:
/// <c>dotnet Pinhole.Node.Tests.dll store-writer PATH</c> writes peers in transactions forever and prints
/// "committed N" after each commit, until it is killed.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length == 2 && args[0] == "store-writer")
        {
            return StoreWriter(args[1]);
        }
        Console.Error.WriteLine("usage: Pinhole.Node.Tests store-writer PATH (the tests themselves run under 'dotnet test')");
        return 2;
    }

    private static int StoreWriter(string path)
    {
        using var store = PeerStore.Open(path);
        var peers = Enumerable.Range(0, 64).Select(_ => NodeIdentity.Generate(Libp2pKeyType.Ed25519).PeerId).ToArray();
        for (var n = 1; ; n++)
        {
            // Each committed step adds one numbered address to one peer: the parent checks that every acknowledged one is there.
            var peer = peers[n % peers.Length];
            store.AddAddress(peer, Multiaddr.Parse($"/ip4/192.0.2.{n % 250 + 1}/tcp/{(n % 60000) + 1024}"), AddressSource.Observed);
            store.RecordDial(peer, Multiaddr.Parse($"/ip4/192.0.2.{n % 250 + 1}/tcp/{(n % 60000) + 1024}"), n % 3 == 0 ? null : "refused");
            Console.Out.WriteLine($"committed {n} {peer} {n % 250 + 1} {(n % 60000) + 1024}");
            Console.Out.Flush();
        }
    }
}
