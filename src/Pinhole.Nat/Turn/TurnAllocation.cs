using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Pinhole.Nat;

/// <summary>
/// A TURN allocation (RFC 8656) on the node's shared UDP socket: a relayed transport address on the server
/// that peers send to, usable as a relay candidate and as a DTLS path (<see cref="TurnPeerEndPoint"/>).
/// <para>
/// <see cref="AllocateAsync"/> authenticates with the long-term credential (the first request draws 401 with
/// REALM and NONCE; 438 Stale Nonce is retried with the new nonce), checks MESSAGE-INTEGRITY on every success
/// response, and from then on keeps the allocation alive: Refresh before the lifetime runs out, permissions
/// re-installed every <see cref="TurnClientOptions.PermissionRefreshInterval"/>, channels re-bound every
/// <see cref="TurnClientOptions.ChannelRefreshInterval"/>, and a Binding indication every
/// <see cref="TurnClientOptions.KeepaliveInterval"/> for the NAT in front of us. Data goes as ChannelData on a
/// bound channel, else as Send indications; ChannelData and Data indications from the server are handed to
/// the mux (DTLS to its DTLS view) as coming from the peer's <see cref="TurnPeerEndPoint"/>.
/// </para>
/// <para>
/// The server relays whatever it is given: Pinhole runs DTLS end to end inside, so it sees ciphertext only.
/// Disposing deletes the allocation (Refresh with LIFETIME 0).
/// </para>
/// </summary>
public sealed partial class TurnAllocation : IAsyncDisposable
{
    private const int StateActive = 0, StateLost = 1, StateDisposed = 2;

    private readonly UdpMux _mux;
    private readonly TurnClientOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<IPEndPoint, TurnPeerEndPoint> _peers = new();
    private readonly CancellationTokenSource _stop = new();
    private IDisposable? _stunRegistration;
    private IDisposable? _channelRegistration;
    private TurnDataHandler? _dataHandler;
    private long _sent, _received, _dropped;
    private int _state;

    private TurnAllocation(UdpMux mux, TurnClientOptions options)
    {
        _mux = mux;
        _options = options;
        _time = options.TimeProvider;
        _logger = options.LoggerFactory?.CreateLogger<TurnAllocation>() ?? (ILogger)NullLogger.Instance;
        Server = Normalize(options.Server!);
    }

    /// <summary>Raised once when the allocation is gone (a refresh failed or the server forgot it); not raised on dispose.</summary>
    public event EventHandler<TurnAllocationLostEventArgs>? Lost;

    /// <summary>The TURN server.</summary>
    public IPEndPoint Server { get; }

    /// <summary>The relayed transport address peers send to (XOR-RELAYED-ADDRESS): the relay candidate.</summary>
    public IPEndPoint RelayedAddress { get; private set; } = null!;

    /// <summary>Our address as the server sees it (XOR-MAPPED-ADDRESS), if the server said.</summary>
    public IPEndPoint? MappedAddress { get; private set; }

    /// <summary>The lifetime the server last granted.</summary>
    public TimeSpan Lifetime { get; private set; }

    /// <summary>When the allocation lapses unless refreshed.</summary>
    public DateTimeOffset Expires { get; private set; }

    /// <summary>True until the allocation is lost or disposed.</summary>
    public bool IsActive => Volatile.Read(ref _state) == StateActive;

    /// <summary>The realm the server named.</summary>
    public string? Realm => _auth.Realm;

    /// <summary>Datagrams sent to peers, received from them, and dropped (no permission, unknown channel, malformed, not active).</summary>
    public (long Sent, long Received, long Dropped) Statistics =>
        (Interlocked.Read(ref _sent), Interlocked.Read(ref _received), Interlocked.Read(ref _dropped));

    /// <summary>
    /// Allocates a UDP relay on <see cref="TurnClientOptions.Server"/> through <paramref name="mux"/> (the node's
    /// socket; the server ties the allocation to its 5-tuple).
    /// </summary>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    /// <exception cref="TurnException">The server refused (wrong credentials: <see cref="PeerError.Refused"/>; quota or
    /// capacity: <see cref="PeerError.LimitExceeded"/>) or answered something malformed (<see cref="PeerError.ProtocolViolation"/>).</exception>
    /// <exception cref="PeerException"><see cref="PeerError.Timeout"/> when the server does not answer.</exception>
    public static async Task<TurnAllocation> AllocateAsync(UdpMux mux, TurnClientOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(mux);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var allocation = new TurnAllocation(mux, options);
        allocation._stunRegistration = mux.AddStunHandler(allocation.OnStun);
        allocation._channelRegistration = mux.AddChannelDataSource(allocation.Server, allocation.OnChannelData);
        try
        {
            await allocation.AllocateCoreAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            Volatile.Write(ref allocation._state, StateDisposed);
            allocation.Unregister();
            allocation._stop.Dispose();
            throw;
        }
        allocation.StartTimers();
        return allocation;
    }

    /// <summary>
    /// Takes datagrams from peers before the mux does: return true when handled. Without a handler (or when it
    /// returns false) they go to the mux, which gives DTLS to its DTLS view and STUN to its STUN handlers.
    /// </summary>
    public void SetDataHandler(TurnDataHandler? handler) => Volatile.Write(ref _dataHandler, handler);

    /// <summary>Deletes the allocation on the server (best effort, a few seconds at most) and stops every timer.</summary>
    public async ValueTask DisposeAsync()
    {
        int previous = Interlocked.Exchange(ref _state, StateDisposed);
        if (previous == StateDisposed)
        {
            return;
        }
        StopTimers();
        await _stop.CancelAsync().ConfigureAwait(false);
        if (previous == StateActive)
        {
            using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            try
            {
                await RequestAsync(StunMethod.Refresh, b => b.AddUInt32(StunAttributeType.Lifetime, 0), bound.Token, whileDisposing: true).ConfigureAwait(false);
                TurnLog.Deleted(_logger, Server);
            }
            catch (Exception e) when (e is PeerException or OperationCanceledException or ObjectDisposedException)
            {
                // The server forgets it at expiry anyway.
                TurnLog.MaintenanceFailed(_logger, "delete", Server, e);
            }
        }
        Unregister();
        _stop.Dispose();
    }

    /// <inheritdoc/>
    public override string ToString() => $"TURN allocation {RelayedAddress} on {Server}";

    private void Unregister()
    {
        _stunRegistration?.Dispose();
        _channelRegistration?.Dispose();
    }

    private void MarkLost(string reason)
    {
        if (Interlocked.CompareExchange(ref _state, StateLost, StateActive) != StateActive)
        {
            return;
        }
        StopTimers();
        TurnLog.Lost(_logger, Server, reason);
        Lost?.Invoke(this, new TurnAllocationLostEventArgs(reason));
    }

    private static IPEndPoint Normalize(IPEndPoint endPoint) =>
        endPoint.Address.IsIPv4MappedToIPv6 ? new IPEndPoint(endPoint.Address.MapToIPv4(), endPoint.Port) : endPoint;
}

/// <summary>Takes a datagram a peer sent through the relay; return true when handled (the span is valid only during the call).</summary>
public delegate bool TurnDataHandler(TurnPeerEndPoint peer, ReadOnlySpan<byte> data);

/// <summary>Event data of <see cref="TurnAllocation.Lost"/>.</summary>
public sealed class TurnAllocationLostEventArgs(string reason) : EventArgs
{
    /// <summary>Why, for logs.</summary>
    public string Reason { get; } = reason;
}
