using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Pinhole.Nat.Dcutr;
using Pinhole.Nat.Relay;

namespace Pinhole.Node;

/// <summary>
/// The node's relay part (added by <see cref="NodeRelayExtensions.UseRelays"/>): keeps a connection to each configured
/// relay, learns from identify how the relay sees us, reserves a slot when we are not publicly reachable (the
/// reservation's circuit address is advertised), accepts relayed connections into the connection manager, dials
/// <c>/p2p-circuit</c> addresses, optionally serves as a relay, and upgrades relayed connections with DCUtR. Streams
/// follow libp2p's policy: the manager prefers the direct connection for new streams and closes the relayed one once
/// it is idle (its open streams finish first).
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The node stops its services: StopAsync disposes the client and server; the stop source has no timer.")]
public sealed partial class NodeRelayService : INodeService, IPeerDialer, INodeAddressSource
{
    private const int MaxObserved = 8;
    private const int MaxHistory = 16;

    private readonly NodeRelayOptions _options;
    private readonly Lock _lock = new();
    private readonly List<Multiaddr> _observed = [];
    private readonly Dictionary<PeerId, RelayState> _relays = [];
    private readonly Queue<DirectConnectionResult> _history = new();
    private readonly List<Task> _loops = [];
    private readonly CancellationTokenSource _stop = new();
    private PinholeNode? _node;
    private RelayClient? _client;
    private RelayServer? _server;
    private DcutrService? _dcutr;
    private ILogger _logger = Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
    private int _punchesTried;
    private int _punchesSucceeded;

    internal NodeRelayService(NodeRelayOptions options) => _options = options;

    /// <inheritdoc/>
    public string Name => "relay";

    /// <summary>The relay client (reservations, circuit addresses) once the service runs.</summary>
    public RelayClient? Client => _client;

    /// <summary>The relay server when <see cref="NodeRelayOptions.ServeRelay"/> is set and the service runs.</summary>
    public RelayServer? Server => _server;

    /// <summary>The last DCUtR outcomes, oldest first (at most 16).</summary>
    public IReadOnlyList<DirectConnectionResult> RecentPunches
    {
        get
        {
            lock (_lock)
            {
                return [.. _history];
            }
        }
    }

    /// <summary>Raised after every DCUtR exchange this node took part in (either role), successful or not.</summary>
    public event EventHandler<DirectConnectionEventArgs>? PunchCompleted;

    /// <summary>Whether a relay saw us at an address of our own (null until a relay answered identify).</summary>
    public bool? PubliclyReachable { get; private set; }

    /// <inheritdoc/>
    public ConnectionPathKind PathKind => ConnectionPathKind.Relayed;

    /// <inheritdoc/>
    public Task StartAsync(PinholeNode node, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(node);
        _node = node;
        _logger = node.Options.LoggerFactory.CreateLogger<NodeRelayService>();
        var transport = node.Options.Transport;
        var connectionOptions = new PeerConnectionOptions
        {
            Identity = node.Identity,
            Protocols = [.. node.Protocols],
            // DCUtR must run there (it is how the pair leaves the relay); the rest only by the node's opt-in.
            LimitedConnectionProtocols = [DcutrService.ProtocolId, .. node.LimitedConnectionProtocols],
            HandshakeTimeout = transport.HandshakeTimeout,
            KeepAliveInterval = transport.KeepAliveInterval,
            MaxStreamsPerConnection = transport.MaxStreamsPerConnection,
            // The connection manager closes idle connections.
            IdleTimeout = TimeSpan.Zero,
            TimeProvider = node.Options.TimeProvider,
            LoggerFactory = node.Options.LoggerFactory,
        };
        _client = new RelayClient(new RelayClientOptions { ConnectionOptions = connectionOptions, ListenAddresses = node.GetDialableAddresses });
        if (_options.ServeRelay)
        {
            var server = new RelayServerOptions
            {
                Identity = node.Identity,
                PublicAddresses = () => [.. node.GetDialableAddresses().Where(a => !CircuitAddress.IsCircuit(a) && a.TryGetIPEndPoint(out _, out var t) && t == "tcp")],
                TimeProvider = node.Options.TimeProvider,
                LoggerFactory = node.Options.LoggerFactory,
                MeterFactory = node.Options.MeterFactory,
            };
            _options.ConfigureServer?.Invoke(server);
            _server = new RelayServer(server);
        }
        if (_options.HolePunching && ListenEndPoint(node) is { } listen)
        {
            _dcutr = new DcutrService(new DcutrOptions
            {
                ConnectionOptions = connectionOptions,
                LocalEndPoint = listen,
                Addresses = () => DcutrService.PredictAddresses(Observed(), listen.Port),
                ObservedAddresses = Observed,
                Attempts = _options.PunchAttempts,
                AttemptTimeout = _options.PunchTimeout,
                SocketFactory = node.Options.Transport.OutboundSocketFactory,
            });
        }
        _loops.Add(Task.Run(AcceptLoopAsync, CancellationToken.None));
        foreach (var relay in _options.Relays)
        {
            var state = new RelayState(PeerAddress.FromMultiaddr(relay).PeerId!);
            lock (_lock)
            {
                _relays[state.Relay] = state;
            }
            _loops.Add(Task.Run(() => MaintainAsync(relay, state), CancellationToken.None));
        }
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_client is not null)
        {
            await _client.DisposeAsync().ConfigureAwait(false);
        }
        if (_server is not null)
        {
            await _server.DisposeAsync().ConfigureAwait(false);
        }
        await Task.WhenAll(_loops).WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    /// <summary>The circuit addresses of the live reservations, ending in <c>/p2p/&lt;this node&gt;</c>.</summary>
    public IReadOnlyList<Multiaddr> GetAddresses()
    {
        if (_client is not { } client || _node is not { } node)
        {
            return [];
        }
        return [.. client.CircuitAddresses.Select(c => c.WithDestination(node.LocalPeer).ToMultiaddr()).Distinct()];
    }

    /// <inheritdoc/>
    public bool CanDial(Multiaddr address) => CircuitAddress.IsCircuit(address);

    /// <summary>Dials <paramref name="peer"/> through the relay the address names (connecting to the relay first if needed).</summary>
    public async ValueTask<PeerConnection> DialAsync(PeerId peer, Multiaddr address, PeerConnectOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(peer);
        ArgumentNullException.ThrowIfNull(address);
        if (_client is not { } client || _node is not { } node)
        {
            throw new PeerException(PeerError.Unreachable, $"Cannot dial {address}: the relay service is not running.");
        }
        if (!CircuitAddress.TryParse(address, out var circuit))
        {
            throw new PeerException(PeerError.Unreachable, $"'{address}' is not a circuit address (/…/p2p/<relay>/p2p-circuit).");
        }
        if (circuit.Relay.Equals(peer) || circuit.Relay.Equals(node.LocalPeer))
        {
            throw new PeerException(PeerError.Unreachable, $"'{address}' relays through {circuit.Relay}, which is the peer itself or this node.");
        }
        var relay = await node.Connections.ConnectAsync(circuit.RelayPeerAddress, cancellationToken: cancellationToken).ConfigureAwait(false);
        return await client.ConnectAsync(relay, peer, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public JsonObject? GetStatus()
    {
        var relays = new JsonArray();
        lock (_lock)
        {
            foreach (var state in _relays.Values)
            {
                relays.Add(new JsonObject
                {
                    ["relay"] = state.Relay.ToString(),
                    ["state"] = state.State,
                    ["observed"] = state.Observed?.ToString(),
                    ["reservationExpires"] = state.Reservation?.Expiration.ToString("O"),
                    ["error"] = state.Error,
                });
            }
        }
        var punches = new JsonArray();
        foreach (var result in RecentPunches)
        {
            punches.Add(new JsonObject
            {
                ["peer"] = result.RemotePeer.ToString(),
                ["direct"] = result.Succeeded,
                ["dialedDirectly"] = result.DialedDirectly,
                ["attempts"] = result.Attempts,
                ["failure"] = result.Failure.ToString(),
                ["reason"] = result.Reason,
                ["elapsedMs"] = Math.Round(result.Elapsed.TotalMilliseconds),
            });
        }
        var status = new JsonObject
        {
            ["publiclyReachable"] = PubliclyReachable,
            ["observedAddresses"] = new JsonArray([.. Observed().Select(a => (JsonNode)a.ToString())]),
            ["circuitAddresses"] = new JsonArray([.. GetAddresses().Select(a => (JsonNode)a.ToString())]),
            ["relays"] = relays,
            ["holePunching"] = _dcutr is not null,
            ["punchesTried"] = Volatile.Read(ref _punchesTried),
            ["punchesSucceeded"] = Volatile.Read(ref _punchesSucceeded),
            ["recentPunches"] = punches,
        };
        if (_server is { } server)
        {
            status["server"] = new JsonObject { ["reservations"] = server.ReservationCount, ["circuits"] = server.CircuitCount };
        }
        return status;
    }

    internal Task HandleStopAsync(PeerConnection connection, PeerStream stream, CancellationToken cancellationToken)
    {
        if (_client is not { } client)
        {
            stream.Abort();
            return stream.DisposeAsync().AsTask();
        }
        return client.HandleStopStreamAsync(connection, stream, cancellationToken);
    }

    internal Task HandleHopAsync(PeerConnection connection, PeerStream stream, CancellationToken cancellationToken)
    {
        if (_server is not { } server)
        {
            stream.Abort();
            return stream.DisposeAsync().AsTask();
        }
        return server.HandleHopStreamAsync(connection, stream, cancellationToken);
    }

    internal async Task HandleDcutrAsync(PeerConnection connection, PeerStream stream, CancellationToken cancellationToken)
    {
        if (_dcutr is not { } dcutr)
        {
            stream.Abort();
            await stream.DisposeAsync().ConfigureAwait(false);
            return;
        }
        Interlocked.Increment(ref _punchesTried);
        Completed(await dcutr.HandleStreamAsync(connection, stream, cancellationToken).ConfigureAwait(false));
    }

    private List<Multiaddr> Observed()
    {
        lock (_lock)
        {
            return [.. _observed];
        }
    }

    private static IPEndPoint? ListenEndPoint(PinholeNode node)
    {
        foreach (var address in node.ListenAddresses)
        {
            if (address.TryGetIPEndPoint(out var endPoint, out var transport) && transport == "tcp")
            {
                return endPoint;
            }
        }
        return null;
    }

    private sealed class RelayState(PeerId relay)
    {
        public PeerId Relay { get; } = relay;

        public string State { get; set; } = "connecting";

        public Multiaddr? Observed { get; set; }

        public RelayReservation? Reservation { get; set; }

        public string? Error { get; set; }
    }
}
