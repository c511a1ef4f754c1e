using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Pinhole.Nat.Relay.Protocol;

namespace Pinhole.Nat.Relay;

/// <summary>
/// The client side of libp2p circuit relay v2: reserves slots on relays (<see cref="ReserveAsync"/>, refreshed before
/// they expire), accepts the circuits relays open to us (feed inbound <c>/libp2p/circuit/relay/0.2.0/stop</c> streams to
/// <see cref="HandleStopStreamAsync"/>, take the connections from <see cref="AcceptAsync"/>), and dials peers through a
/// relay (<see cref="ConnectAsync(PeerConnection, PeerId, CancellationToken)"/>). Every relayed connection is upgraded
/// end to end exactly as TCP is (multistream /tls/1.0.0, TLS 1.3, yamux), so the relay forwards ciphertext only. The
/// initiator of a circuit is the TLS client; the peer it reaches is the server.
/// </summary>
public sealed partial class RelayClient : IAsyncDisposable
{
    /// <summary>The netlayer name of relayed connections (<see cref="PeerConnection.Netlayer"/>).</summary>
    public const string Netlayer = "relay";

    /// <summary>The hop protocol id (what we open towards a relay).</summary>
    public const string HopProtocolId = HopMessage.ProtocolId;

    /// <summary>The stop protocol id (what relays open towards us).</summary>
    public const string StopProtocolId = StopMessage.ProtocolId;

    private readonly RelayClientOptions _options;
    private readonly PeerConnectionOptions _connectionOptions;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Channel<PeerConnection> _accepted;
    private readonly Lock _lock = new();
    private readonly Dictionary<PeerId, RelayReservation> _reservations = [];
    private readonly CancellationTokenSource _shutdown = new();
    private readonly List<Task> _refreshLoops = [];
    private int _pendingAccepts;
    private int _disposed;

    /// <summary>Creates a client.</summary>
    public RelayClient(RelayClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _connectionOptions = options.ConnectionOptions!;
        _time = _connectionOptions.TimeProvider;
        _logger = _connectionOptions.LoggerFactory.CreateLogger<RelayClient>();
        _accepted = Channel.CreateUnbounded<PeerConnection>(new UnboundedChannelOptions { SingleReader = false, SingleWriter = false });
    }

    /// <summary>This node.</summary>
    public PeerId LocalPeer => _connectionOptions.Identity!.PeerId;

    /// <summary>The reservations held now.</summary>
    public IReadOnlyList<RelayReservation> Reservations
    {
        get
        {
            var now = _time.GetUtcNow();
            lock (_lock)
            {
                return [.. _reservations.Values.Where(r => r.IsLive(now))];
            }
        }
    }

    /// <summary>Every circuit address of the live reservations (what to advertise).</summary>
    public IReadOnlyList<CircuitAddress> CircuitAddresses => [.. Reservations.SelectMany(r => r.Addresses)];

    /// <summary>Waits for the next relayed connection a peer opened to us (already upgraded and authenticated).</summary>
    /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
    public async ValueTask<PeerConnection> AcceptAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            var connection = await _accepted.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            Interlocked.Decrement(ref _pendingAccepts);
            return connection;
        }
        catch (ChannelClosedException e)
        {
            throw new ObjectDisposedException(nameof(RelayClient), e);
        }
    }

    private static CircuitAddress CircuitTo(PeerConnection relay, PeerId destination)
    {
        var relayAddress = relay.RemoteAddress is { } remote && !CircuitAddress.IsCircuit(remote)
            ? remote.DecapsulateCode(0x01a5).Encapsulate(relay.RemotePeer)
            : Multiaddr.Empty.Encapsulate(relay.RemotePeer);
        return CircuitAddress.Create(relayAddress, destination);
    }

    private PeerUpgradeOptions UpgradeInfo(PeerConnection relay, PeerId remote, ConnectionLimit? limit) => new()
    {
        Netlayer = Netlayer,
        RemoteAddress = CircuitTo(relay, remote).ToMultiaddr(),
        LocalAddress = CircuitTo(relay, LocalPeer).ToMultiaddr(),
        Limit = limit,
        ListenAddresses = _options.ListenAddresses,
    };

    internal static PeerError ErrorFor(RelayStatus status) => status switch
    {
        RelayStatus.NoReservation or RelayStatus.ConnectionFailed => PeerError.Unreachable,
        RelayStatus.ResourceLimitExceeded => PeerError.LimitExceeded,
        RelayStatus.PermissionDenied or RelayStatus.ReservationRefused => PeerError.Refused,
        _ => PeerError.ProtocolViolation,
    };

    /// <summary>Stops refreshing reservations and closes relayed connections not yet accepted.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        await _shutdown.CancelAsync().ConfigureAwait(false);
        RelayReservation[] reservations;
        Task[] loops;
        lock (_lock)
        {
            reservations = [.. _reservations.Values];
            _reservations.Clear();
            loops = [.. _refreshLoops];
        }
        foreach (var reservation in reservations)
        {
            await reservation.CancelAsync().ConfigureAwait(false);
        }
        await Task.WhenAll(loops).ConfigureAwait(false);
        _accepted.Writer.TryComplete();
        while (_accepted.Reader.TryRead(out var pending))
        {
            await pending.DisposeAsync().ConfigureAwait(false);
        }
        // _shutdown is not disposed: a handler racing with disposal may still link to its (cancelled) token.
    }
}
