using System.Net;
using Microsoft.Extensions.Logging;
using Pinhole.Nat.Relay.Protocol;

namespace Pinhole.Nat.Relay;

/// <summary>A reservation a <see cref="RelayServer"/> holds.</summary>
/// <param name="Peer">The reserving peer.</param>
/// <param name="Expiration">When it ends unless refreshed.</param>
/// <param name="RemoteAddress">Where the peer's connection comes from.</param>
public sealed record RelayServerReservation(PeerId Peer, DateTimeOffset Expiration, Multiaddr? RemoteAddress);

/// <summary>
/// The relay (hop) role of libp2p circuit relay v2 (libp2p/specs relay/circuit-v2.md): peers reserve a slot and get a
/// signed voucher; other peers CONNECT to a reserved peer, and the relay opens a stop stream to it and pipes the two
/// streams together within the circuit's limits. The relay forwards the peers' end-to-end TLS records; it never sees
/// their plaintext. Feed it every inbound <c>/libp2p/circuit/relay/0.2.0/hop</c> stream with <see cref="HandleHopStreamAsync"/>.
/// </summary>
/// <remarks>
/// A reservation lives while the peer's connection does and until its expiry; one per PeerId (a new RESERVE replaces
/// it). RESERVE or CONNECT over a relayed connection is refused (PERMISSION_DENIED): relays do not chain.
/// Metrics: meter <c>Pinhole.Nat.Relay</c> (reservations and circuits held, requests by status, circuits ended by
/// reason, bytes relayed).
/// </remarks>
public sealed partial class RelayServer : IAsyncDisposable
{
    /// <summary>The hop protocol id.</summary>
    public const string HopProtocolId = HopMessage.ProtocolId;

    /// <summary>The stop protocol id (what the relay opens towards the reserved peer).</summary>
    public const string StopProtocolId = StopMessage.ProtocolId;

    private readonly RelayServerOptions _options;
    private readonly NodeIdentity _identity;
    private readonly ILogger _logger;
    private readonly RelayMetrics _metrics;
    private readonly Lock _lock = new();
    private readonly Dictionary<PeerId, Reservation> _reservations = [];
    private readonly Dictionary<PeerId, int> _circuitsPerPeer = [];
    private readonly HashSet<Task> _circuitTasks = [];
    private readonly CancellationTokenSource _shutdown = new();
    private int _circuits;
    private int _disposed;

    /// <summary>Creates a relay; nothing listens until streams are handed to <see cref="HandleHopStreamAsync"/>.</summary>
    public RelayServer(RelayServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _identity = options.Identity!;
        _logger = options.LoggerFactory.CreateLogger<RelayServer>();
        _metrics = new RelayMetrics(options.MeterFactory, () => ReservationCount, () => CircuitCount);
    }

    /// <summary>The relay's PeerId.</summary>
    public PeerId LocalPeer => _identity.PeerId;

    /// <summary>Live reservations (expired ones and those whose connection closed are not counted).</summary>
    public int ReservationCount
    {
        get
        {
            var now = _options.TimeProvider.GetUtcNow();
            lock (_lock)
            {
                return _reservations.Values.Count(r => r.IsLive(now));
            }
        }
    }

    /// <summary>Sees every chunk a circuit forwards (true: initiator to target), for tests that check what a relay can read.</summary>
    internal Action<bool, ReadOnlyMemory<byte>>? CircuitTap { get; set; }

    /// <summary>Circuits open now.</summary>
    public int CircuitCount => Volatile.Read(ref _circuits);

    /// <summary>A snapshot of the live reservations.</summary>
    public IReadOnlyList<RelayServerReservation> GetReservations()
    {
        var now = _options.TimeProvider.GetUtcNow();
        lock (_lock)
        {
            return [.. _reservations.Values.Where(r => r.IsLive(now)).Select(r => new RelayServerReservation(r.Peer, r.Expires, r.Connection.RemoteAddress))];
        }
    }

    /// <summary>
    /// Serves one inbound hop stream: a RESERVE (answered, then the stream closes) or a CONNECT (answered; on OK the
    /// stream becomes one end of a circuit). Completes when the stream's work is over — for a circuit, when the circuit
    /// ends (a limit, either side closing, the relay disposed) — so a host may dispose the stream on return and count the
    /// handler as running while the circuit lives. <paramref name="cancellationToken"/> bounds the hop exchange only.
    /// Never throws for the peer's misbehaviour: bad requests get a status (MALFORMED_MESSAGE, ...) and the stream ends.
    /// </summary>
    public async Task HandleHopStreamAsync(PeerConnection connection, PeerStream stream, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(stream);
        if (Volatile.Read(ref _disposed) != 0)
        {
            stream.Abort();
            await stream.DisposeAsync().ConfigureAwait(false);
            return;
        }
        using var timeout = new CancellationTokenSource(_options.HopTimeout, _options.TimeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken, _shutdown.Token);
        var token = linked.Token;
        Task? circuit = null;
        try
        {
            HopMessage request;
            try
            {
                var body = await DelimitedMessage.ReadAsync(stream, "hop", token).ConfigureAwait(false);
                if (body is null)
                {
                    return;
                }
                request = HopMessage.Parse(body);
            }
            catch (Exception e) when (e is FormatException || e is PeerException { Error: PeerError.ProtocolViolation })
            {
                RelayLog.HopFailed(_logger, connection.RemotePeer, e.Message);
                await RespondAsync(stream, RelayStatus.MalformedMessage, token: token).ConfigureAwait(false);
                return;
            }
            switch (request.Type)
            {
                case HopMessageType.Reserve:
                    await ReserveAsync(connection, stream, token).ConfigureAwait(false);
                    break;
                case HopMessageType.Connect:
                    circuit = await ConnectAsync(connection, stream, request, token).ConfigureAwait(false);
                    break;
                default:
                    RelayLog.Refused(_logger, "hop request of unknown type", connection.RemotePeer, RelayStatus.UnexpectedMessage);
                    await RespondAsync(stream, RelayStatus.UnexpectedMessage, token: token).ConfigureAwait(false);
                    break;
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
            RelayLog.HopFailed(_logger, connection.RemotePeer, e is OperationCanceledException ? "timed out" : e.Message);
            stream.Abort();
        }
        finally
        {
            if (circuit is null)
            {
                await stream.DisposeAsync().ConfigureAwait(false);
            }
        }
        if (circuit is not null)
        {
            await circuit.ConfigureAwait(false);
        }
    }

    private static async Task RespondAsync(PeerStream stream, RelayStatus status, ReservationInfo? reservation = null, LimitInfo? limit = null, CancellationToken token = default)
    {
        var message = new HopMessage(HopMessageType.Status, Reservation: reservation, Limit: limit, Status: status);
        await DelimitedMessage.WriteAsync(stream, message.Encode(), token).ConfigureAwait(false);
        if (status != RelayStatus.Ok || reservation is not null)
        {
            stream.CompleteWrites();
        }
    }

    /// <summary>A connection that is itself relayed: reservations and circuits over it are refused.</summary>
    private static bool IsRelayed(PeerConnection connection)
        => connection.Netlayer == RelayClient.Netlayer
            || (connection.RemoteAddress is { } remote && CircuitAddress.IsCircuit(remote))
            || (connection.LocalAddress is { } local && CircuitAddress.IsCircuit(local));

    private static IPAddress? AddressOf(PeerConnection connection)
        => connection.RemoteAddress is { } remote && remote.TryGetIPEndPoint(out var endPoint, out _) ? endPoint.Address : null;

    /// <summary>Stops relaying: every circuit is reset, reservations are dropped.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        await _shutdown.CancelAsync().ConfigureAwait(false);
        Task[] running;
        lock (_lock)
        {
            running = [.. _circuitTasks];
            _reservations.Clear();
        }
        await Task.WhenAll(running).ConfigureAwait(false);
        _metrics.Dispose();
        // _shutdown is not disposed: a handler racing with disposal may still link to its (cancelled) token.
    }

    private sealed class Reservation(PeerId peer, PeerConnection connection, DateTimeOffset expires, IPAddress? address)
    {
        public PeerId Peer { get; } = peer;
        public PeerConnection Connection { get; } = connection;
        public DateTimeOffset Expires { get; } = expires;
        public IPAddress? Address { get; } = address;

        public bool IsLive(DateTimeOffset now) => Expires > now && !Connection.Completion.IsCompleted;
    }
}
