namespace Pinhole.Coordinator.Tests.Server;

internal static class Connect
{
    /// <summary>Connects every identity to <paramref name="address"/>, a few TLS handshakes at a time with a generous deadline, so a busy machine slows the test instead of failing it.</summary>
    public static async Task<PeerConnection[]> ManyAsync(IReadOnlyList<NodeIdentity> identities, Multiaddr address, int parallel = 8)
    {
        using var gate = new SemaphoreSlim(parallel);
        return await Task.WhenAll(identities.Select(async identity =>
        {
            await gate.WaitAsync();
            try
            {
                return await OneAsync(identity, address);
            }
            finally
            {
                gate.Release();
            }
        }));
    }

    public static async Task<PeerConnection> OneAsync(NodeIdentity identity, Multiaddr address) =>
        await PeerConnection.ConnectAsync(new PeerConnectOptions
        {
            Identity = identity,
            Remote = PeerAddress.FromMultiaddr(address),
            HandshakeTimeout = TimeSpan.FromSeconds(120),
        });
}

/// <summary>Tests that load the machine (hundreds of connections) run one at a time, never beside each other.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HeavyCollection
{
    public const string Name = "Heavy";
}
