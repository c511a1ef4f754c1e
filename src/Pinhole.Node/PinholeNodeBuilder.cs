using Microsoft.AspNetCore.Routing;

namespace Pinhole.Node;

/// <summary>
/// Assembles a <see cref="PinholeNode"/>: its options plus the parts other layers plug in (protocol handlers,
/// services, dialers, a datagram layer, API routes). <see cref="Build"/> validates everything and returns a
/// node that has not started; nothing is bound before <see cref="PinholeNode.StartAsync"/>.
/// </summary>
public sealed class PinholeNodeBuilder
{
    private readonly Dictionary<string, PeerStreamHandler> _handlers = new(StringComparer.Ordinal);
    private readonly List<INodeService> _services = [];
    private readonly HashSet<string> _limited = new(StringComparer.Ordinal);
    private readonly List<IPeerDialer> _dialers = [];
    private readonly List<Action<IEndpointRouteBuilder>> _routes = [];
    private INodeDatagramLayerFactory? _datagramLayer;
    private DatagramSessionHandler? _datagramHandler;
    private OcapnConnectionHandler? _ocapnHandler;
    private bool _built;

    internal PinholeNodeBuilder(PinholeNodeOptions options) => Options = options;

    /// <summary>The options the node will be built with (still editable until <see cref="Build"/>).</summary>
    public PinholeNodeOptions Options { get; }

    /// <summary>
    /// Serves inbound streams of <paramref name="protocol"/> (e.g. <c>/chat/1.0.0</c>) on every connection. The
    /// protocol set is advertised in identify and fixed when the node is built. Ping and identify are built in.
    /// </summary>
    public PinholeNodeBuilder Handle(string protocol, PeerStreamHandler handler)
    {
        ThrowIfBuilt();
        ArgumentNullException.ThrowIfNull(handler);
        if (string.IsNullOrEmpty(protocol) || protocol.Length > 1000 || protocol.Contains('\n', StringComparison.Ordinal) || protocol[0] != '/')
        {
            throw new ArgumentException($"Invalid protocol id '{protocol}': it starts with '/', has at most 1000 characters and no newline.", nameof(protocol));
        }
        if (protocol is Protocols.PingProtocol.ProtocolId or Protocols.IdentifyProtocol.ProtocolId)
        {
            throw new ArgumentException($"{protocol} is served by the node itself.", nameof(protocol));
        }
        if (!_handlers.TryAdd(protocol, handler))
        {
            throw new ArgumentException($"A handler for {protocol} is already registered.", nameof(protocol));
        }
        return this;
    }

    /// <summary>
    /// Lets <paramref name="protocol"/> run on limited connections (a circuit-relay-v2 circuit whose relay announced a
    /// duration or data limit, <see cref="PeerConnection.IsLimited"/>), both ways: served when the peer opens it, and
    /// opened by this node. Other protocols are refused there (js-libp2p's <c>runOnLimitedConnection</c>, go-libp2p's
    /// <c>WithAllowLimitedConn</c>). For protocols that can live within the relay's limit or fall back when it cuts the
    /// circuit; DCUtR is always allowed.
    /// </summary>
    public PinholeNodeBuilder AllowOnLimitedConnections(string protocol)
    {
        ThrowIfBuilt();
        if (string.IsNullOrEmpty(protocol) || protocol.Length > 1000 || protocol.Contains('\n', StringComparison.Ordinal) || protocol[0] != '/')
        {
            throw new ArgumentException($"Invalid protocol id '{protocol}': it starts with '/', has at most 1000 characters and no newline.", nameof(protocol));
        }
        _limited.Add(protocol);
        return this;
    }

    /// <summary>Serves inbound DTLS sessions on the node's UDP port (one handler: the VPN's data plane, typically).</summary>
    public PinholeNodeBuilder HandleDatagrams(DatagramSessionHandler handler)
    {
        ThrowIfBuilt();
        ArgumentNullException.ThrowIfNull(handler);
        if (_datagramHandler is not null)
        {
            throw new InvalidOperationException("A datagram session handler is already registered.");
        }
        _datagramHandler = handler;
        return this;
    }

    /// <summary>Serves inbound connections on the tcp-tls netlayer (<see cref="PinholeNodeOptions.EnableOcapn"/>). Without a handler they are accepted and closed.</summary>
    public PinholeNodeBuilder HandleOcapn(OcapnConnectionHandler handler)
    {
        ThrowIfBuilt();
        ArgumentNullException.ThrowIfNull(handler);
        if (_ocapnHandler is not null)
        {
            throw new InvalidOperationException("A tcp-tls connection handler is already registered.");
        }
        _ocapnHandler = handler;
        return this;
    }

    /// <summary>Adds a hosted part (started after the transports, stopped before them, in reverse order).</summary>
    public PinholeNodeBuilder AddService(INodeService service)
    {
        ThrowIfBuilt();
        ArgumentNullException.ThrowIfNull(service);
        if (string.IsNullOrWhiteSpace(service.Name) || _services.Any(s => s.Name == service.Name))
        {
            throw new ArgumentException($"A node service needs a unique, non-empty name ('{service.Name}').", nameof(service));
        }
        _services.Add(service);
        return this;
    }

    /// <summary>Adds a dialer for addresses the built-in TCP dialer does not handle (relays, ...); tried before it.</summary>
    public PinholeNodeBuilder AddDialer(IPeerDialer dialer)
    {
        ThrowIfBuilt();
        ArgumentNullException.ThrowIfNull(dialer);
        _dialers.Add(dialer);
        return this;
    }

    /// <summary>Puts a layer (a STUN/DTLS demultiplexer) between each UDP socket of the node and its DTLS endpoint.</summary>
    public PinholeNodeBuilder UseDatagramLayer(INodeDatagramLayerFactory factory)
    {
        ThrowIfBuilt();
        ArgumentNullException.ThrowIfNull(factory);
        if (_datagramLayer is not null)
        {
            throw new InvalidOperationException("A datagram layer is already set.");
        }
        _datagramLayer = factory;
        return this;
    }

    /// <summary>
    /// Adds routes to the local API (e.g. <c>/v1/vpn/...</c>); they get the same caller checks, problem details
    /// and OpenAPI document as the node's own. Keep them under <c>/v1/&lt;service&gt;/</c>.
    /// </summary>
    public PinholeNodeBuilder MapApi(Action<IEndpointRouteBuilder> routes)
    {
        ThrowIfBuilt();
        ArgumentNullException.ThrowIfNull(routes);
        _routes.Add(routes);
        return this;
    }

    /// <summary>Validates the options and every part, and creates the node (not started).</summary>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    public PinholeNode Build()
    {
        ThrowIfBuilt();
        Options.Validate();
        _built = true;
        return new PinholeNode(Options, new NodeParts(
            new Dictionary<string, PeerStreamHandler>(_handlers, StringComparer.Ordinal),
            [.. _services],
            [.. _dialers],
            [.. _routes],
            _datagramLayer ?? (Options.StunServers.Count > 0
                ? new StunDatagramLayerFactory(Options.StunServers, Options.TimeProvider, Options.LoggerFactory)
                : null),
            _datagramHandler,
            _ocapnHandler,
            [.. _limited.Order(StringComparer.Ordinal)]));
    }

    private void ThrowIfBuilt()
    {
        if (_built)
        {
            throw new InvalidOperationException("This builder has already built its node.");
        }
    }
}

internal sealed record NodeParts(
    IReadOnlyDictionary<string, PeerStreamHandler> Handlers,
    IReadOnlyList<INodeService> Services,
    IReadOnlyList<IPeerDialer> Dialers,
    IReadOnlyList<Action<IEndpointRouteBuilder>> Routes,
    INodeDatagramLayerFactory? DatagramLayer,
    DatagramSessionHandler? DatagramHandler,
    OcapnConnectionHandler? OcapnHandler,
    IReadOnlyList<string> LimitedConnectionProtocols);
