namespace Pinhole.Benchmarks.Transport;

/// <summary>A Pinhole listener on loopback and the dial options to reach it, with default connection settings.</summary>
internal sealed class PinholeNodes : IAsyncDisposable
{
    private readonly PeerListener _listener;
    private readonly BenchIdentities _identities;
    private readonly Action<PeerConnectionOptions>? _configure;

    private PinholeNodes(PeerListener listener, BenchIdentities identities, Action<PeerConnectionOptions>? configure)
    {
        _listener = listener;
        _identities = identities;
        _configure = configure;
    }

    /// <param name="identities">Who listens and who dials.</param>
    /// <param name="configure">Changes both sides' connection options (diagnostic variants only).</param>
    public static async Task<PinholeNodes> StartAsync(BenchIdentities identities, Action<PeerConnectionOptions>? configure = null)
    {
        var options = new PeerListenerOptions
        {
            Identity = identities.Server,
            ListenAddresses = [Multiaddr.Parse("/ip4/127.0.0.1/tcp/0")],
            // The idle-memory run holds 1,000 connections; the default cap is 256.
            MaxConnections = 4096,
            AcceptQueueLength = 4096,
            // Every connection comes from one address and one identity, back to back: admission control's
            // per-address and per-peer limits (which would throttle exactly this) are lifted for the benchmark.
            MaxConnectionsPerPeer = 4096,
            MaxConnectionsPerAddress = 4096,
            MaxHandshakesPerAddress = 128,
            HandshakesPerSecondPerAddress = 1e6,
            HandshakeBurstPerAddress = 1_000_000,
        };
        configure?.Invoke(options);
        var listener = await PeerListener.ListenAsync(options);
        return new PinholeNodes(listener, identities, configure);
    }

    /// <summary>The listener's TCP endpoint.</summary>
    public System.Net.IPEndPoint EndPoint => _listener.ListenAddresses[0].ToIPEndPoint();

    /// <param name="cancellationToken">Bounds the dial.</param>
    /// <param name="via">Dial this instead of the listener (a <see cref="DelayProxy"/> in front of it).</param>
    public ValueTask<PeerConnection> ConnectAsync(CancellationToken cancellationToken, System.Net.IPEndPoint? via = null)
    {
        var options = new PeerConnectOptions
        {
            Identity = _identities.Client,
            Remote = new PeerAddress(_listener.LocalPeer, [via is null ? _listener.ListenAddresses[0] : Multiaddr.FromIPEndPoint(via, "tcp")]),
        };
        _configure?.Invoke(options);
        return PeerConnection.ConnectAsync(options, cancellationToken);
    }

    public ValueTask<PeerConnection> AcceptAsync(CancellationToken cancellationToken) => _listener.AcceptAsync(cancellationToken);

    public ValueTask DisposeAsync() => _listener.DisposeAsync();
}
