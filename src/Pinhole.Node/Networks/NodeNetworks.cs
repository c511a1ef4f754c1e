using System.Text.Json.Nodes;
using Pinhole.Membership;

namespace Pinhole.Node;

/// <summary>
/// The private networks a <see cref="PinholeNode"/> follows, one <see cref="NetworkMembershipService"/> each: those
/// configured when the node was built start with it, and a network can be joined (<see cref="JoinAsync"/>) or left
/// (<see cref="LeaveAsync"/>) while the node runs — what <c>POST/DELETE /v1/networks</c> and <c>pinhole join</c> use.
/// Joins and leaves run one at a time; reads never wait for them.
/// </summary>
public sealed class NodeNetworks : INodeService, IAsyncDisposable
{
    /// <summary>The service's name (its status is <c>services.networks</c>, one object per network id).</summary>
    public const string ServiceName = "networks";

    private readonly List<NetworkMembershipOptions> _configured = [];
    private readonly SemaphoreSlim _changes = new(1, 1);
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _lock = new();
    private Dictionary<NetworkId, NetworkMembershipService> _networks = [];
    private PinholeNode? _node;

    internal NodeNetworks() => Keeps = new NetworkKeeps(List);

    /// <summary>Which networks keep which members connected (one for the node's networks).</summary>
    internal NetworkKeeps Keeps { get; }

    /// <inheritdoc/>
    public string Name => ServiceName;

    /// <summary>The node, once started.</summary>
    internal PinholeNode? Node => _node;

    /// <summary>Every network the node follows now.</summary>
    public IReadOnlyList<NetworkMembershipService> List()
    {
        lock (_lock)
        {
            return [.. _networks.Values];
        }
    }

    /// <summary>The node's membership of <paramref name="network"/>, or null.</summary>
    public NetworkMembershipService? Get(NetworkId network)
    {
        ArgumentNullException.ThrowIfNull(network);
        lock (_lock)
        {
            return _networks.GetValueOrDefault(network);
        }
    }

    internal void Configure(NetworkMembershipOptions options)
    {
        var network = options.Network ?? options.Invite!.Invite.Network;
        if (_configured.Any(o => (o.Network ?? o.Invite!.Invite.Network).Equals(network)))
        {
            throw new ArgumentException($"The network {network} is already added to this node.", nameof(options));
        }
        _configured.Add(options);
    }

    /// <inheritdoc/>
    public async Task StartAsync(PinholeNode node, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(node);
        _node = node;
        foreach (var options in _configured)
        {
            await AddAsync(options, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Joins a network with an invite while the node runs: the invite's genesis and admin signature are checked, it is
    /// redeemed for the node's key, the records are cached (HOME/networks unless <paramref name="options"/> says
    /// otherwise) and the node follows the members from now on, exactly as a network configured at build time.
    /// </summary>
    /// <exception cref="MembershipException">
    /// <see cref="MembershipError.Duplicate"/> when the node already follows the network (nothing was redeemed);
    /// otherwise the coordinator's or the node's own refusal (<see cref="MembershipError.AlreadyRedeemed"/>,
    /// <see cref="MembershipError.Expired"/>, <see cref="MembershipError.Revoked"/>, <see cref="MembershipError.Unauthorized"/>, ...).
    /// </exception>
    /// <exception cref="PeerException">No coordinator of the invite could be reached.</exception>
    /// <exception cref="InvalidOperationException">The node is not running.</exception>
    /// <exception cref="NetworkStorageException">
    /// The cache or coordinator list could not be written; <see cref="NetworkStorageException.InviteRedeemed"/> says
    /// whether the invite was spent first.
    /// </exception>
    /// <remarks>The invite in <paramref name="options"/> is disposed on every path, refused or not.</remarks>
    public async Task<NetworkMembershipService> JoinAsync(NetworkMembershipOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        // The service owns the invite from here on every path: refused, failed or joined, it is disposed.
        try
        {
            options.Validate();
            if (_node is null || _stopping.IsCancellationRequested)
            {
                throw new InvalidOperationException("The node is not running: networks are joined while it runs.");
            }
        }
        catch
        {
            options.Invite?.Dispose();
            throw;
        }
        // The caller going away must not abandon a redemption half way (the invite would be spent and nothing cached):
        // only the node stopping cancels a join once it started.
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        try
        {
            await _changes.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            options.Invite?.Dispose();
            throw;
        }
        try
        {
            if (_stopping.IsCancellationRequested)
            {
                options.Invite?.Dispose();
                throw new InvalidOperationException("The node is stopping: networks are joined while it runs.");
            }
            return await AddAsync(options, linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException e) when (_stopping.IsCancellationRequested)
        {
            throw new InvalidOperationException("The node stopped during the join.", e);
        }
        finally
        {
            _changes.Release();
        }
    }

    /// <summary>
    /// Stops following <paramref name="network"/> and forgets it (its cache and coordinator list are deleted, so a
    /// restart does not follow it again). Members the node kept connected for this network only are no longer
    /// kept connected; open connections stay until they close. The membership record itself stays valid until it
    /// expires or an admin revokes it: leaving is this node's decision, not the network's.
    /// </summary>
    /// <returns>False if the node did not follow the network.</returns>
    /// <exception cref="NetworkStorageException">
    /// A file could not be removed: before anything was stopped (the network is still followed; <c>Path</c> names the
    /// file), or, rarely, after (the network is no longer followed, and the message says which file to delete).
    /// </exception>
    public async Task<bool> LeaveAsync(NetworkId network, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(network);
        await _changes.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var service = Get(network);
            if (service is null)
            {
                return false;
            }
            // Files first: one that cannot be removed fails the leave with the network still followed, rather than a
            // leave that a restart undoes.
            var directory = service.CacheDirectory;
            var staged = directory is null ? [] : NetworkFiles.StageLeave(directory, network);
            lock (_lock)
            {
                var rest = new Dictionary<NetworkId, NetworkMembershipService>(_networks);
                rest.Remove(network);
                _networks = rest;
            }
            try
            {
                await service.LeaveAsync().ConfigureAwait(false);
            }
            finally
            {
                // After the client's own last save (on dispose), which writes the cache back.
                if (directory is not null)
                {
                    NetworkFiles.FinishLeave(directory, network, staged);
                }
            }
            return true;
        }
        finally
        {
            _changes.Release();
        }
    }

    /// <inheritdoc/>
    public async Task StopAsync(CancellationToken cancellationToken) => await DisposeAsync().ConfigureAwait(false);

    /// <inheritdoc/>
    public JsonObject? GetStatus()
    {
        var status = new JsonObject();
        foreach (var service in List())
        {
            status[service.Network.ToString()] = service.GetStatus();
        }
        return status;
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }
        await _stopping.CancelAsync().ConfigureAwait(false);
        // A join in progress sees the cancellation and ends before the services are stopped.
        await _changes.WaitAsync().ConfigureAwait(false);
        List<NetworkMembershipService> services;
        lock (_lock)
        {
            services = [.. _networks.Values];
            _networks = [];
        }
        for (var i = services.Count - 1; i >= 0; i--)
        {
            await services[i].DisposeAsync().ConfigureAwait(false);
        }
        _changes.Release();
    }

    private async Task<NetworkMembershipService> AddAsync(NetworkMembershipOptions options, CancellationToken cancellationToken)
    {
        var service = new NetworkMembershipService(options) { Keeps = Keeps };
        if (Get(service.Network) is not null)
        {
            options.Invite?.Dispose();
            throw new MembershipException(MembershipError.Duplicate, $"This node is already a member of {service.Network}; the invite was not used.");
        }
        try
        {
            await service.StartAsync(_node!, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            options.Invite?.Dispose();
            await service.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        lock (_lock)
        {
            _networks = new Dictionary<NetworkId, NetworkMembershipService>(_networks) { [service.Network] = service };
        }
        return service;
    }
}
