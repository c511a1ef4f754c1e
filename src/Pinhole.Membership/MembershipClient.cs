using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Pinhole.Membership.Internal;

namespace Pinhole.Membership;

/// <summary>
/// A node's membership in one private network: it keeps the network's records, verified by this node, streams changes
/// from a coordinator (resuming from its cursor, trying each coordinator address in turn), keeps a verified cache on
/// disk and works from it while no coordinator answers, enforces expiry on its own clock, exchanges trust records with
/// other members (gossip) so that a coordinator withholding a revocation or a redemption is caught out, and carries
/// sealed requests. Everything it reports comes from its own checks; the coordinator is never trusted.
/// </summary>
/// <remarks>
/// A node hosts one per network: <see cref="View"/> for who is a member (virtual addresses, groups, verified
/// endpoints), <see cref="Changed"/> for changes, <see cref="IsMember"/> to gate connections, and the gossip
/// protocol <see cref="CoordinatorMessage.GossipProtocol"/> (<see cref="ServeGossipAsync"/> for inbound streams,
/// <see cref="GossipAsync"/> with connected members).
/// </remarks>
public sealed partial class MembershipClient : IAsyncDisposable
{
    private readonly MembershipClientOptions _options;
    private readonly NodeIdentity _identity;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly object _lock = new();
    private readonly NetworkState _state;
    private readonly List<Multiaddr> _coordinators;
    private readonly Channel<Action> _events = Channel.CreateUnbounded<Action>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stopping = new();
    private readonly TaskCompletionSource _caughtUp = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ITimer _edgeTimer;
    private readonly string? _cachePath;
    private readonly List<Task> _loops = [];
    private NetworkView _view;
    private bool _viewDirty;
    private bool _recomputeQueued;
    private ulong _cursor;
    private MembershipStatus _status;
    private EndpointRecord? _ownEndpoint;
    private int _disposed;

    private MembershipClient(MembershipClientOptions options, NetworkState state, ulong cursor, IEnumerable<Multiaddr> coordinators)
    {
        _options = options;
        _identity = options.Identity!;
        _time = options.TimeProvider;
        _logger = options.LoggerFactory.CreateLogger<MembershipClient>();
        _state = state;
        _cursor = cursor;
        _coordinators = [.. coordinators.Distinct()];
        _cachePath = options.CacheDirectory is { } dir ? CachePath(dir, state.Network) : null;
        _view = state.GetView(_time.GetUtcNow());
        _ownEndpoint = state.FindEndpoint(_identity.PeerId);
        _edgeTimer = _time.CreateTimer(_ => OnEdge(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        ArmEdgeTimer(_view);
    }

    /// <summary>The network.</summary>
    public NetworkId Network => _state.Network;

    /// <summary>This node's PeerId.</summary>
    public PeerId LocalPeer => _identity.PeerId;

    /// <summary>The current verified view (recomputed when records arrive and when a validity edge passes).</summary>
    public NetworkView View => CurrentView();

    /// <summary>The coordinator change cursor the records are current to.</summary>
    public ulong Cursor
    {
        get
        {
            lock (_lock)
            {
                return _cursor;
            }
        }
    }

    /// <summary>Where the client stands.</summary>
    public MembershipStatus Status
    {
        get
        {
            lock (_lock)
            {
                _ = CurrentView(); // Brings NotMember up to date with records just applied.
                return _status;
            }
        }
    }

    /// <summary>How many records are held.</summary>
    public int RecordCount
    {
        get
        {
            lock (_lock)
            {
                return _state.Count;
            }
        }
    }

    /// <summary>The coordinator addresses tried in turn.</summary>
    public IReadOnlyList<Multiaddr> Coordinators => _coordinators;

    /// <summary>
    /// Raised when the view changes: members added, updated (credential or endpoint), removed (with the reason:
    /// revoked, expired, other), and newly detected misbehaviour. Handlers run one at a time, in order.
    /// </summary>
    public event EventHandler<NetworkChangedEventArgs>? Changed;

    /// <summary>Raised when the coordinator says requests wait in this node's request space.</summary>
    public event EventHandler<int>? RequestsPending;

    /// <summary>True if <paramref name="peer"/> is a valid member now, by this node's own check.</summary>
    public bool IsMember(PeerId peer)
    {
        ArgumentNullException.ThrowIfNull(peer);
        return CurrentView().IsMember(peer);
    }

    /// <summary>The member <paramref name="peer"/>, or null.</summary>
    public NetworkMember? FindMember(PeerId peer)
    {
        ArgumentNullException.ThrowIfNull(peer);
        return CurrentView().Members.GetValueOrDefault(peer);
    }

    /// <summary>Completes when the first subscription has delivered the coordinator's backlog (or the client stops).</summary>
    public Task WaitForSyncAsync(CancellationToken cancellationToken = default) => _caughtUp.Task.WaitAsync(cancellationToken);

    /// <summary>
    /// Verifies and applies records obtained some other way (gossip, an admin handing them over): each is checked
    /// exactly as if it came from the coordinator. Returns what happened to each.
    /// </summary>
    public IReadOnlyList<ApplyResult> AddRecords(IEnumerable<NetworkRecord> records, string source = "caller")
    {
        ArgumentNullException.ThrowIfNull(records);
        return Apply([.. records], source, cursor: null);
    }

    /// <summary>The records held (for gossip and tools), in an order that can be applied again.</summary>
    public IReadOnlyList<NetworkRecord> GetRecords()
    {
        lock (_lock)
        {
            return [.. _state.Records];
        }
    }

    /// <summary>Stops streaming, writes the cache a last time and releases everything.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        lock (_lock)
        {
            _status = MembershipStatus.Stopped;
        }
        await _stopping.CancelAsync().ConfigureAwait(false);
        _events.Writer.TryComplete();
        await _edgeTimer.DisposeAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(_loops).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        await DisconnectAsync().ConfigureAwait(false);
        await SaveCacheAsync(CancellationToken.None).ConfigureAwait(false);
        _caughtUp.TrySetCanceled();
        _stopping.Dispose();
    }

    /// <summary>The cache file of <paramref name="network"/> in <paramref name="directory"/>.</summary>
    public static string CachePath(string directory, NetworkId network)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentNullException.ThrowIfNull(network);
        return Path.Combine(directory, network + ".cache");
    }

    private NetworkView CurrentView()
    {
        lock (_lock)
        {
            // Recompute now if records arrived since, or a validity edge passed before its timer fired.
            if (_viewDirty || (_view.NextChange is { } edge && _time.GetUtcNow() >= edge))
            {
                Recompute();
            }
            return _view;
        }
    }

    private List<ApplyResult> Apply(List<NetworkRecord> records, string source, ulong? cursor)
    {
        var results = new List<ApplyResult>(records.Count);
        lock (_lock)
        {
            var now = _time.GetUtcNow();
            var before = _state.Version;
            foreach (var record in NetworkState.InApplyOrder(records))
            {
                var result = _state.Apply(record, now);
                results.Add(result);
                if (result.Status == ApplyStatus.Rejected && result.Error is not (MembershipError.Expired or MembershipError.Stale))
                {
                    MembershipLog.Refused(_logger, record.ToString(), source, result.Error, result.Message);
                }
            }
            if (cursor is { } c)
            {
                _cursor = Math.Max(_cursor, c);
            }
            if (_state.Version != before)
            {
                // Coalesced: a burst of changes costs one view computation, done by the event loop (or by the next reader).
                _viewDirty = true;
                _cacheDirty = true;
                if (!_recomputeQueued)
                {
                    _recomputeQueued = true;
                    _events.Writer.TryWrite(RecomputeQueued);
                }
            }
        }
        return results;
    }

    private void RecomputeQueued()
    {
        lock (_lock)
        {
            _recomputeQueued = false;
            if (_viewDirty && _disposed == 0)
            {
                Recompute();
            }
        }
    }

    // Under _lock: computes the view, queues the diff as an event, arms the timer for the next validity edge.
    private void Recompute()
    {
        _viewDirty = false;
        var before = _view;
        var after = _state.GetView(_time.GetUtcNow());
        _view = after;
        ArmEdgeTimer(after);
        if (NetworkChangedEventArgs.Diff(before, after, _state.ClockSkew) is { } change)
        {
            foreach (var alert in change.Alerts)
            {
                MembershipLog.Alert(_logger, Network, alert.Message);
            }
            if (!after.IsMember(LocalPeer) && before.IsMember(LocalPeer))
            {
                _status = MembershipStatus.NotMember;
            }
            else if (after.IsMember(LocalPeer) && _status == MembershipStatus.NotMember)
            {
                _status = MembershipStatus.Connecting;
            }
            _events.Writer.TryWrite(() => Changed?.Invoke(this, change));
        }
    }

    private void ArmEdgeTimer(NetworkView view)
    {
        if (view.NextChange is { } edge)
        {
            var due = edge - _time.GetUtcNow();
            _edgeTimer.Change(due < TimeSpan.Zero ? TimeSpan.Zero : due, Timeout.InfiniteTimeSpan);
        }
        else
        {
            _edgeTimer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }
    }

    private void OnEdge()
    {
        lock (_lock)
        {
            if (_disposed == 0)
            {
                Recompute();
            }
        }
    }

    private async Task EventLoopAsync()
    {
        await foreach (var raise in _events.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            try
            {
                raise();
            }
            catch (Exception e)
            {
                MembershipLog.HandlerFailed(_logger, e);
            }
        }
    }
}
