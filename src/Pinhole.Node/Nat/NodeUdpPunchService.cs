using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pinhole.Dtls;
using Pinhole.Nat;

namespace Pinhole.Node;

/// <summary>
/// UDP hole punching between whole nodes (added by <see cref="NodeUdpPunchExtensions.UseUdpHolePunching"/>). The dialler
/// opens <c>/pinhole/udp-punch/1.0.0</c> on its connection to the peer — usually the relayed one, the only one two peers
/// behind NATs have — and sends an offer (credential, NAT behaviour from netcheck, host, server-reflexive and port-mapped
/// candidates of the node's UDP port); the peer answers with its own and both punch at once
/// (<see cref="UdpHolePunch.PunchAsync"/>, the dialler controlling). DTLS then runs on the path found, the dialler as
/// client: on the node's own socket, or — when birthday probing found the peer — on the extra socket that did. The path
/// keeps the NATs open while the session lives; the answering side lets its path go when the dialler stops answering
/// keepalives. <see cref="PinholeNode.ConnectDatagramsAsync"/> uses this service when the node has it.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The node stops its services: StopAsync cancels and disposes every path.")]
public sealed partial class NodeUdpPunchService : INodeService
{
    /// <summary>The signalling protocol. It runs on limited (relayed) connections.</summary>
    public const string ProtocolId = "/pinhole/udp-punch/1.0.0";

    private const int MaxHistory = 16;

    private readonly NodeUdpPunchOptions _options;
    private readonly Lock _lock = new();
    private readonly Dictionary<PeerId, HeldPath> _paths = [];
    private readonly Queue<JsonObject> _history = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _netcheckGate = new(1, 1);
    private PinholeNode? _node;
    private NodeUdpSocket? _socket;
    private UdpMux? _mux;
    private string? _unavailable;
    // A reference, swapped whole: punches on any thread read it while a netcheck replaces it.
    private volatile NetcheckResult? _netcheck;
    private ILogger _logger = NullLogger.Instance;
    private int _tried, _succeeded;

    internal NodeUdpPunchService(NodeUdpPunchOptions options) => _options = options;

    /// <inheritdoc/>
    public string Name => "udppunch";

    /// <summary>Why punching cannot work on this node (no UDP socket, no STUN layer), or null when it can.</summary>
    public string? Unavailable => _unavailable;

    /// <summary>The paths held now, by peer.</summary>
    public IReadOnlyDictionary<PeerId, UdpPath> Paths
    {
        get
        {
            lock (_lock)
            {
                return _paths.ToDictionary(p => p.Key, p => p.Value.Path);
            }
        }
    }

    /// <inheritdoc/>
    public Task StartAsync(PinholeNode node, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(node);
        _node = node;
        _logger = node.Options.LoggerFactory.CreateLogger<NodeUdpPunchService>();
        _socket = node.UdpSockets.FirstOrDefault(u => u.Layer is StunDatagramLayerFactory.StunDatagramLayer && u.LocalEndPoint.AddressFamily == AddressFamily.InterNetwork)
            ?? node.UdpSockets.FirstOrDefault(u => u.Layer is StunDatagramLayerFactory.StunDatagramLayer);
        _mux = (_socket?.Layer as StunDatagramLayerFactory.StunDatagramLayer)?.Mux;
        _unavailable = node.UdpSockets.Count == 0 ? "the node has no UDP socket (EnableUdp is off)"
            : _mux is null ? "the node's UDP socket has no STUN layer (no STUN servers configured, or another datagram layer is set)"
            : null;
        if (_unavailable is null && node.Options.StunServers.Count > 0)
        {
            // Learn the NAT's behaviour ahead of the first punch; a failure here is retried by that punch.
            _ = Task.Run(() => NetcheckAsync(_stop.Token), CancellationToken.None);
        }
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        // Cancelled before the paths are taken: HoldAsync checks it under the same lock, so no path is held after this.
        await _stop.CancelAsync().ConfigureAwait(false);
        HeldPath[] held;
        lock (_lock)
        {
            held = [.. _paths.Values];
            _paths.Clear();
        }
        foreach (var path in held)
        {
            await path.DisposeAsync().ConfigureAwait(false);
        }
        await ReleaseTurnAsync().ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public JsonObject? GetStatus()
    {
        var paths = new JsonArray();
        lock (_lock)
        {
            foreach (var (peer, held) in _paths)
            {
                paths.Add(new JsonObject
                {
                    ["peer"] = peer.ToString(),
                    ["remote"] = held.Path.RemoteEndPoint.ToString(),
                    ["candidate"] = held.Path.Candidate.Kind.ToString(),
                    ["birthdaySocket"] = held.OwnSocket,
                    ["role"] = held.Controlling ? "controlling" : "controlled",
                    ["rttMs"] = held.Path.RoundTripTime?.TotalMilliseconds,
                });
            }
        }
        var recent = new JsonArray();
        lock (_lock)
        {
            foreach (var entry in _history)
            {
                recent.Add(entry.DeepClone());
            }
        }
        var report = _netcheck?.Report;
        return new JsonObject
        {
            ["available"] = _unavailable is null,
            ["unavailable"] = _unavailable,
            ["mapping"] = report?.Mapping.ToString(),
            ["filtering"] = report?.Filtering.ToString(),
            ["tried"] = Volatile.Read(ref _tried),
            ["succeeded"] = Volatile.Read(ref _succeeded),
            ["paths"] = paths,
            ["turn"] = TurnRelayedAddress?.ToString(),
            ["turnSessions"] = Volatile.Read(ref _turnSessions),
            ["recent"] = recent,
        };
    }

    private (PinholeNode Node, NodeUdpSocket Socket, UdpMux Mux) Running()
    {
        if (_node is not { } node || _socket is not { } socket || _mux is not { } mux)
        {
            throw new PeerException(PeerError.Unreachable, $"UDP hole punching is not available: {_unavailable ?? "the service is not running"}.");
        }
        return (node, socket, mux);
    }

    /// <summary>The offer or answer of this side: a fresh credential, the NAT's behaviour and the node socket's candidates.</summary>
    private async Task<UdpPunchOffer> GatherAsync(NodeUdpSocket socket, CancellationToken cancellationToken)
    {
        var candidates = new List<UdpCandidate>();
        void Add(UdpCandidateKind kind, IPEndPoint endPoint)
        {
            endPoint = endPoint.Address.IsIPv4MappedToIPv6 ? new IPEndPoint(endPoint.Address.MapToIPv4(), endPoint.Port) : endPoint;
            if (candidates.Count < UdpPunchSignal.MaxCandidates && endPoint.Port != 0 && !candidates.Any(c => c.EndPoint.Equals(endPoint)))
            {
                candidates.Add(new UdpCandidate(kind, endPoint));
            }
        }
        // Port-mapped and reflexive first: they are what crosses NATs; host candidates only help on a shared LAN.
        foreach (var mapped in _node!.GetService<NodePortMappingService>()?.GetAddresses() ?? [])
        {
            if (mapped.TryGetIPEndPoint(out var endPoint, out var transport) && transport == "udp")
            {
                Add(UdpCandidateKind.PortMapped, endPoint);
            }
        }
        try
        {
            var asking = socket.Layer.GetPublicEndPointAsync(_stop.Token).AsTask();
            if (await asking.WaitAsync(GatherTimeout, _node.Options.TimeProvider, cancellationToken).ConfigureAwait(false) is { } reflexive)
            {
                Add(UdpCandidateKind.ServerReflexive, reflexive);
            }
        }
        catch (Exception e) when (e is PeerException or SocketException or TimeoutException && !cancellationToken.IsCancellationRequested)
        {
            // No STUN answer: host candidates only (enough without a NAT).
        }
        foreach (var host in HostEndPoints(socket.LocalEndPoint))
        {
            Add(UdpCandidateKind.Host, host);
        }
        var report = await TryNetcheckAsync(cancellationToken).ConfigureAwait(false);
        return new UdpPunchOffer(UdpPunchCredentials.Generate(), report?.Mapping ?? NatMappingBehavior.Unknown, report?.Filtering ?? NatFilteringBehavior.Unknown, candidates);
    }

    private static IEnumerable<IPEndPoint> HostEndPoints(IPEndPoint local)
    {
        if (!local.Address.Equals(IPAddress.Any) && !local.Address.Equals(IPAddress.IPv6Any))
        {
            return [local];
        }
        // A wildcard socket is reachable at every unicast address of the machine's interfaces (loopback excluded).
        return NetworkInterface.GetAllNetworkInterfaces()
            .Where(i => i.OperationalStatus == OperationalStatus.Up && i.NetworkInterfaceType != NetworkInterfaceType.Loopback)
            .SelectMany(i => i.GetIPProperties().UnicastAddresses)
            .Select(u => u.Address)
            .Where(a => (a.AddressFamily == AddressFamily.InterNetwork || (local.AddressFamily == AddressFamily.InterNetworkV6 && !a.IsIPv6LinkLocal)) && !IPAddress.IsLoopback(a))
            .Select(a => new IPEndPoint(a, local.Port));
    }

    /// <summary>The NAT's behaviour: the last netcheck if fresh, else a new one awaited for at most <see cref="GatherTimeout"/>.</summary>
    private async Task<NetcheckReport?> TryNetcheckAsync(CancellationToken cancellationToken)
    {
        if (_netcheck is { } known && _node!.Options.TimeProvider.GetElapsedTime(known.At) <= _options.NetcheckMaxAge)
        {
            return known.Report;
        }
        try
        {
            // A slow check goes on in the background and serves the next punch.
            return await NetcheckAsync(_stop.Token).WaitAsync(GatherTimeout, _node!.Options.TimeProvider, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            return _netcheck?.Report;
        }
    }

    /// <summary>Runs netcheck (one at a time) and remembers the report; null when the node has no STUN servers or the check failed.</summary>
    private async Task<NetcheckReport?> NetcheckAsync(CancellationToken cancellationToken)
    {
        var node = _node!;
        if (node.Options.StunServers.Count == 0)
        {
            return null;
        }
        try
        {
            await _netcheckGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
        try
        {
            if (_netcheck is { } known && node.Options.TimeProvider.GetElapsedTime(known.At) <= _options.NetcheckMaxAge)
            {
                return known.Report;
            }
            var report = await node.NetcheckAsync(testHairpinning: false, cancellationToken).ConfigureAwait(false);
            _netcheck = new NetcheckResult(report, node.Options.TimeProvider.GetTimestamp());
            return report;
        }
        catch (Exception e) when (e is PeerException or SocketException or InvalidOperationException or OperationCanceledException)
        {
            PunchLog(_logger, "netcheck failed; offers say the NAT behaviour is unknown", e.Message);
            return null;
        }
        finally
        {
            _netcheckGate.Release();
        }
    }

    private UdpPunchOptions PunchOptions(UdpPunchOffer local, UdpPunchOffer remote, bool controlling)
    {
        var node = _node!;
        var local4 = _socket!.LocalEndPoint;
        var options = new UdpPunchOptions
        {
            Local = local.Credentials,
            Remote = remote.Credentials,
            Controlling = controlling,
            Timeout = _options.Timeout,
            LocalMapping = local.Mapping,
            LocalFiltering = local.Filtering,
            RemoteMapping = remote.Mapping,
            RemoteFiltering = remote.Filtering,
            BirthdaySockets = _options.BirthdaySockets,
            BirthdaySocketFactory = () => UdpMux.Create(node.Options.Transport.BindDatagrams(new IPEndPoint(local4.Address, 0)),
                new UdpMuxOptions { TimeProvider = node.Options.TimeProvider, LoggerFactory = node.Options.LoggerFactory }),
            TimeProvider = node.Options.TimeProvider,
            LoggerFactory = node.Options.LoggerFactory,
        };
        foreach (var candidate in remote.Candidates)
        {
            options.RemoteCandidates.Add(candidate);
        }
        _options.ConfigurePunch?.Invoke(options);
        return options;
    }

    private void Record(PeerId peer, bool controlling, string outcome, UdpPath? path)
    {
        lock (_lock)
        {
            _history.Enqueue(new JsonObject
            {
                ["peer"] = peer.ToString(),
                ["role"] = controlling ? "controlling" : "controlled",
                ["outcome"] = outcome,
                ["remote"] = path?.RemoteEndPoint.ToString(),
                ["time"] = _node!.Options.TimeProvider.GetUtcNow().ToString("O"),
            });
            while (_history.Count > MaxHistory)
            {
                _history.Dequeue();
            }
        }
    }

    /// <summary>Holds <paramref name="held"/> as the peer's path, replacing (and disposing) an older one.</summary>
    private async Task HoldAsync(PeerId peer, HeldPath held)
    {
        HeldPath? old;
        lock (_lock)
        {
            if (_stop.IsCancellationRequested)
            {
                // StopAsync already let every path go: a punch that finished during the stop holds nothing.
                old = held;
            }
            else
            {
                _paths.Remove(peer, out old);
                _paths[peer] = held;
            }
        }
        held.Path.Lost += (_, _) => _ = ReleaseAsync(peer, held);
        if (old is not null)
        {
            await old.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task ReleaseAsync(PeerId peer, HeldPath held)
    {
        lock (_lock)
        {
            if (_paths.TryGetValue(peer, out var current) && ReferenceEquals(current, held))
            {
                _paths.Remove(peer);
            }
        }
        await held.DisposeAsync().ConfigureAwait(false);
    }

    private bool AtCapacity(PeerId peer)
    {
        lock (_lock)
        {
            return !_paths.ContainsKey(peer) && _paths.Count >= _options.MaxPaths;
        }
    }

    [LoggerMessage(EventId = 8030, Level = LogLevel.Debug, Message = "UDP punch: {What}: {Detail}")]
    private static partial void PunchLog(ILogger logger, string what, string detail);

    [LoggerMessage(EventId = 8031, Level = LogLevel.Information, Message = "UDP path to {Peer} at {Remote} ({Kind}{Birthday}, {Role})")]
    private static partial void PathFound(ILogger logger, PeerId peer, IPEndPoint remote, UdpCandidateKind kind, string birthday, string role);

    [LoggerMessage(EventId = 8032, Level = LogLevel.Information, Message = "UDP punch with {Peer} failed: {Reason}")]
    private static partial void PunchFailed(ILogger logger, PeerId peer, string reason);

    [LoggerMessage(EventId = 8035, Level = LogLevel.Information, Message = "UDP path to {Peer} through TURN: our relayed address {Ours}, DTLS to {Remote}")]
    private static partial void TurnPathFound(ILogger logger, PeerId peer, IPEndPoint? ours, EndPoint remote);

    [LoggerMessage(EventId = 8033, Level = LogLevel.Information, Message = "Bad UDP punch offer from {Peer}: {Reason}")]
    private static partial void BadOffer(ILogger logger, PeerId peer, string reason);

    [LoggerMessage(EventId = 8034, Level = LogLevel.Information, Message = "UDP punch with {Peer}: no DTLS from the dialler on the birthday socket: {Reason}")]
    private static partial void NoBirthdayDtls(ILogger logger, PeerId peer, string reason);

    private sealed record NetcheckResult(NetcheckReport Report, long At);

    /// <summary>A path this node holds, with the DTLS endpoint of its own socket when birthday probing found it.</summary>
    private sealed class HeldPath(UdpPath path, DtlsEndpoint? ownEndpoint, bool controlling) : IAsyncDisposable
    {
        private int _disposed;

        public UdpPath Path { get; } = path;

        public DtlsEndpoint? OwnEndpoint { get; } = ownEndpoint;

        public bool OwnSocket => OwnEndpoint is not null;

        public bool Controlling { get; } = controlling;

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0)
            {
                return;
            }
            if (OwnEndpoint is not null)
            {
                await OwnEndpoint.DisposeAsync().ConfigureAwait(false);
            }
            // The path owns its birthday socket and closes it.
            await Path.DisposeAsync().ConfigureAwait(false);
        }
    }
}
