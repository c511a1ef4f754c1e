namespace Pinhole.Benchmarks.Transport;

/// <summary>A Pinhole listener on loopback and the dial options to reach it, with default connection settings.</summary>
internal sealed class PinholeNodes : IAsyncDisposable
{
    private readonly PeerListener _listener;
    private readonly BenchIdentities _identities;

    private PinholeNodes(PeerListener listener, BenchIdentities identities)
    {
        _listener = listener;
        _identities = identities;
    }

    public static async Task<PinholeNodes> StartAsync(BenchIdentities identities)
    {
        var listener = await PeerListener.ListenAsync(new PeerListenerOptions
        {
            Identity = identities.Server,
            ListenAddresses = [Multiaddr.Parse("/ip4/127.0.0.1/tcp/0")],
            // The idle-memory run holds 1,000 connections; the default cap is 256.
            MaxConnections = 4096,
            AcceptQueueLength = 4096,
        });
        return new PinholeNodes(listener, identities);
    }

    public ValueTask<PeerConnection> ConnectAsync(CancellationToken cancellationToken) =>
        PeerConnection.ConnectAsync(new PeerConnectOptions
        {
            Identity = _identities.Client,
            Remote = new PeerAddress(_listener.LocalPeer, [_listener.ListenAddresses[0]]),
        }, cancellationToken);

    public ValueTask<PeerConnection> AcceptAsync(CancellationToken cancellationToken) => _listener.AcceptAsync(cancellationToken);

    public ValueTask DisposeAsync() => _listener.DisposeAsync();
}
