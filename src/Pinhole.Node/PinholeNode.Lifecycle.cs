using System.Net;
using System.Net.Sockets;
using Pinhole.Dtls;
using Pinhole.Ocapn;

namespace Pinhole.Node;

public sealed partial class PinholeNode
{
    private readonly List<PeerListener> _listeners = [];
    private readonly List<NodeUdpSocket> _udp = [];
    private readonly List<Task> _loops = [];
    private readonly List<INodeService> _startedServices = [];
    private readonly CancellationTokenSource _stop = new();
    private OcapnTcpTlsListener? _ocapnListener;
    private LocalApiServer? _api;
    private Task? _stopping;

    /// <summary>The bound sockets: each TCP listener and each UDP (DTLS) socket. Wildcards stay wildcards.</summary>
    public IReadOnlyList<Multiaddr> ListenAddresses =>
        [.. _listeners.SelectMany(l => l.ListenAddresses), .. _udp.Select(u => Multiaddr.FromIPEndPoint(u.LocalEndPoint, "udp"))];

    /// <summary>
    /// Every address a peer can dial, each ending in <c>/p2p/&lt;PeerId&gt;</c>: TCP (libp2p) addresses, then
    /// the UDP (DTLS) ones, then those of services that are <see cref="INodeAddressSource"/>s (relay circuits); wildcard
    /// binds expand to the host's interface addresses.
    /// </summary>
    public IReadOnlyList<Multiaddr> GetDialableAddresses()
    {
        var tcp = _listeners.SelectMany(l => l.GetDialableAddresses()).ToList();
        var udpPorts = _udp.Select(u => u.LocalEndPoint.Port).ToHashSet();
        var udp = new List<Multiaddr>();
        foreach (var address in tcp)
        {
            if (address.TryGetIPEndPoint(out var endPoint, out _) && udpPorts.Contains(endPoint.Port))
            {
                udp.Add(Multiaddr.FromIPEndPoint(endPoint, "udp").Encapsulate(LocalPeer));
            }
        }
        return [.. tcp, .. udp, .. _parts.Services.OfType<INodeAddressSource>().SelectMany(s => s.GetAddresses())];
    }

    /// <summary>
    /// Opens the peer store, binds every transport, starts the connection manager (redialling keep-connected
    /// peers), the hosted services in order and the local API. On failure everything started is stopped
    /// again and the exception propagates (a <see cref="PeerException"/> for a port in use).
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        lock (_stateLock)
        {
            if (_state != NodeState.Created)
            {
                throw new InvalidOperationException($"The node is {_state}; a node starts once.");
            }
            _state = NodeState.Starting;
        }
        try
        {
            if (Options.Home is { } home)
            {
                if (OperatingSystem.IsWindows())
                {
                    Directory.CreateDirectory(home);
                }
                else
                {
                    Directory.CreateDirectory(home, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                }
            }
            _store = PeerStore.Open(Options.ResolvedStorePath, new PeerStoreOptions { TimeProvider = Options.TimeProvider, LoggerFactory = Options.LoggerFactory });
            await BindTransportsAsync(cancellationToken).ConfigureAwait(false);
            foreach (var listener in _listeners)
            {
                _loops.Add(Task.Run(() => AcceptLoopAsync(listener), CancellationToken.None));
            }
            foreach (var udp in _udp)
            {
                _loops.Add(Task.Run(() => AcceptDatagramsAsync(udp), CancellationToken.None));
            }
            if (_ocapnListener is { } ocapn)
            {
                _loops.Add(Task.Run(() => AcceptOcapnAsync(ocapn), CancellationToken.None));
            }
            StartedAt = Options.TimeProvider.GetUtcNow();
            Connections.Start();
            foreach (var service in _parts.Services)
            {
                await service.StartAsync(this, cancellationToken).ConfigureAwait(false);
                _startedServices.Add(service);
            }
            if (Options.Api is { } api)
            {
                _api = await LocalApiServer.StartAsync(this, api, cancellationToken).ConfigureAwait(false);
            }
            lock (_stateLock)
            {
                _state = NodeState.Running;
            }
            var bound = string.Join(", ", ListenAddresses);
            NodeLog.Started(_logger, LocalPeer, bound);
        }
        catch
        {
            await StopCoreAsync(CancellationToken.None).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Stops gracefully: the API and the services stop, listeners stop accepting, running stream handlers get
    /// <see cref="PinholeNodeOptions.ShutdownTimeout"/> (or until <paramref name="cancellationToken"/> is
    /// cancelled) to finish, then every connection, socket and store closes. Idempotent.
    /// </summary>
    public Task StopAsync(CancellationToken cancellationToken = default)
    {
        lock (_stateLock)
        {
            if (_state is NodeState.Created)
            {
                _state = NodeState.Stopped;
                _stop.Cancel();
                Metrics.Dispose();
                return Task.CompletedTask;
            }
            return _stopping ??= StopCoreAsync(cancellationToken);
        }
    }

    /// <summary>Stops the node (<see cref="StopAsync"/>) without a caller deadline beyond the shutdown timeout.</summary>
    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);

    private async Task StopCoreAsync(CancellationToken cancellationToken)
    {
        lock (_stateLock)
        {
            _state = NodeState.Stopping;
        }
        using var drain = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        drain.CancelAfter(Options.ShutdownTimeout);
        if (_api is not null)
        {
            await _api.DisposeAsync().ConfigureAwait(false);
        }
        for (var i = _startedServices.Count - 1; i >= 0; i--)
        {
            try
            {
                await _startedServices[i].StopAsync(drain.Token).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                // A failing service must not keep the rest of the node running.
                NodeLog.ServiceStopFailed(_logger, _startedServices[i].Name, e);
            }
        }
        await _stop.CancelAsync().ConfigureAwait(false);
        foreach (var listener in _listeners)
        {
            await listener.DisposeAsync().ConfigureAwait(false);
        }
        if (_ocapnListener is not null)
        {
            await _ocapnListener.DisposeAsync().ConfigureAwait(false);
        }
        await Connections.StopAsync(drain.Token).ConfigureAwait(false);
        await Sockets.DisposeAllAsync().ConfigureAwait(false);
        foreach (var udp in _udp)
        {
            await udp.DisposeAsync().ConfigureAwait(false);
        }
        await Task.WhenAll(_loops).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        Events.CompleteAll();
        Ocapn?.Dispose();
        _store?.Dispose();
        Metrics.Dispose();
        lock (_stateLock)
        {
            _state = NodeState.Stopped;
        }
        NodeLog.Stopped(_logger, LocalPeer);
    }

    private PeerListenerOptions ListenerOptions(Multiaddr address) => new()
    {
        Identity = Identity,
        ListenAddresses = [address],
        Protocols = [.. Protocols],
        HandshakeTimeout = Options.Transport.HandshakeTimeout,
        KeepAliveInterval = Options.Transport.KeepAliveInterval,
        MaxStreamsPerConnection = Options.Transport.MaxStreamsPerConnection,
        MaxConnections = Options.Transport.MaxInboundConnections,
        MaxConcurrentHandshakes = Options.Transport.MaxConcurrentHandshakes,
        MaxConnectionsPerAddress = Options.Transport.MaxInboundConnectionsPerAddress,
        MaxHandshakesPerAddress = Options.Transport.MaxHandshakesPerAddress,
        HandshakesPerSecondPerAddress = Options.Transport.HandshakesPerSecondPerAddress,
        HandshakeBurstPerAddress = Options.Transport.HandshakeBurstPerAddress,
        ReusePort = Options.Transport.ReusePort,
        // Identify on accepted connections tells what the node advertises (port mappings, relay circuits), not just the socket.
        AdvertisedAddresses = GetDialableAddresses,
        IdleTimeout = TimeSpan.Zero,
        TimeProvider = Options.TimeProvider,
        LoggerFactory = Options.LoggerFactory,
    };

    private async Task BindTransportsAsync(CancellationToken cancellationToken)
    {
        var addresses = Options.ListenAddresses.Count > 0 ? Options.ListenAddresses : [Multiaddr.Parse("/ip4/0.0.0.0/tcp/0")];
        // An /ip6/:: UDP socket is dual-mode: it also serves IPv4 on its port, so an IPv4 wildcard on the same port gets none of its own.
        var dualModePorts = addresses.Select(a => a.ToIPEndPoint()).Where(e => e.Address.Equals(IPAddress.IPv6Any) && e.Port != 0).Select(e => e.Port).ToHashSet();
        foreach (var address in addresses)
        {
            var endPoint = address.ToIPEndPoint();
            var wantsUdp = Options.EnableUdp && !(endPoint.Address.Equals(IPAddress.Any) && dualModePorts.Contains(endPoint.Port));
            // Port 0: retry until a port is free for both TCP and UDP.
            for (var attempt = 1; ; attempt++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var listener = await PeerListener.ListenAsync(ListenerOptions(address), cancellationToken).ConfigureAwait(false);
                if (!wantsUdp)
                {
                    _listeners.Add(listener);
                    break;
                }
                var port = listener.ListenAddresses[0].ToIPEndPoint().Port;
                UdpDatagramBind bind;
                try
                {
                    bind = UdpDatagramBind.Bind(new IPEndPoint(endPoint.Address, port));
                }
                catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse && endPoint.Port == 0 && attempt < 32)
                {
                    await listener.DisposeAsync().ConfigureAwait(false);
                    continue;
                }
                catch (SocketException e)
                {
                    await listener.DisposeAsync().ConfigureAwait(false);
                    throw new PeerException(PeerError.InternalError, $"Cannot listen on UDP {endPoint.Address}:{port} (the TCP listener has that port): {e.Message}", e);
                }
                _listeners.Add(listener);
                _udp.Add(CreateUdpSocket(bind, NodeSocketPurpose.Node, listen: true));
                break;
            }
        }
        if (Options.EnableOcapn)
        {
            Ocapn = Options.Home is { } home
                ? await OcapnNode.LoadOrCreateAsync(home, new OcapnNodeOptions { TimeProvider = Options.TimeProvider }, cancellationToken).ConfigureAwait(false)
                : OcapnNode.Create(timeProvider: Options.TimeProvider);
            _ocapnListener = await OcapnTcpTlsNetlayer.ListenAsync(new OcapnTcpTlsListenerOptions
            {
                Node = Ocapn,
                ListenEndPoint = Options.OcapnListenEndPoint ?? new IPEndPoint(IPAddress.Any, 0),
                AdvertisedHost = Options.OcapnAdvertisedHost,
                PersistListenPort = Options.Home is not null,
                HandshakeTimeout = Options.Transport.HandshakeTimeout,
                TimeProvider = Options.TimeProvider,
                Logger = Microsoft.Extensions.Logging.LoggerFactoryExtensions.CreateLogger<OcapnTcpTlsListener>(Options.LoggerFactory),
            }, cancellationToken).ConfigureAwait(false);
        }
    }

    internal NodeUdpSocket CreateUdpSocket(UdpDatagramBind bind, NodeSocketPurpose purpose, bool listen)
    {
        NodeDatagramLayer? layer = null;
        try
        {
            layer = _parts.DatagramLayer?.Create(bind, purpose) ?? new NodeDatagramLayer.Passthrough(bind);
            var endpoint = DtlsEndpoint.Create(new DtlsEndpointOptions
            {
                Identity = Identity,
                Bind = layer.DtlsBind,
                LeaveBindOpen = true,
                MaxDatagramSize = Options.Transport.MaxDatagramSize,
                MaxSessions = Options.Transport.MaxDatagramSessions,
                HandshakeTimeout = Options.Transport.HandshakeTimeout,
                TimeProvider = Options.TimeProvider,
                LoggerFactory = Options.LoggerFactory,
            });
            return new NodeUdpSocket(bind, layer, endpoint, listen ? endpoint.Listen() : null);
        }
        catch
        {
            if (layer is not null and not NodeDatagramLayer.Passthrough)
            {
                layer.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }
            bind.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw;
        }
    }

    private async Task AcceptLoopAsync(PeerListener listener)
    {
        while (!_stop.IsCancellationRequested)
        {
            PeerConnection connection;
            try
            {
                connection = await listener.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            Connections.Adopt(connection);
        }
    }

    private async Task AcceptOcapnAsync(OcapnTcpTlsListener listener)
    {
        while (!_stop.IsCancellationRequested)
        {
            OcapnTcpTlsConnection connection;
            try
            {
                connection = await listener.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (PeerException e)
            {
                NodeLog.AcceptFailed(_logger, "tcp-tls", e.Message);
                continue;
            }
            if (_parts.OcapnHandler is { } handler)
            {
                _ = ServeOcapnAsync(handler, connection);
            }
            else
            {
                // No CapTP here: accepting and closing lets a Goblins peer's "ping" (connect + handshake) succeed.
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private async Task ServeOcapnAsync(OcapnConnectionHandler handler, OcapnTcpTlsConnection connection)
    {
        await using (connection.ConfigureAwait(false))
        {
            try
            {
                await handler(connection, _stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                NodeLog.AcceptFailed(_logger, "tcp-tls handler", e.Message);
            }
        }
    }
}
