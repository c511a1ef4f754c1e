using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pinhole.Membership;
using Pinhole.Node;

namespace Pinhole.Vpn.Hosting;

/// <summary>
/// The VPN as a part of a <see cref="PinholeNode"/> (docs/vpn.md, "In a node"): it runs one
/// <see cref="VpnInterface"/> under the node's identity, started after the node listens and stopped before it
/// closes, with its status under <c>services.vpn</c> in <c>GET /v1/status</c>. Without a membership the
/// peers are the template's (a configuration file); with one (coordinator mode) the interface's addresses and
/// peers come from the verified <see cref="NetworkView"/> and follow it: members appear and disappear as
/// records arrive, expire or are revoked. It announces its data-plane socket as an <see cref="INodeTunnelSource"/>:
/// the node's <see cref="NetworkMembershipService"/> puts it in field 7 of the endpoint record it publishes (one
/// writer), so members reach this socket and never the node's DTLS one.
/// </summary>
public sealed partial class VpnNodeService : INodeService, INodeTunnelSource, IAsyncDisposable
{
    private readonly VpnNodeServiceOptions _options;
    private readonly Lock _lock = new();
    private VpnInterface? _vpn;
    private VpnControlServer? _control;
    private MembershipClient? _membership;
    private ILogger _logger = NullLogger.Instance;
    private PeerId? _self;
    private int _peerUpdates;
    private IReadOnlyList<Multiaddr> _tunnel = [];
    private List<Multiaddr> _local = [];
    private readonly CancellationTokenSource _stopping = new();
    private Task _stun = Task.CompletedTask;

    /// <summary>Creates the service; nothing runs until the node starts it.</summary>
    public VpnNodeService(VpnNodeServiceOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(options.Interface);
        _options = options;
    }

    /// <inheritdoc />
    public string Name => "vpn";

    /// <summary>The running interface, or null before start and after stop.</summary>
    public VpnInterface? Interface => Volatile.Read(ref _vpn);

    /// <summary>Times the peer set was replaced from a membership change (a test hook and a status figure).</summary>
    public int PeerUpdates => Volatile.Read(ref _peerUpdates);

    /// <inheritdoc />
    public event EventHandler? TunnelAddressesChanged;

    /// <summary>The coordinator-mode network (null in file mode, and before start when it is resolved from <see cref="VpnNodeServiceOptions.Network"/>).</summary>
    public NetworkId? Network => Volatile.Read(ref _membership)?.Network;

    /// <inheritdoc />
    public IReadOnlyList<Multiaddr> GetTunnelAddresses(NetworkId network)
    {
        ArgumentNullException.ThrowIfNull(network);
        lock (_lock)
        {
            return _membership is { } m && m.Network.Equals(network) ? _tunnel : [];
        }
    }

    /// <inheritdoc />
    public async Task StartAsync(PinholeNode node, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(node);
        VpnInterfaceOptions template = _options.Interface;
        _self = node.LocalPeer;
        _logger = (template.LoggerFactory ?? NullLoggerFactory.Instance).CreateLogger<VpnNodeService>();
        var options = new VpnInterfaceOptions
        {
            Identity = node.Identity,
            InterfaceName = template.InterfaceName,
            ListenAddress = template.ListenAddress,
            ListenPort = template.ListenPort,
            Mtu = template.Mtu,
            Offloads = template.Offloads,
            FirewallMark = template.FirewallMark,
            RouteTable = template.RouteTable,
            ConfigureInterface = template.ConfigureInterface,
            TimeProvider = template.TimeProvider,
            LoggerFactory = template.LoggerFactory,
        };
        MembershipClient? membership = _options.Membership ?? ResolveNetwork(node);
        if (membership is null)
        {
            Copy(template.Addresses, options.Addresses);
            Copy(template.Peers, options.Peers);
        }
        else
        {
            NetworkView view = membership.View;
            IReadOnlyList<InterfaceAddress> addresses = MembershipPeers.AddressesOf(view, membership.Genesis, node.LocalPeer);
            if (addresses.Count == 0)
            {
                throw new PeerException(PeerError.Refused, $"{node.LocalPeer} is not a member of network {view.Name} ({view.Network}) with a virtual address: join it first.");
            }
            Copy(addresses, options.Addresses);
            Copy(MembershipPeers.PeersOf(view, node.LocalPeer, _options.PersistentKeepalive), options.Peers);
        }
        VpnInterface vpn = await VpnInterface.StartAsync(options, cancellationToken).ConfigureAwait(false);
        lock (_lock)
        {
            _vpn = vpn;
            _membership = membership;
        }
        try
        {
            if (_options.ControlSocketPath is { } path)
            {
                VpnControlServer control = await VpnControlServer.StartAsync(vpn, path, cancellationToken).ConfigureAwait(false);
                lock (_lock)
                {
                    _control = control;
                }
            }
            if (membership is null)
            {
                // File mode: the peers are the file's, by PeerId. Their relay streams ride whatever node connection the
                // node has or can dial to each (a connection open already, or the addresses in its peer store).
                if (_options.OpenRelayStreams)
                {
                    StartRelayDialer(node, vpn);
                }
                return;
            }
            membership.Changed += OnNetworkChanged;
            // A change between the first view and the subscription would be missed: apply the current one again.
            Apply(membership.View);
            StartRelayDialer(node, vpn);
            if (_options.PublishEndpoint)
            {
                IReadOnlyList<IPAddress> local = _options.AnnounceAddresses.Count > 0 ? [.. _options.AnnounceAddresses] : LocalAddresses(vpn.InterfaceName, vpn.ListenEndPoint.Address);
                _local = MembershipPeers.Announce(local, vpn.ListenEndPoint.Port);
                SetTunnel([]);
                if (node.Options.StunServers.Count > 0)
                {
                    _stun = Task.Run(() => StunLoopAsync(vpn, [.. node.Options.StunServers], _stopping.Token), CancellationToken.None);
                }
            }
        }
        catch
        {
            // The node does not stop a service whose start failed: take the interface down here.
            await StopAsync(CancellationToken.None).ConfigureAwait(false);
            throw;
        }
    }

    private void OnNetworkChanged(object? sender, NetworkChangedEventArgs e) => Apply(e.View);

    // The announced endpoints: the STUN-mapped ones first (what a peer behind another NAT can reach; MembershipPeers
    // takes the first), then the local ones. The membership service signs and publishes them (debounced): this service
    // never writes a record itself.
    private void SetTunnel(IReadOnlyList<IPEndPoint> mapped)
    {
        List<Multiaddr> tunnel = [.. mapped.Select(m => Multiaddr.FromIPEndPoint(m, "udp")).Concat(_local).Distinct().Take(EndpointRecord.MaxTunnelAddresses)];
        lock (_lock)
        {
            if (_membership is null || tunnel.SequenceEqual(_tunnel))
            {
                return;
            }
            _tunnel = tunnel;
        }
        TunnelAddressesChanged?.Invoke(this, EventArgs.Empty);
    }

    // Asks the node's STUN servers, from the data-plane socket itself, where that socket is seen from, and again every
    // StunInterval (which also keeps an endpoint-independent NAT's mapping alive while no peer talks). A round in which
    // no server answers keeps the last mapping for a while (StunMappingMemory).
    private async Task StunLoopAsync(VpnInterface vpn, List<EndPoint> servers, CancellationToken stopping)
    {
        TimeProvider time = _options.Interface.TimeProvider;
        var memory = new StunMappingMemory();
        try
        {
            while (!stopping.IsCancellationRequested)
            {
                var mapped = new List<IPEndPoint>();
                foreach (EndPoint server in servers)
                {
                    IPEndPoint? seen = await AskAsync(vpn, server, stopping).ConfigureAwait(false);
                    if (seen is not null && !mapped.Contains(seen))
                    {
                        VpnLog.StunMapped(_logger, seen, server);
                        mapped.Add(seen);
                    }
                }
                SetTunnel(memory.Update(mapped));
                await Task.Delay(_options.StunInterval, time, stopping).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
        catch (ObjectDisposedException)
        {
            // The interface stopped under the query.
        }
    }

    // One server's answer, or null (logged): a failure of one server never ends the loop, which is also the keepalive.
    private async Task<IPEndPoint?> AskAsync(VpnInterface vpn, EndPoint server, CancellationToken stopping)
    {
        try
        {
            IPEndPoint? address = await ResolveAsync(server, vpn.ListenEndPoint.Address, stopping).ConfigureAwait(false);
            IPEndPoint? seen = address is null ? null : await vpn.QueryMappedAddressAsync(address, _options.StunTimeout, stopping).ConfigureAwait(false);
            if (seen is null)
            {
                VpnLog.StunFailed(_logger, server, address is null ? "cannot resolve it" : "no answer");
            }
            return seen;
        }
        catch (Exception e) when (e is not (OperationCanceledException or ObjectDisposedException))
        {
            VpnLog.StunFailed(_logger, server, e.Message);
            return null;
        }
    }

    private static async Task<IPEndPoint?> ResolveAsync(EndPoint server, IPAddress bound, CancellationToken cancellationToken)
    {
        switch (server)
        {
            case IPEndPoint ip:
                return ip;
            case DnsEndPoint dns:
                try
                {
                    IPAddress[] addresses = await Dns.GetHostAddressesAsync(dns.Host, cancellationToken).ConfigureAwait(false);
                    IPAddress? pick = addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork)
                        ?? (bound.AddressFamily == AddressFamily.InterNetworkV6 ? addresses.FirstOrDefault() : null);
                    return pick is null ? null : new IPEndPoint(pick, dns.Port);
                }
                catch (SocketException)
                {
                    return null;
                }
            default:
                return null;
        }
    }

    private void Apply(NetworkView view)
    {
        VpnInterface? vpn;
        lock (_lock)
        {
            vpn = _vpn;
        }
        if (vpn is null || _self is null)
        {
            return;
        }
        try
        {
            // A node cut off itself has no business with the members any more (they drop it too).
            vpn.SetPeers(view.Members.ContainsKey(_self) ? MembershipPeers.PeersOf(view, _self, _options.PersistentKeepalive) : []);
            Interlocked.Increment(ref _peerUpdates);
        }
        catch (Exception e) when (e is ArgumentException or ObjectDisposedException)
        {
            // Two members claiming one prefix is refused by the membership layer; a disposed interface is stopping.
            VpnLog.PeersNotUpdated(_logger, view.Name, e);
        }
    }

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        VpnInterface? vpn;
        VpnControlServer? control;
        MembershipClient? membership;
        lock (_lock)
        {
            vpn = _vpn;
            control = _control;
            membership = _membership;
            _vpn = null;
            _control = null;
            _membership = null;
            _tunnel = [];
        }
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _stun.ConfigureAwait(false);
        await _relayDialer.ConfigureAwait(false);
        if (membership is not null)
        {
            membership.Changed -= OnNetworkChanged;
            TunnelAddressesChanged?.Invoke(this, EventArgs.Empty);
        }
        if (control is not null)
        {
            // First, so that `pinhole vpn status` never reaches an interface that is going away.
            await control.DisposeAsync().ConfigureAwait(false);
        }
        if (vpn is not null)
        {
            await vpn.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public JsonObject? GetStatus() => Interface is { } vpn ? JsonNode.Parse(VpnStatusJson.Serialize(vpn.GetStatus())) as JsonObject : null;

    /// <inheritdoc />
    public ValueTask DisposeAsync() => new(StopAsync(CancellationToken.None));

    private static void Copy<T>(IEnumerable<T> from, IList<T> to)
    {
        foreach (T item in from)
        {
            to.Add(item);
        }
    }

    // The network's membership client from the node's networks (coordinator mode in the daemon): the network must be
    // followed when the VPN starts, which it is when it was joined before (NodeNetworks starts before this service).
    private MembershipClient? ResolveNetwork(PinholeNode node)
    {
        if (_options.Network is not { } network)
        {
            return null;
        }
        NetworkMembershipService service = node.GetNetwork(network)
            ?? throw new PeerException(PeerError.Refused, $"The VPN's network {network} is not one this node follows: join it first (pinhole join INVITE).");
        return service.Client ?? throw new PeerException(PeerError.Refused, $"The VPN's network {network} has not started.");
    }

    // Unicast addresses of the interfaces that are up, except loopback, link-local and the VPN's own; only those of the
    // bound address's family (a socket bound to 0.0.0.0 cannot be reached over IPv6), or the bound address itself.
    private static List<IPAddress> LocalAddresses(string vpnInterface, IPAddress bound)
    {
        if (!bound.Equals(IPAddress.Any) && !bound.Equals(IPAddress.IPv6Any))
        {
            return [bound.IsIPv4MappedToIPv6 ? bound.MapToIPv4() : bound];
        }
        return [.. NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus is OperationalStatus.Up or OperationalStatus.Unknown && n.NetworkInterfaceType != NetworkInterfaceType.Loopback && n.Name != vpnInterface)
            .SelectMany(n => n.GetIPProperties().UnicastAddresses.Select(u => u.Address))
            .Where(a => !IPAddress.IsLoopback(a) && !a.IsIPv6LinkLocal && (a.AddressFamily == AddressFamily.InterNetwork || bound.Equals(IPAddress.IPv6Any)) && a.AddressFamily is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6)];
    }
}

/// <summary>Settings of a <see cref="VpnNodeService"/>.</summary>
public sealed class VpnNodeServiceOptions
{
    /// <summary>
    /// The interface: name, port, MTU, offloads, routing; its addresses and peers too when there is no
    /// <see cref="Membership"/>. Its <see cref="VpnInterfaceOptions.Identity"/> is ignored: the node's is used.
    /// </summary>
    public required VpnInterfaceOptions Interface { get; init; }

    /// <summary>The network whose members are the peers (coordinator mode), or null for the template's peers.</summary>
    public MembershipClient? Membership { get; init; }

    /// <summary>
    /// Coordinator mode for a network the node follows (the daemon's <c>Node:Vpn:Network</c>): its membership client is
    /// taken from the node's networks at start. Ignored when <see cref="Membership"/> is set.
    /// </summary>
    public NetworkId? Network { get; init; }

    /// <summary>Persistent keepalive for members (coordinator mode; zero = off).</summary>
    public TimeSpan PersistentKeepalive { get; init; }

    /// <summary>
    /// Announce the data-plane socket in this node's endpoint record (coordinator mode): as an
    /// <see cref="INodeTunnelSource"/>, for the node's membership service to publish in field 7.
    /// </summary>
    public bool PublishEndpoint { get; init; } = true;

    /// <summary>
    /// The control socket that answers <c>pinhole vpn status</c> (<see cref="VpnControlServer"/>), or null for none;
    /// the CLI's default is <c>&lt;home&gt;/vpn/&lt;interface&gt;.sock</c> (<see cref="VpnSettings.DefaultControlPath"/>).
    /// </summary>
    public string? ControlSocketPath { get; init; }

    /// <summary>
    /// Open <see cref="VpnNodeService.RelayProtocol"/> streams to the peers (the one of each pair with the lower PeerId
    /// does), over the node connection to each. Default true; <c>pinhole vpn up --config</c>, whose node has no network
    /// presence, turns it off. In coordinator mode the members' node addresses come from the network; in file mode the
    /// node dials a peer by PeerId, so the stream opens once the node is connected to it or has its address stored.
    /// </summary>
    public bool OpenRelayStreams { get; init; } = true;

    /// <summary>Addresses to announce with the data-plane port (default: the host's unicast addresses).</summary>
    public IList<IPAddress> AnnounceAddresses { get; init; } = [];

    /// <summary>How long one STUN query of the data plane's mapping may take (the node's <c>StunServers</c>). Default 5 s.</summary>
    public TimeSpan StunTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How often the data plane's mapping is asked again (below common NAT UDP timeouts). Default 25 s.</summary>
    public TimeSpan StunInterval { get; init; } = TimeSpan.FromSeconds(25);
}
