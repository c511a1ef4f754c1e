using Microsoft.Extensions.Time.Testing;

namespace Pinhole.Node.Tests;

/// <summary>Nodes on loopback for tests; disposed (stopped) with the collection.</summary>
public sealed class TestNodes : IAsyncDisposable
{
    private readonly List<PinholeNode> _nodes = [];
    private readonly List<TempHome> _homes = [];
    private readonly List<NodeIdentity> _identities = [];

    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    public static PinholeNodeOptions Options(NodeIdentity identity, string? home = null, TimeProvider? time = null, int port = 0) => new()
    {
        Identity = identity,
        Home = home,
        ListenAddresses = [Multiaddr.Parse($"/ip4/127.0.0.1/tcp/{port}")],
        TimeProvider = time ?? TimeProvider.System,
        // On a fake clock a jump of minutes would send a keep-alive and expire it in the same jump, before the
        // peer (on real sockets) can answer: fake-clock tests run without keep-alives.
        // On the real clock the handshake deadline is only a hang guard: a loaded CI machine can stall a handshake
        // for seconds, and no test here is about that deadline.
        Transport =
        {
            KeepAliveInterval = time is FakeTimeProvider ? TimeSpan.Zero : TimeSpan.FromSeconds(30),
            HandshakeTimeout = time is FakeTimeProvider ? TimeSpan.FromSeconds(10) : TimeSpan.FromSeconds(60),
        },
    };

    public NodeIdentity NewIdentity()
    {
        var identity = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        _identities.Add(identity);
        return identity;
    }

    public TempHome NewHome()
    {
        var home = new TempHome();
        _homes.Add(home);
        return home;
    }

    /// <summary>Builds and starts a node; <paramref name="configure"/> may change options and register parts.</summary>
    public async Task<PinholeNode> StartAsync(Action<PinholeNodeBuilder>? configure = null, NodeIdentity? identity = null, TimeProvider? time = null, bool withHome = false, int port = 0)
    {
        var node = Build(configure, identity, time, withHome, port);
        await node.StartAsync();
        return node;
    }

    public PinholeNode Build(Action<PinholeNodeBuilder>? configure = null, NodeIdentity? identity = null, TimeProvider? time = null, bool withHome = false, int port = 0)
    {
        var builder = PinholeNode.CreateBuilder(Options(identity ?? NewIdentity(), withHome ? NewHome().Path : null, time, port));
        configure?.Invoke(builder);
        var node = builder.Build();
        _nodes.Add(node);
        return node;
    }

    public static Multiaddr TcpAddress(PinholeNode node) =>
        node.GetDialableAddresses().First(a => a.TryGetIPEndPoint(out _, out var t) && t == "tcp").DecapsulateCode(0x01a5);

    public static FakeTimeProvider FakeClock() => new(DateTimeOffset.UtcNow);

    /// <summary>Waits (bounded, as a hang guard only) until <paramref name="condition"/> holds, re-checking every 20 ms.</summary>
    public static async Task UntilAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? Wait);
        while (!condition())
        {
            try
            {
                await Task.Delay(20, cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"Gave up waiting for: {what}");
            }
        }
    }

    /// <summary>The next event of type <typeparamref name="T"/> matching <paramref name="match"/>.</summary>
    public static async Task<T> NextAsync<T>(NodeEventSubscription events, Func<T, bool>? match = null, TimeSpan? timeout = null) where T : NodeEvent
    {
        using var cts = new CancellationTokenSource(timeout ?? Wait);
        try
        {
            while (true)
            {
                var e = await events.Reader.ReadAsync(cts.Token);
                if (e is T t && (match is null || match(t)))
                {
                    return t;
                }
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"No {typeof(T).Name} within {(timeout ?? Wait).TotalSeconds} s.");
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in Enumerable.Reverse(_nodes))
        {
            await node.StopAsync();
        }
        foreach (var identity in _identities)
        {
            identity.Dispose();
        }
        foreach (var home in _homes)
        {
            home.Dispose();
        }
    }
}
