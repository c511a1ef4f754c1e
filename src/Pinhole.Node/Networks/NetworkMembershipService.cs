using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Pinhole.Membership;

namespace Pinhole.Node;

/// <summary>
/// A node's membership of one private network, hosted by <see cref="PinholeNode"/>: it joins with an invite (or starts
/// from the verified cache, so it works with every coordinator down), announces the node's addresses in a signed
/// endpoint record, stores each member's verified addresses in the peer store and keeps a connection to it, and
/// drops every connection of a member that is revoked or expires, refusing it again if it reconnects. The node
/// checks every record itself (<see cref="MembershipClient"/>); the coordinator is never trusted.
/// </summary>
public sealed partial class NetworkMembershipService : INodeService, IAsyncDisposable
{
    private readonly NetworkMembershipOptions _options;
    private readonly Channel<Func<Task>> _work = Channel.CreateUnbounded<Func<Task>>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<PeerId, byte> _followed = new();
    private string? _cacheDirectory;
    private PinholeNode? _node;
    private MembershipClient? _client;
    private NodeEventSubscription? _events;
    private Task _workLoop = Task.CompletedTask;
    private Task _eventLoop = Task.CompletedTask;
    private ILogger _logger = Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
    private NetworkKeeps _keeps = new(() => []);

    /// <summary>A service for the network <paramref name="options"/> names (validated now).</summary>
    public NetworkMembershipService(NetworkMembershipOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        Network = options.Network ?? options.Invite!.Invite.Network;
    }

    /// <summary>The network.</summary>
    public NetworkId Network { get; }

    /// <inheritdoc/>
    public string Name => "network:" + Network;

    /// <summary>The verified membership client (null before start).</summary>
    public MembershipClient? Client => _client;

    /// <summary>Peers dropped because they stopped being members (revoked, expired), counted since start.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    private long _dropped;

    /// <summary>Where the network's cache and coordinator list are (null before start, or without a home).</summary>
    internal string? CacheDirectory => _cacheDirectory;

    /// <summary>The keep-connected bookkeeping shared with the node's other networks (set by <see cref="NodeNetworks"/> before start).</summary>
    internal NetworkKeeps Keeps
    {
        get => _keeps;
        set => _keeps = value;
    }

    /// <summary>True if <paramref name="peer"/> is a valid member now, by this node's own check.</summary>
    public bool IsMember(PeerId peer) => _client?.IsMember(peer) ?? false;

    /// <inheritdoc/>
    public async Task StartAsync(PinholeNode node, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(node);
        _node = node;
        _logger = node.Options.LoggerFactory.CreateLogger<NetworkMembershipService>();
        var cache = _options.CacheDirectory ?? (node.Options.Home is { } home ? Path.Combine(home, "networks") : null);
        _cacheDirectory = cache;
        var options = new MembershipClientOptions
        {
            Identity = node.Identity,
            Network = Network,
            CacheDirectory = cache,
            OperationTimeout = _options.OperationTimeout,
            Connect = (address, ct) => PeerConnection.ConnectAsync(node.CreateConnectOptions(address), ct),
            TimeProvider = node.Options.TimeProvider,
            LoggerFactory = node.Options.LoggerFactory,
        };
        foreach (var coordinator in _options.Coordinators)
        {
            options.Coordinators.Add(coordinator);
        }
        var cached = cache is not null && File.Exists(MembershipClient.CachePath(cache, Network));
        if (cached && options.Coordinators.Count == 0)
        {
            foreach (var coordinator in LoadCoordinators(cache!, Network))
            {
                options.Coordinators.Add(coordinator);
            }
        }
        if (!cached && _options.Invite is { } invite)
        {
            _client = await RedeemAsync(invite, options, cancellationToken).ConfigureAwait(false);
            NetworkLog.Joined(_logger, Network, node.LocalPeer);
        }
        else
        {
            if (!cached && options.Coordinators.Count == 0 && _options.Invite is null)
            {
                throw new ArgumentException($"No cache for {Network} and no coordinator or invite to join it with.");
            }
            if (options.Coordinators.Count == 0 && _options.Invite is { } known)
            {
                foreach (var coordinator in known.Invite.Coordinators)
                {
                    options.Coordinators.Add(coordinator);
                }
            }
            _client = await MembershipClient.StartAsync(options, cancellationToken).ConfigureAwait(false);
        }
        _options.Invite?.Dispose();
        _client.Changed += OnChanged;
        _events = node.Events.Subscribe();
        _workLoop = Task.Run(WorkLoopAsync, CancellationToken.None);
        _eventLoop = Task.Run(EventLoopAsync, CancellationToken.None);
        // What the cache or the first sync already holds: no event announces it.
        var view = _client.View;
        _work.Writer.TryWrite(() => FollowAsync(view.Members.Values, [.. view.Revoked.Keys]));
        if (_options.PublishEndpoint)
        {
            var addresses = node.GetDialableAddresses();
            var tunnel = TunnelAddresses(node);
            await _client.PublishEndpointAsync(addresses, tunnel, _options.NatType, cancellationToken).ConfigureAwait(false);
            WatchAddresses(node, addresses, tunnel);
        }
    }

    /// <summary>The file beside a network's cache that lists its coordinators (the cache holds records only).</summary>
    public static string CoordinatorsPath(string cacheDirectory, NetworkId network)
    {
        ArgumentNullException.ThrowIfNull(network);
        return Path.Combine(cacheDirectory, network + ".coordinators");
    }

    /// <summary>
    /// Redeems <paramref name="invite"/> for <paramref name="options"/>' identity, keeping the node's files whole: when
    /// <see cref="MembershipClientOptions.CacheDirectory"/> is set, the coordinator list (the options' and the invite's)
    /// is written before the invite is spent — a cache without its coordinator list would be followed offline
    /// forever, and a list that cannot be written fails the join while the invite is still good — a failed join
    /// removes it again, and a join whose cache could not be written is an error, not "joined" with nothing a
    /// restart follows. Both the node and <c>pinhole join</c> without a daemon join this way.
    /// </summary>
    /// <exception cref="NetworkStorageException">
    /// The coordinator list or the cache could not be written; <see cref="NetworkStorageException.InviteRedeemed"/> says
    /// whether the invite was spent.
    /// </exception>
    /// <exception cref="MembershipException">The coordinator or the records refused the join.</exception>
    public static async Task<MembershipClient> RedeemAsync(InviteCode invite, MembershipClientOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(invite);
        ArgumentNullException.ThrowIfNull(options);
        var cache = options.CacheDirectory;
        var network = invite.Invite.Network;
        if (cache is not null)
        {
            await NetworkFiles.WriteCoordinatorsAsync(cache, network, options.Coordinators.Concat(invite.Invite.Coordinators).Distinct(), cancellationToken).ConfigureAwait(false);
        }
        MembershipClient client;
        try
        {
            client = await MembershipClient.JoinAsync(invite, options, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            if (cache is not null)
            {
                NetworkFiles.ForgetFailedJoin(cache, network);
            }
            throw;
        }
        if (cache is not null && !File.Exists(MembershipClient.CachePath(cache, network)))
        {
            await client.DisposeAsync().ConfigureAwait(false);
            // The client logs and swallows a failed cache write.
            var path = MembershipClient.CachePath(cache, network);
            throw new NetworkStorageException(
                $"The invite was redeemed for this node's key, but the cache '{path}' could not be written (see the log), so the node does not follow the network. The invite is spent: fix the home's storage and ask the admin for a new invite.",
                path, inviteRedeemed: true);
        }
        return client;
    }

    /// <summary>The coordinators remembered for the network (none if the file is missing; bad lines are skipped).</summary>
    public static IReadOnlyList<Multiaddr> LoadCoordinators(string cacheDirectory, NetworkId network)
    {
        var path = CoordinatorsPath(cacheDirectory, network);
        if (!File.Exists(path))
        {
            return [];
        }
        var found = new List<Multiaddr>();
        foreach (var line in File.ReadLines(path).Take(64))
        {
            if (Multiaddr.TryParse(line.Trim(), out var address))
            {
                found.Add(address);
            }
        }
        return found;
    }

    /// <inheritdoc/>
    public async Task StopAsync(CancellationToken cancellationToken) => await DisposeAsync().ConfigureAwait(false);

    /// <summary>True if this network keeps <paramref name="peer"/> connected (it is a member with an endpoint).</summary>
    public bool Follows(PeerId peer) => _followed.ContainsKey(peer);

    /// <summary>
    /// Stops following the network: stops the client and un-keeps the members no other network keeps
    /// (<see cref="NetworkKeeps"/>). The files are <see cref="NodeNetworks"/>' business (<see cref="NetworkFiles"/>).
    /// </summary>
    internal async Task LeaveAsync()
    {
        try
        {
            await DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            // Whatever stopping the client did, the members are not left kept connected for a network not followed.
            if (_node is { } node)
            {
                foreach (var peer in _followed.Keys)
                {
                    _keeps.Release(node, Network, peer, held: true);
                }
            }
            _followed.Clear();
        }
        NetworkLog.Left(_logger, Network);
    }

    /// <summary>Completes once everything queued before the call (follows, drops) has run; for tests that assert on state after a change.</summary>
    internal Task WhenIdleAsync()
    {
        var idle = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_work.Writer.TryWrite(() =>
        {
            idle.TrySetResult();
            return Task.CompletedTask;
        }))
        {
            idle.TrySetResult();
        }
        return idle.Task;
    }

    /// <inheritdoc/>
    public JsonObject? GetStatus()
    {
        if (_client is not { } client)
        {
            return null;
        }
        var view = client.View;
        return new JsonObject
        {
            ["network"] = Network.ToString(),
            ["name"] = view.Name,
            ["status"] = client.Status.ToString(),
            ["member"] = view.IsMember(client.LocalPeer),
            ["members"] = view.Members.Count,
            ["revoked"] = view.Revoked.Count,
            ["cursor"] = client.Cursor,
            ["dropped"] = Dropped,
        };
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }
        await _stopping.CancelAsync().ConfigureAwait(false);
        UnwatchAddresses();
        if (_client is { } client)
        {
            client.Changed -= OnChanged;
        }
        _work.Writer.TryComplete();
        _events?.Dispose();
        await Task.WhenAll(_workLoop, _eventLoop).ConfigureAwait(false);
        if (_client is not null)
        {
            await _client.DisposeAsync().ConfigureAwait(false);
        }
        _stopping.Dispose();
    }

    private void OnChanged(object? sender, NetworkChangedEventArgs e)
    {
        var removed = e.Removed.Select(r => r.Member.Peer).ToList();
        if (_node is { } node && removed.Contains(node.LocalPeer))
        {
            // This node was cut off itself: it has no business with the members any more.
            _work.Writer.TryWrite(async () =>
            {
                foreach (var peer in _followed.Keys.ToList())
                {
                    await DropAsync(peer, "this node is no longer a member").ConfigureAwait(false);
                }
            });
            return;
        }
        _work.Writer.TryWrite(() => FollowAsync([.. e.Added, .. e.Updated], removed));
    }

    // One at a time, in event order: store members' addresses and keep them connected; cut off those that left.
    private async Task FollowAsync(IEnumerable<NetworkMember> members, IReadOnlyList<PeerId> removed)
    {
        var node = _node!;
        foreach (var member in members)
        {
            if (member.Peer.Equals(node.LocalPeer) || member.Addresses.Count == 0 || !_client!.IsMember(node.LocalPeer))
            {
                continue;
            }
            // Followed before kept: another network's leave that sees the flag also sees this network follows it.
            var added = _options.ConnectToMembers && _followed.TryAdd(member.Peer, 0);
            try
            {
                _keeps.Keep(node, Network, member.Peer, member.Addresses, _options.ConnectToMembers);
            }
            catch (Exception e) when (e is PeerException or PeerStoreException or ArgumentException or FormatException)
            {
                if (added)
                {
                    _followed.TryRemove(member.Peer, out _);
                }
                NetworkLog.FollowFailed(_logger, member.Peer, Network, e.Message);
            }
        }
        foreach (var peer in removed)
        {
            await DropAsync(peer, "no longer a member").ConfigureAwait(false);
        }
    }

    private async Task DropAsync(PeerId peer, string why)
    {
        var node = _node!;
        if (peer.Equals(node.LocalPeer))
        {
            return;
        }
        // Another followed network's member (or the user's pin) stays kept and connected: access in this network is a
        // membership check, so the connection leaks nothing from it.
        if (_keeps.Release(node, Network, peer, held: _followed.TryRemove(peer, out _)))
        {
            return;
        }
        if (await node.Connections.DisconnectAsync(peer, _stopping.Token).ConfigureAwait(false))
        {
            Interlocked.Increment(ref _dropped);
            NetworkLog.Dropped(_logger, peer, Network, why);
        }
    }

    private async Task WorkLoopAsync()
    {
        await foreach (var work in _work.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            try
            {
                await work().ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is PeerException or IOException or ObjectDisposedException or InvalidOperationException)
            {
                NetworkLog.FollowFailed(_logger, null, Network, e.Message);
            }
        }
    }

    // A revoked member that dials in (or is dialled by something else) is cut off as soon as it connects.
    private async Task EventLoopAsync()
    {
        try
        {
            await foreach (var e in _events!.Reader.ReadAllAsync(_stopping.Token).ConfigureAwait(false))
            {
                if (e is PeerConnectedEvent connected && _client!.View.Revoked.ContainsKey(connected.Peer))
                {
                    var peer = connected.Peer;
                    _work.Writer.TryWrite(() => DropAsync(peer, "revoked"));
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static partial class NetworkLog
    {
        [LoggerMessage(Level = LogLevel.Information, Message = "Joined network {Network} as {Peer}")]
        public static partial void Joined(ILogger logger, NetworkId network, PeerId peer);

        [LoggerMessage(Level = LogLevel.Information, Message = "Left network {Network}: no longer followed, its cache deleted")]
        public static partial void Left(ILogger logger, NetworkId network);

        [LoggerMessage(Level = LogLevel.Information, Message = "Dropped {Peer} from network {Network}: {Why}")]
        public static partial void Dropped(ILogger logger, PeerId peer, NetworkId network, string why);

        [LoggerMessage(Level = LogLevel.Information, Message = "Republished this node's endpoint in {Network}: {Count} addresses")]
        public static partial void Republished(ILogger logger, NetworkId network, int count);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Could not follow member {Peer} of {Network}: {Error}")]
        public static partial void FollowFailed(ILogger logger, PeerId? peer, NetworkId network, string error);
    }
}
