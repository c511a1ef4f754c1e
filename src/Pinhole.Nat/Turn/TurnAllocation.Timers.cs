using System.Net;

namespace Pinhole.Nat;

public sealed partial class TurnAllocation
{
    private readonly Lock _timerLock = new();
    private ITimer? _refreshTimer, _permissionTimer, _channelTimer, _keepaliveTimer;
    private int _maintenanceRunning;

    /// <summary>
    /// Refreshes the allocation now (what the timer does before expiry) and returns the lifetime granted.
    /// A server that no longer knows the allocation (437) or does not answer makes it <see cref="Lost"/>.
    /// </summary>
    /// <exception cref="TurnException">The refresh was refused; the allocation is lost.</exception>
    public async Task<TimeSpan> RefreshAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfNotActive();
        try
        {
            StunMessage response = await RequestAsync(StunMethod.Refresh, b => b.AddUInt32(StunAttributeType.Lifetime, (uint)_options.Lifetime.TotalSeconds), cancellationToken).ConfigureAwait(false);
            SetLifetime(response.Lifetime ?? _options.Lifetime);
            TurnLog.Refreshed(_logger, Server, Lifetime);
            ScheduleRefresh();
            return Lifetime;
        }
        catch (PeerException e)
        {
            MarkLost($"refresh failed: {e.Message}");
            throw;
        }
    }

    /// <summary>Refreshes (re-installs) every permission now, as the timer does every <see cref="TurnClientOptions.PermissionRefreshInterval"/>.</summary>
    public Task RefreshPermissionsAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfNotActive();
        return InstallPermissionsAsync([.. _permissions.Values], cancellationToken);
    }

    /// <summary>Re-binds every channel now, as the timer does every <see cref="TurnClientOptions.ChannelRefreshInterval"/>.</summary>
    public async Task RefreshChannelsAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfNotActive();
        foreach (KeyValuePair<IPEndPoint, ushort> binding in _channelByPeer.ToArray())
        {
            await SendChannelBindAsync(binding.Value, binding.Key, cancellationToken).ConfigureAwait(false);
        }
    }

    private void StartTimers()
    {
        lock (_timerLock)
        {
            _permissionTimer = _time.CreateTimer(static s => ((TurnAllocation)s!).Maintain(t => t.RefreshPermissionsAsync(t._stop.Token), "permission refresh"),
                this, _options.PermissionRefreshInterval, _options.PermissionRefreshInterval);
            _channelTimer = _time.CreateTimer(static s => ((TurnAllocation)s!).Maintain(t => t.RefreshChannelsAsync(t._stop.Token), "channel refresh"),
                this, _options.ChannelRefreshInterval, _options.ChannelRefreshInterval);
            if (_options.KeepaliveInterval != Timeout.InfiniteTimeSpan)
            {
                _keepaliveTimer = _time.CreateTimer(static s => ((TurnAllocation)s!).SendKeepalive(), this, _options.KeepaliveInterval, _options.KeepaliveInterval);
            }
        }
        ScheduleRefresh();
    }

    // At lifetime − margin, but no later than half the lifetime for short ones (and never sooner than 1 s).
    private void ScheduleRefresh()
    {
        TimeSpan due = Lifetime - _options.RefreshMargin;
        TimeSpan half = Lifetime / 2;
        due = due < half ? half : due;
        due = due < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : due;
        lock (_timerLock)
        {
            if (!IsActive)
            {
                return;
            }
            _refreshTimer ??= _time.CreateTimer(static s => ((TurnAllocation)s!).Maintain(t => t.RefreshAsync(t._stop.Token), "refresh"),
                this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            _refreshTimer.Change(due, Timeout.InfiniteTimeSpan);
        }
    }

    private void StopTimers()
    {
        lock (_timerLock)
        {
            _refreshTimer?.Dispose();
            _permissionTimer?.Dispose();
            _channelTimer?.Dispose();
            _keepaliveTimer?.Dispose();
            _refreshTimer = _permissionTimer = _channelTimer = _keepaliveTimer = null;
        }
    }

    private void Maintain(Func<TurnAllocation, Task> work, string what)
    {
        if (!IsActive)
        {
            return;
        }
        Interlocked.Increment(ref _maintenanceRunning);
        _ = Task.Run(async () =>
        {
            try
            {
                await work(this).ConfigureAwait(false);
            }
            catch (TurnException e) when (e.ErrorCode == StunErrorCode.AllocationMismatch)
            {
                MarkLost($"{what}: the server no longer knows the allocation (437)");
            }
            catch (Exception e) when (e is PeerException or OperationCanceledException or ObjectDisposedException)
            {
                TurnLog.MaintenanceFailed(_logger, what, Server, e);
            }
            finally
            {
                Interlocked.Decrement(ref _maintenanceRunning);
            }
        });
    }

    // A Binding indication (RFC 8489 §6.3.2: never answered) keeps the NAT's mapping to the server open.
    private void SendKeepalive()
    {
        if (!IsActive)
        {
            return;
        }
        byte[] keepalive = new StunMessageBuilder(StunMethod.Binding, StunClass.Indication, StunTransactionId.NewRandom()).AddFingerprint().ToArray();
        _ = Task.Run(async () =>
        {
            try
            {
                await _mux.SendAsync(Server, keepalive, _stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is System.Net.Sockets.SocketException or OperationCanceledException or ObjectDisposedException)
            {
                TurnLog.MaintenanceFailed(_logger, "keepalive", Server, e);
            }
        });
    }
}
