using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pinhole.Vpn.DataPlane;
using Pinhole.Vpn.Routing;
using Pinhole.Vpn.Tun;

namespace Pinhole.Vpn;

/// <summary>
/// A mesh VPN interface: a TUN device, a routing table from prefixes to peers, and a UDP data plane with
/// one DTLS-authenticated keypair per peer. Packets the operating system routes into the TUN go to the
/// peer owning their destination, sealed with AES-256-GCM under keys exported from a DTLS 1.2 handshake
/// that proved the peer's PeerId; records from peers are opened, checked against the sender's prefixes
/// and written back into the TUN. Two threads carry the data (TUN → UDP, UDP → TUN); handshakes, timers
/// and probes run on the thread pool. See docs/vpn.md for the pipeline, wire format and MTU arithmetic.
/// </summary>
public sealed partial class VpnInterface : IAsyncDisposable
{
    /// <summary>Smallest TUN MTU (the IPv6 minimum link MTU).</summary>
    public const int MinimumMtu = 1280;

    private const int TunSlot = 0;
    private const int UdpSlot = 1;

    private readonly VpnInterfaceOptions _options;
    private readonly ITunDevice _tun;
    private readonly RelayTransport _transport; // the UDP (or in-memory) transport, with relay paths beside it
    private readonly RtNetlink? _netlink;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Reclaimer _reclaimer = new(2);
    private readonly ConcurrentDictionary<uint, Keypair> _indices = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly VpnTimings _timings;
    private readonly IReadOnlyList<InterfaceAddress> _addresses;
    private readonly Lock _peersLock = new();
    private volatile PrefixTable<Peer> _routes = PrefixTable<Peer>.Empty;
    private volatile FrozenDictionary<PeerId, Peer> _peers = FrozenDictionary<PeerId, Peer>.Empty;
    private Thread? _tunThread;
    private Thread? _udpThread;
    private ITimer? _timer;
    private int _disposed;
    private long _droppedNoRoute;
    private long _droppedInvalid;
    private long _authFailures;

    private VpnInterface(VpnInterfaceOptions options, ITunDevice tun, IPacketTransport transport, RtNetlink? netlink, VpnTimings timings)
    {
        _options = options;
        _tun = tun;
        _transport = new RelayTransport(transport);
        _transport.LinkClosed += OnRelayClosed;
        _netlink = netlink;
        _time = options.TimeProvider;
        _timings = timings;
        _logger = options.LoggerFactory?.CreateLogger<VpnInterface>() ?? (ILogger)NullLogger.Instance;
        _addresses = [.. options.Addresses];
        LocalPeer = options.Identity!.PeerId;
    }

    /// <summary>This node's PeerId.</summary>
    public PeerId LocalPeer { get; }

    /// <summary>The TUN interface name.</summary>
    public string InterfaceName => _tun.Name;

    /// <summary>The UDP address of the data plane.</summary>
    public IPEndPoint ListenEndPoint => _transport.LocalEndPoint;

    /// <summary>The TUN MTU.</summary>
    public int Mtu => _tun.Mtu;

    /// <summary>Record overhead on the wire over the inner packet: outer IP (20 or 40) + UDP (8) + record (29).</summary>
    public static int Overhead(bool ipv6) => (ipv6 ? 40 : 20) + 8 + WireFormat.DataOverhead;

    /// <summary>
    /// Creates the TUN interface, configures it through netlink (addresses, MTU, up, a route per peer
    /// prefix, full-tunnel rules), binds the UDP socket, starts the data plane and dials every peer that
    /// has an endpoint. Needs CAP_NET_ADMIN. Throws <see cref="ArgumentException"/> for invalid options
    /// (before touching anything) and <see cref="PeerException"/> when the system refuses a step.
    /// </summary>
    public static async Task<VpnInterface> StartAsync(VpnInterfaceOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        int mtu = options.Mtu ?? DefaultMtu;
        uint? mark = options.FirewallMark ?? (options.IsFullTunnel ? 51820u : null);
        LinuxTun? tun = null;
        RtNetlink? netlink = null;
        UdpTransport? transport = null;
        try
        {
            tun = LinuxTun.Create(options.InterfaceName, options.Offloads);
            tun.Mtu = mtu;
            transport = UdpTransport.Create(new IPEndPoint(options.ListenAddress, options.ListenPort), options.Offloads, mark);
            if (options.ConfigureInterface)
            {
                netlink = RtNetlink.Open();
                ConfigureInterface(netlink, tun, options, mtu, mark);
                if (tun.ProbeCoalescedWrites() is { } probe && options.LoggerFactory is { } lf)
                {
                    VpnLog.OffloadProbe(lf.CreateLogger<VpnInterface>(), probe);
                }
            }
            var vpn = new VpnInterface(options, tun, transport, netlink, options.Timings ?? VpnTimings.Default);
            await vpn.StartCoreAsync(cancellationToken).ConfigureAwait(false);
            return vpn;
        }
        catch
        {
            transport?.Dispose();
            tun?.Dispose();
            netlink?.Dispose();
            throw;
        }
    }

    /// <summary>The default TUN MTU: a 1500-byte path over IPv6 minus the overhead (1423).</summary>
    public static int DefaultMtu => 1500 - Overhead(ipv6: true);

    /// <summary>Starts an interface over a given TUN and transport (in-memory doubles in tests).</summary>
    internal static async Task<VpnInterface> StartOverAsync(VpnInterfaceOptions options, ITunDevice tun, IPacketTransport transport, VpnTimings? timings = null, CancellationToken cancellationToken = default)
    {
        options.Validate();
        var vpn = new VpnInterface(options, tun, transport, null, timings ?? VpnTimings.Default);
        await vpn.StartCoreAsync(cancellationToken).ConfigureAwait(false);
        return vpn;
    }

    private static void ConfigureInterface(RtNetlink netlink, LinuxTun tun, VpnInterfaceOptions options, int mtu, uint? mark)
    {
        int index = tun.InterfaceIndex;
        netlink.SetLink(index, up: null, mtu: mtu);
        foreach (InterfaceAddress address in options.Addresses)
        {
            netlink.AddAddress(index, address.Address, address.PrefixLength);
        }
        netlink.SetLink(index, up: true, mtu: null);
        bool v4Default = false, v6Default = false;
        foreach (VpnPeerOptions peer in options.Peers)
        {
            foreach (IpPrefix prefix in peer.AllowedPrefixes)
            {
                if (prefix.Length == 0)
                {
                    // A default route goes to its own table, chosen by rules that exempt our own (marked) packets.
                    netlink.AddRoute(index, prefix.Network, options.RouteTable);
                    v4Default |= !prefix.IsIPv6;
                    v6Default |= prefix.IsIPv6;
                }
                else
                {
                    netlink.AddRoute(index, prefix.Network);
                }
            }
        }
        foreach (bool v6 in Families.Where(v => v ? v6Default : v4Default))
        {
            netlink.AddRule(v6, FullTunnelPriority, 254, fwmark: null, suppressDefault: true);
            netlink.AddRule(v6, FullTunnelPriority + 1, options.RouteTable, fwmark: mark, suppressDefault: false);
        }
    }

    private const uint FullTunnelPriority = 32760;

    private static readonly bool[] Families = [false, true];

    private async Task StartCoreAsync(CancellationToken cancellationToken)
    {
        SetPeersCore(_options.Peers);
        await StartHandshakesAsync(cancellationToken).ConfigureAwait(false);
        _tunThread = new Thread(TunLoop) { IsBackground = true, Name = $"vpn {_tun.Name} tun→udp" };
        _udpThread = new Thread(UdpLoop) { IsBackground = true, Name = $"vpn {_tun.Name} udp→tun" };
        _tunThread.Start();
        _udpThread.Start();
        _timer = _time.CreateTimer(static s => ((VpnInterface)s!).Tick(), this, _timings.Tick, _timings.Tick);
        VpnLog.Started(_logger, _tun.Name, LocalPeer, _transport.LocalEndPoint, _tun.Mtu, _tun.Offloads | _transport.Offloads);
        foreach (Peer peer in _peers.Values)
        {
            if (peer.Endpoint is not null)
            {
                RequestHandshake(peer, force: true);
            }
        }
    }

    /// <summary>
    /// Replaces the peer set (coordinator mode: peers appear and disappear with memberships). Peers kept by
    /// PeerId keep their keys and counters; removed peers' keys are destroyed; routes are not changed here.
    /// </summary>
    public void SetPeers(IEnumerable<VpnPeerOptions> peers)
    {
        ArgumentNullException.ThrowIfNull(peers);
        var list = peers.ToList();
        var check = new VpnInterfaceOptions { Identity = _options.Identity, InterfaceName = _options.InterfaceName };
        foreach (VpnPeerOptions p in list)
        {
            check.Peers.Add(p);
        }
        check.Validate();
        SetPeersCore(list);
    }

    private void SetPeersCore(IEnumerable<VpnPeerOptions> peers)
    {
        lock (_peersLock)
        {
            var old = _peers;
            var next = new Dictionary<PeerId, Peer>();
            var routes = new PrefixTable<Peer>.Builder();
            foreach (VpnPeerOptions options in peers)
            {
                Peer peer = old.TryGetValue(options.PeerId!, out Peer? existing) && existing.Prefixes.SequenceEqual(options.AllowedPrefixes)
                    ? existing
                    : new Peer(options.PeerId!, options.Name, [.. options.AllowedPrefixes], options.Endpoint is null ? null : _transport.Resolve(options.Endpoint), options.PersistentKeepalive);
                if (ReferenceEquals(peer, existing) && options.Endpoint is { } announced
                    && _transport.Resolve(announced) is var resolved && !resolved.EndPoint.Equals(existing.ConfiguredEndpoint?.EndPoint))
                {
                    // A new announcement (a member that published its data plane, or moved) replaces the endpoint, unless
                    // proof says otherwise (behind a NAT the announced address is private, and it often arrives after the
                    // peer's first records): while relayed it is probed, and only the ack moves the path (TickPath); a
                    // direct endpoint proven by an authentic record within DirectHold stays, and the announcement waits
                    // for the dead-peer handshake (VpnInterface.Timers). The same one again changes nothing.
                    existing.ConfiguredEndpoint = resolved;
                    existing.AnnouncementDeferred = false;
                    if (existing.IsRelayed && existing.Relay is not null) // a closed relay can probe nothing: take it
                    {
                        existing.ProbeTarget = resolved;
                    }
                    else if (ProvenDirect(existing))
                    {
                        existing.AnnouncementDeferred = true;
                    }
                    else
                    {
                        existing.Endpoint = resolved;
                    }
                }
                next[peer.Id] = peer;
                foreach (IpPrefix prefix in peer.Prefixes)
                {
                    routes.TryAdd(prefix, peer);
                }
            }
            _routes = routes.Build();
            _peers = next.ToFrozenDictionary();
            foreach (Peer gone in old.Values.Where(p => !next.TryGetValue(p.Id, out Peer? kept) || !ReferenceEquals(kept, p)))
            {
                RetireAll(gone);
            }
        }
    }

    private bool ProvenDirect(Peer peer)
    {
        long heard = Volatile.Read(ref peer.DirectHeard);
        return peer.Endpoint is { } endpoint && !RelayTransport.IsRelay(endpoint) && heard != 0 && _time.GetElapsedTime(heard) < _timings.DirectHold;
    }

    /// <summary>A snapshot of the interface and its peers.</summary>
    public VpnStatus GetStatus()
    {
        long now = _time.GetTimestamp();
        DateTimeOffset wall = _time.GetUtcNow();
        var peers = _peers.Values.OrderBy(p => p.Name ?? p.Id.ToString(), StringComparer.Ordinal).Select(p =>
        {
            long handshake = Interlocked.Read(ref p.LastHandshake);
            long rtt = Interlocked.Read(ref p.RttTicks);
            int pathMtu = Volatile.Read(ref p.PathMtu);
            return new VpnPeerStatus
            {
                PeerId = p.Id,
                Name = p.Name,
                Endpoint = p.IsRelayed ? p.DirectEndpoint?.EndPoint : p.Endpoint?.EndPoint,
                Path = p.Endpoint is null ? "none" : p.IsRelayed ? "relayed" : "direct",
                HasRelay = p.Relay is not null,
                PathChanges = Interlocked.Read(ref p.PathChanges),
                AllowedPrefixes = p.Prefixes,
                LastHandshake = handshake == 0 ? null : wall - _time.GetElapsedTime(handshake, now),
                Handshakes = Volatile.Read(ref p.Handshakes),
                RxBytes = Interlocked.Read(ref p.RxBytes),
                TxBytes = Interlocked.Read(ref p.TxBytes),
                RxPackets = Interlocked.Read(ref p.RxPackets),
                TxPackets = Interlocked.Read(ref p.TxPackets),
                Rtt = rtt < 0 ? null : TimeSpan.FromSeconds(rtt / (double)_time.TimestampFrequency),
                PathMtu = pathMtu == 0 ? null : pathMtu,
                PersistentKeepalive = p.PersistentKeepalive,
                Dropped = Interlocked.Read(ref p.DroppedNoKey) + Interlocked.Read(ref p.DroppedSource) + Interlocked.Read(ref p.DroppedSend),
                LastError = p.LastHandshakeError,
            };
        }).ToList();
        return new VpnStatus
        {
            InterfaceName = _tun.Name,
            LocalPeer = LocalPeer,
            ListenEndPoint = _transport.LocalEndPoint,
            Mtu = _tun.Mtu,
            Addresses = _addresses,
            Offloads = _tun.Offloads | _transport.Offloads,
            Peers = peers,
            RelaySent = Interlocked.Read(ref _transport.RelaySent),
            RelayReceived = Interlocked.Read(ref _transport.RelayReceived),
            RelayDropped = Interlocked.Read(ref _transport.DroppedQueueFull),
        };
    }

    /// <summary>Packets dropped for having no route, being malformed, or failing authentication (for tests and metrics).</summary>
    internal (long NoRoute, long Invalid, long AuthFailures) Drops => (Interlocked.Read(ref _droppedNoRoute), Interlocked.Read(ref _droppedInvalid), Interlocked.Read(ref _authFailures));

    internal Peer? FindPeer(PeerId id) => _peers.GetValueOrDefault(id);

    /// <summary>Stops everything: handshakes, timers, both loops; destroys every key; removes the interface and its rules.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_timer is not null)
        {
            await _timer.DisposeAsync().ConfigureAwait(false);
        }
        await StopHandshakesAsync().ConfigureAwait(false);
        _tun.Dispose();
        _transport.Dispose();
        _tunThread?.Join();
        _udpThread?.Join();
        foreach (Peer peer in _peers.Values)
        {
            RetireAll(peer);
        }
        foreach (Keypair keypair in _indices.Values)
        {
            keypair.Dispose();
        }
        _indices.Clear();
        _reclaimer.DisposeAll();
        if (_netlink is not null)
        {
            RemoveRules();
            _netlink.Dispose();
        }
        _stop.Dispose();
        VpnLog.Stopped(_logger, _tun.Name);
    }

    private void RemoveRules()
    {
        foreach (bool v6 in Families)
        {
            if (_options.Peers.Any(p => p.AllowedPrefixes.Any(a => a.Length == 0 && a.IsIPv6 == v6)))
            {
                try
                {
                    uint? mark = _options.FirewallMark ?? 51820u;
                    _netlink!.DeleteRule(v6, FullTunnelPriority + 1, _options.RouteTable, mark, suppressDefault: false);
                    _netlink.DeleteRule(v6, FullTunnelPriority, 254, null, suppressDefault: true);
                }
                catch (PeerException)
                {
                    // Best effort on the way down.
                }
            }
        }
    }

    private bool IsStopping => _stop.IsCancellationRequested;
}

/// <summary>The data plane's timers (WireGuard's, device/constants.go); shortened in tests.</summary>
internal sealed record VpnTimings
{
    internal static VpnTimings Default { get; } = new();

    /// <summary>Timer resolution.</summary>
    public TimeSpan Tick { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>The initiator starts a new handshake when its keypair is this old (and it sends).</summary>
    public TimeSpan RekeyAfterTime { get; init; } = TimeSpan.FromSeconds(120);

    /// <summary>A keypair is not used for sending beyond this age.</summary>
    public TimeSpan RejectAfterTime { get; init; } = TimeSpan.FromSeconds(180);

    /// <summary>Between handshake attempts.</summary>
    public TimeSpan RekeyTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>A keepalive answers received data when nothing was sent back for this long.</summary>
    public TimeSpan KeepaliveTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Records sent on one keypair before a rekey.</summary>
    public ulong RekeyAfterMessages { get; init; } = 1UL << 60;

    /// <summary>Records beyond which a keypair is refused.</summary>
    public ulong RejectAfterMessages { get; init; } = ulong.MaxValue - (1UL << 13);

    /// <summary>How long a DTLS session is kept after its keys were exported (late retransmissions).</summary>
    public TimeSpan HandshakeLinger { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How often the RTT is measured with a ping while the peer is in use (<see cref="TimeSpan.MaxValue"/>: never).</summary>
    public TimeSpan PingInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Probe the path MTU in band.</summary>
    public bool ProbePathMtu { get; init; } = true;

    /// <summary>While relayed, how often a keepalive is sent to the peer's direct endpoint (the way back to UDP).</summary>
    public TimeSpan DirectProbeInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Hysteresis of the path policy: while direct, records arriving over the relay move the peer there only once no
    /// record came over UDP for this long (records queued in the relay before the peer moved do not move it back).
    /// </summary>
    public TimeSpan DirectHold { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Frames queued per relay stream before new ones are dropped (the data path never waits on TCP).</summary>
    public int RelayQueueCapacity { get; init; } = 512;
}
