using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Pinhole.Ocapn;

namespace Pinhole.Node;

/// <summary>
/// The node: the one composition root that owns the identity's listeners (TCP with the libp2p stack, UDP
/// with DTLS on the same port number, optionally the Goblins tcp-tls netlayer), the peer store, the
/// connection manager, the API sockets, the local REST API and the hosted services that other layers plug in
/// (docs/node.md). Build it with <see cref="CreateBuilder"/>, then <see cref="StartAsync"/> /
/// <see cref="StopAsync"/>.
/// </summary>
public sealed partial class PinholeNode : IAsyncDisposable
{
    private readonly NodeParts _parts;
    private readonly ILogger _logger;
    private readonly IPeerDialer[] _dialers;
    private readonly Lock _stateLock = new();
    private PeerStore? _store;
    private NodeState _state;

    internal PinholeNode(PinholeNodeOptions options, NodeParts parts)
    {
        Options = options;
        _parts = parts;
        Identity = options.Identity!;
        LocalPeer = Identity.PeerId;
        _logger = options.LoggerFactory.CreateLogger<PinholeNode>();
        _dialers = [.. parts.Dialers, new TcpPeerDialer()];
        Protocols = [.. parts.Handlers.Keys.Order(StringComparer.Ordinal)];
        LimitedConnectionProtocols = parts.LimitedConnectionProtocols;
        Events = new NodeEvents();
        Connections = new NodeConnections(this);
        Sockets = new NodeSockets(this);
        Metrics = new NodeMetrics(options.MeterFactory, () => Connections.List(), () => _store?.Count ?? 0);
    }

    /// <summary>Starts assembling a node from <paramref name="options"/>.</summary>
    public static PinholeNodeBuilder CreateBuilder(PinholeNodeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new PinholeNodeBuilder(options);
    }

    /// <summary>The options the node was built with (do not change them after <see cref="PinholeNodeBuilder.Build"/>).</summary>
    public PinholeNodeOptions Options { get; }

    /// <summary>The node's identity.</summary>
    public NodeIdentity Identity { get; }

    /// <summary>This node's PeerId.</summary>
    public PeerId LocalPeer { get; }

    /// <summary>Where the node is in its life.</summary>
    public NodeState State
    {
        get { lock (_stateLock) { return _state; } }
    }

    /// <summary>When <see cref="StartAsync"/> finished, or null.</summary>
    public DateTimeOffset? StartedAt { get; private set; }

    /// <summary>Time since the start (zero before it).</summary>
    public TimeSpan Uptime => StartedAt is { } started ? Options.TimeProvider.GetUtcNow() - started : TimeSpan.Zero;

    /// <summary>The application protocols registered with <see cref="PinholeNodeBuilder.Handle"/>.</summary>
    public IReadOnlyList<string> Protocols { get; }

    /// <summary>
    /// Protocols allowed on limited (circuit-relay-v2) connections besides DCUtR, from
    /// <see cref="PinholeNodeBuilder.AllowOnLimitedConnections"/>.
    /// </summary>
    public IReadOnlyList<string> LimitedConnectionProtocols { get; }

    /// <summary>The peer store (open while the node runs).</summary>
    public PeerStore Peers => _store ?? throw new InvalidOperationException("The node has not started: its peer store is not open.");

    /// <summary>The connection manager.</summary>
    public NodeConnections Connections { get; }

    /// <summary>UDP sockets created for the control plane (the seed's sockets API).</summary>
    public NodeSockets Sockets { get; }

    /// <summary>The event bus (connected, disconnected, path changed, ...).</summary>
    public NodeEvents Events { get; }

    /// <summary>The hosted services, in start order.</summary>
    public IReadOnlyList<INodeService> Services => _parts.Services;

    /// <summary>The first service of type <typeparamref name="T"/>, or null.</summary>
    public T? GetService<T>() where T : class, INodeService => _parts.Services.OfType<T>().FirstOrDefault();

    /// <summary>The OCapN node (its designator and certificate) when the tcp-tls netlayer is enabled and the node runs.</summary>
    public OcapnNode? Ocapn { get; private set; }

    /// <summary>The node's <c>ocapn://…tcp-tls</c> locator when that netlayer listens, else null.</summary>
    public OcapnLocator? OcapnLocator => _ocapnListener?.Locator;

    /// <summary>The local API's socket path when the API runs, else null.</summary>
    public string? ApiSocketPath => _api?.SocketPath;

    /// <summary>The status page's address when it is served (without the login key), else null.</summary>
    public Uri? WebUri => _api?.WebUri;

    /// <summary>A link that logs a browser into the status page (it carries the API key: keep it private), else null.</summary>
    public Uri? WebLoginUri => _api?.WebLoginUri;

    internal NodeMetrics Metrics { get; }

    internal IReadOnlyList<(string Method, string Route)> ApiRoutes() => _api?.Routes() ?? [];

    internal IReadOnlyDictionary<string, PeerStreamHandler> Handlers => _parts.Handlers;

    internal NodeParts Parts => _parts;

    internal ILogger Logger => _logger;

    /// <summary>Dial options for <paramref name="remote"/> with the node's identity, protocols, limits and clock.</summary>
    public PeerConnectOptions CreateConnectOptions(PeerAddress remote)
    {
        ArgumentNullException.ThrowIfNull(remote);
        var transport = Options.Transport;
        return new PeerConnectOptions
        {
            Identity = Identity,
            Remote = remote,
            Protocols = [.. Protocols],
            HandshakeTimeout = transport.HandshakeTimeout,
            KeepAliveInterval = transport.KeepAliveInterval,
            MaxStreamsPerConnection = transport.MaxStreamsPerConnection,
            // The connection manager closes idle connections itself (it spares keep-connected peers).
            IdleTimeout = TimeSpan.Zero,
            AdvertisedAddresses = GetDialableAddresses,
            TimeProvider = Options.TimeProvider,
            LoggerFactory = Options.LoggerFactory,
            SocketFactory = transport.OutboundSocketFactory,
        };
    }

    internal IPeerDialer? FindDialer(Multiaddr address) => _dialers.FirstOrDefault(d => d.CanDial(address));

    /// <summary>A snapshot of the node for <c>GET /v1/status</c>.</summary>
    public NodeStatus GetStatus()
    {
        var services = new JsonObject();
        foreach (var service in _parts.Services)
        {
            JsonObject? status;
            try
            {
                status = service.GetStatus();
            }
            catch (Exception e) when (e is InvalidOperationException or IOException or ObjectDisposedException)
            {
                status = new JsonObject { ["error"] = e.Message };
            }
            services[service.Name] = status;
        }
        return new NodeStatus(
            LocalPeer,
            State,
            StartedAt,
            Uptime,
            ListenAddresses,
            State == NodeState.Running ? GetDialableAddresses() : [],
            OcapnLocator?.ToString(),
            Protocols,
            _store?.Count ?? 0,
            Connections.ConnectedPeerCount,
            Connections.Count,
            Sockets.Count,
            ApiSocketPath,
            WebUri?.ToString(),
            services);
    }
}

/// <summary>The life of a <see cref="PinholeNode"/>.</summary>
public enum NodeState
{
    /// <summary>Built, not started.</summary>
    Created,
    /// <summary><see cref="PinholeNode.StartAsync"/> is running.</summary>
    Starting,
    /// <summary>Listening and serving.</summary>
    Running,
    /// <summary><see cref="PinholeNode.StopAsync"/> is draining.</summary>
    Stopping,
    /// <summary>Stopped (or its start failed); it cannot start again.</summary>
    Stopped,
}

/// <summary>A snapshot of the node.</summary>
/// <param name="PeerId">This node.</param>
/// <param name="State">Running, stopping, ...</param>
/// <param name="StartedAt">When it started.</param>
/// <param name="Uptime">Time since the start.</param>
/// <param name="ListenAddresses">Bound sockets (wildcards stay wildcards).</param>
/// <param name="Addresses">Addresses peers can dial, each ending in <c>/p2p/&lt;id&gt;</c>.</param>
/// <param name="OcapnLocator">The tcp-tls locator, or null.</param>
/// <param name="Protocols">Registered application protocols.</param>
/// <param name="KnownPeers">Peers in the store.</param>
/// <param name="ConnectedPeers">Peers with a connection in use.</param>
/// <param name="Connections">Connections held (in use and draining).</param>
/// <param name="Sockets">API sockets.</param>
/// <param name="ApiSocket">The local API socket, or null.</param>
/// <param name="WebUrl">The status page, or null.</param>
/// <param name="Services">Each hosted service's status, by name.</param>
public sealed record NodeStatus(
    PeerId PeerId,
    NodeState State,
    DateTimeOffset? StartedAt,
    TimeSpan Uptime,
    IReadOnlyList<Multiaddr> ListenAddresses,
    IReadOnlyList<Multiaddr> Addresses,
    string? OcapnLocator,
    IReadOnlyList<string> Protocols,
    int KnownPeers,
    int ConnectedPeers,
    int Connections,
    int Sockets,
    string? ApiSocket,
    string? WebUrl,
    JsonObject Services);
