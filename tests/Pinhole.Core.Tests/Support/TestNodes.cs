namespace Pinhole.Core.Tests.Support;

/// <summary>Loopback listeners and dial options for connection tests; every wait is bounded.</summary>
public static class TestNodes
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    public static CancellationToken Bounded() => new CancellationTokenSource(Timeout).Token;

    public static PeerListenerOptions ListenerOptions(NodeIdentity identity, Action<PeerListenerOptions>? configure = null)
    {
        var options = new PeerListenerOptions
        {
            Identity = identity,
            ListenAddresses = [Multiaddr.Parse("/ip4/127.0.0.1/tcp/0")],
        };
        configure?.Invoke(options);
        return options;
    }

    public static Task<PeerListener> ListenAsync(NodeIdentity identity, Action<PeerListenerOptions>? configure = null)
        => PeerListener.ListenAsync(ListenerOptions(identity, configure)).AsTask();

    public static Multiaddr Address(PeerListener listener) => listener.ListenAddresses[0];

    public static PeerConnectOptions Dial(NodeIdentity identity, PeerListener listener, PeerId? expect = null) => new()
    {
        Identity = identity,
        Remote = new PeerAddress(expect ?? listener.LocalPeer, [Address(listener)]),
    };

    public static async Task<(PeerConnection Client, PeerConnection Server)> ConnectAsync(NodeIdentity client, PeerListener listener)
    {
        var dial = PeerConnection.ConnectAsync(Dial(client, listener), Bounded()).AsTask();
        var accept = listener.AcceptAsync(Bounded()).AsTask();
        return (await dial, await accept);
    }

    public static async Task<byte[]> ReadAllAsync(Stream stream, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer, cancellationToken);
        return buffer.ToArray();
    }
}
