namespace Pinhole.Messaging.Tests.Support;

/// <summary>Two message sessions over an in-memory connection pair (yamux over pipes, no TLS).</summary>
internal sealed class SessionPair : IAsyncDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private SessionPair(PeerConnection left, PeerConnection right, MessageSessionOptions? options)
    {
        LeftConnection = left;
        RightConnection = right;
        Left = MessageSession.Start(left, options);
        Right = MessageSession.Start(right, options);
    }

    public PeerConnection LeftConnection { get; }

    public PeerConnection RightConnection { get; }

    public MessageSession Left { get; }

    public MessageSession Right { get; }

    public static SessionPair Create(MessageSessionOptions? options = null, int? maxStreamWindow = null)
    {
        PeerConnectionOptions Options()
        {
            var o = new PeerConnectionOptions { Identity = NodeIdentity.Generate() };
            if (maxStreamWindow is { } window)
            {
                o.InitialStreamWindow = window;
                o.MaxStreamWindow = window;
            }
            return o;
        }
        var (left, right) = MemoryNetwork.CreatePair(Options(), Options());
        return new SessionPair(left, right, options);
    }

    public async ValueTask DisposeAsync()
    {
        await Left.DisposeAsync();
        await Right.DisposeAsync();
        await LeftConnection.DisposeAsync();
        await RightConnection.DisposeAsync();
    }
}
