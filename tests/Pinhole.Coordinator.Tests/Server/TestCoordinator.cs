using Pinhole.Coordinator.Tests.Storage;
using Pinhole.Membership;

namespace Pinhole.Coordinator.Tests.Server;

/// <summary>A real coordinator on loopback with a fresh store, and helpers to invite and join nodes the way the CLI does.</summary>
internal sealed class TestCoordinator : IAsyncDisposable
{
    private readonly bool _ownsStore;
    private readonly List<IAsyncDisposable> _owned = [];

    private TestCoordinator(CoordinatorServer server, CoordinatorStore store, NodeIdentity identity, bool ownsStore)
    {
        Server = server;
        Store = store;
        Identity = identity;
        _ownsStore = ownsStore;
    }

    public CoordinatorServer Server { get; private set; }
    public CoordinatorStore Store { get; }
    public NodeIdentity Identity { get; }
    public Multiaddr Address => Server.ListenAddresses.First(a => a.ToString().StartsWith("/ip4/127.0.0.1/", StringComparison.Ordinal));

    public static async Task<TestCoordinator> StartAsync(string kind = "sqlite", CoordinatorStore? store = null, bool adminApi = false, NodeIdentity? identity = null,
        Action<CoordinatorOptions>? configure = null)
    {
        var owns = store is null;
        store ??= await Stores.OpenNewAsync(kind);
        identity ??= NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var options = new CoordinatorOptions
        {
            Identity = identity,
            Store = store,
            ListenAddresses = [Multiaddr.Parse("/ip4/127.0.0.1/tcp/0")],
            AdminApi = adminApi ? new Uri("https://127.0.0.1:0") : null,
            PollInterval = TimeSpan.FromSeconds(1),
            // Hang guards only: a loaded CI machine may take many seconds for a TLS handshake.
            HandshakeTimeout = Wait.Guard,
        };
        configure?.Invoke(options);
        return new TestCoordinator(await CoordinatorServer.StartAsync(options), store, identity, owns);
    }

    public async Task AddNetworkAsync(TestNetwork net) => Assert.True(await Store.CreateNetworkAsync(net.Genesis, DateTimeOffset.UtcNow));

    /// <summary>An invite for this coordinator, valid from now (wall clock), like <c>pinhole network invite</c> makes.</summary>
    public InviteCode Invite(TestNetwork net, TimeSpan? lifetime = null, NodeIdentity? issuer = null, string[]? groups = null, DateTimeOffset? now = null)
    {
        var key = InviteCode.GenerateKey();
        var (v4, v6) = net.NextAddresses();
        var at = now ?? DateTimeOffset.UtcNow;
        var invite = Pinhole.Membership.Invite.Create(issuer ?? net.Admin, net.Id, key.PublicKey, [Address], v4, v6, groups ?? ["all"], at, at + TimeSpan.FromDays(1), at + (lifetime ?? TimeSpan.FromDays(30)));
        return InviteCode.Create(invite, key);
    }

    public MembershipClientOptions ClientOptions(NodeIdentity node, string? cache = null, SealingKey? seal = null, TimeProvider? time = null) =>
        Generous.Client(node, cache, seal, time);

    public async Task<MembershipClient> JoinAsync(TestNetwork net, NodeIdentity node, string? cache = null, SealingKey? seal = null)
    {
        using var invite = Invite(net);
        var client = await MembershipClient.JoinAsync(invite, ClientOptions(node, cache, seal));
        _owned.Add(client);
        return client;
    }

    /// <summary>Publishes an admin-signed record the way the admin API does (checked like any write).</summary>
    public async Task PublishAsAdminAsync(NetworkRecord record)
    {
        var feed = (await Server.GetFeedAsync(record.Network, CancellationToken.None))!;
        await Server.WriteAsync(feed, record, record.Envelopes[0].Signer, viaAdminApi: true);
    }

    /// <summary>Stops the server as a crash would look to clients: every connection drops.</summary>
    public async Task KillAsync() => await Server.DisposeAsync();

    public async ValueTask DisposeAsync()
    {
        foreach (var owned in _owned)
        {
            await owned.DisposeAsync();
        }
        await Server.DisposeAsync();
        if (_ownsStore)
        {
            await Store.DisposeAsync();
        }
    }
}

/// <summary>Options whose every timeout is a hang guard, far beyond what a loaded machine needs, so load slows tests instead of failing them.</summary>
internal static class Generous
{
    public static MembershipClientOptions Client(NodeIdentity node, string? cache = null, SealingKey? seal = null, TimeProvider? time = null) => new()
    {
        Identity = node,
        CacheDirectory = cache,
        SealingKey = seal,
        ReconnectDelay = TimeSpan.FromMilliseconds(50),
        MaxReconnectDelay = TimeSpan.FromMilliseconds(500),
        OperationTimeout = Wait.Guard,
        SilenceTimeout = Wait.Guard * 2,
        Connect = (address, ct) => PeerConnection.ConnectAsync(Dial(node, address, time), ct),
        TimeProvider = time ?? TimeProvider.System,
    };

    public static PeerConnectOptions Dial(NodeIdentity node, PeerAddress remote, TimeProvider? time = null) =>
        new() { Identity = node, Remote = remote, HandshakeTimeout = Wait.Guard, TimeProvider = time ?? TimeProvider.System };

    public static PeerListenerOptions Listen(NodeIdentity node) => new() { Identity = node, ListenAddresses = [Multiaddr.Parse("/ip4/127.0.0.1/tcp/0")], HandshakeTimeout = Wait.Guard };
}

internal static class Wait
{
    /// <summary>A hang guard, never an expectation: 2 minutes.</summary>
    public static readonly TimeSpan Guard = TimeSpan.FromMinutes(2);

    /// <summary>Waits (polling state; the timeout is a hang guard) until the client reports <paramref name="status"/>.</summary>
    public static async Task ForStatusAsync(MembershipClient client, MembershipStatus status, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? Guard);
        while (client.Status != status)
        {
            Assert.True(DateTime.UtcNow < deadline, $"the client stayed {client.Status}, never {status}");
            await Task.Delay(20);
        }
    }

    /// <summary>Completes when the client's view satisfies <paramref name="condition"/> (event-driven; the timeout is only a hang guard).</summary>
    public static async Task ForViewAsync(MembershipClient client, Func<NetworkView, bool> condition, TimeSpan? timeout = null)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void Handler(object? sender, NetworkChangedEventArgs e)
        {
            if (condition(e.View))
            {
                done.TrySetResult();
            }
        }
        client.Changed += Handler;
        try
        {
            if (condition(client.View))
            {
                return;
            }
            await done.Task.WaitAsync(timeout ?? Guard);
        }
        finally
        {
            client.Changed -= Handler;
        }
    }
}
