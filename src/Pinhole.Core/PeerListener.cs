using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Pinhole.Connections;

namespace Pinhole;

/// <summary>
/// Accepts authenticated connections, shaped like <c>System.Net.Quic.QuicListener</c>. Every connection
/// returned by <see cref="AcceptAsync"/> has completed the libp2p upgrade and its <see cref="PeerConnection.RemotePeer"/>
/// is verified. Strangers cannot lock real peers out: accepting never waits for a handshake, handshakes share
/// a budget that silent and slow sockets cannot hold (see <see cref="PeerListenerOptions"/> and
/// docs/reliability.md), and authenticated connections are capped in total, per source address and per peer.
/// </summary>
public sealed partial class PeerListener : IAsyncDisposable
{
    private readonly PeerListenerOptions _options;
    private readonly ILogger _logger;
    private readonly List<Socket> _sockets;
    private readonly Channel<PeerConnection> _accepted;
    private readonly HandshakeAdmission _handshakes;
    private readonly ConnectionLimits<PeerId> _limits;
    private readonly Refuser _refuser;
    private readonly TokenBuckets<AddressKey> _addressRate;
    private readonly TokenBuckets<ulong> _groupRate;
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Task> _loops = [];
    private int _disposed;

    private PeerListener(PeerListenerOptions options, List<Socket> sockets)
    {
        _options = options;
        _logger = options.LoggerFactory.CreateLogger<PeerListener>();
        _sockets = sockets;
        _handshakes = new HandshakeAdmission(options.MaxConcurrentHandshakes, options.MaxHandshakesPerAddress, options.TimeProvider);
        _limits = new ConnectionLimits<PeerId>(options.MaxConnections, options.MaxConnectionsPerAddress, options.MaxConnectionsPerPeer);
        _refuser = new Refuser(MaxLingeringRefusals, RefusalLinger, options.TimeProvider);
        _throttle = new LogThrottle(options.TimeProvider, LogThrottle.DefaultInterval);
        _addressRate = new TokenBuckets<AddressKey>(options.TimeProvider, options.HandshakesPerSecondPerAddress, options.HandshakeBurstPerAddress, maxEntries: 64 * 1024);
        _groupRate = new TokenBuckets<ulong>(options.TimeProvider, options.HandshakesPerSecondPerAddress * GroupRateFactor, options.HandshakeBurstPerAddress * GroupRateFactor, maxEntries: 64 * 1024);
        _failureThrottle = new LogThrottle(options.TimeProvider, LogThrottle.DefaultInterval);
        _accepted = Channel.CreateBounded<PeerConnection>(new BoundedChannelOptions(options.AcceptQueueLength) { FullMode = BoundedChannelFullMode.Wait });
        LocalPeer = options.Identity!.PeerId;
        ListenAddresses = [.. sockets.Select(s => Multiaddr.FromIPEndPoint((IPEndPoint)s.LocalEndPoint!, "tcp"))];
    }

    /// <summary>This node.</summary>
    public PeerId LocalPeer { get; }

    /// <summary>The bound addresses (wildcards stay wildcards; port 0 is replaced by the real port).</summary>
    public IReadOnlyList<Multiaddr> ListenAddresses { get; }

    /// <summary>Live inbound connections: handshaking, plus authenticated ones (queued or accepted and not yet closed).</summary>
    public int ConnectionCount => _handshakes.Count + _limits.Count;

    /// <summary>Inbound connections still in their handshake (each holds a slot of <see cref="PeerListenerOptions.MaxConcurrentHandshakes"/>).</summary>
    public int HandshakeCount => _handshakes.Count;

    /// <summary>Authenticated inbound connections counted against <see cref="PeerListenerOptions.MaxConnections"/>.</summary>
    public int AuthenticatedCount => _limits.Count;

    /// <summary>Starts listening on every address in the options.</summary>
    public static ValueTask<PeerListener> ListenAsync(PeerListenerOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        cancellationToken.ThrowIfCancellationRequested();
        var addresses = options.ListenAddresses.Count > 0 ? options.ListenAddresses : [Multiaddr.Parse("/ip4/0.0.0.0/tcp/0")];
        var sockets = new List<Socket>();
        try
        {
            foreach (var address in addresses)
            {
                var endPoint = address.ToIPEndPoint();
                var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                sockets.Add(socket);
                if (endPoint.AddressFamily == AddressFamily.InterNetworkV6)
                {
                    socket.DualMode = false;
                }
                if (options.ReusePort)
                {
                    // .NET on Linux sets SO_REUSEADDR and SO_REUSEPORT together: hole punching dials from this port.
                    socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
                }
                try
                {
                    socket.Bind(endPoint);
                }
                catch (SocketException e)
                {
                    throw new PeerException(PeerError.InternalError, $"Cannot listen on {address}: {e.Message}", e);
                }
                socket.Listen(options.ListenBacklog);
            }
        }
        catch
        {
            sockets.ForEach(s => s.Dispose());
            throw;
        }
        var listener = new PeerListener(options, sockets);
        foreach (var socket in sockets)
        {
            var bound = Multiaddr.FromIPEndPoint((IPEndPoint)socket.LocalEndPoint!, "tcp").ToString();
            ConnectionLog.Listening(listener._logger, bound);
            listener._loops.Add(Task.Run(() => listener.AcceptLoopAsync(socket), CancellationToken.None));
        }
        return ValueTask.FromResult(listener);
    }

    /// <summary>
    /// Every address a peer can dial, each ending in <c>/p2p/&lt;PeerId&gt;</c>: wildcard binds are expanded to
    /// the addresses of the host's interfaces that are up.
    /// </summary>
    public IReadOnlyList<Multiaddr> GetDialableAddresses()
    {
        var result = new List<Multiaddr>();
        var p2p = Multiaddr.Parse("/p2p/" + LocalPeer);
        // From the addresses captured at bind: a disposed socket has no LocalEndPoint, and a node asks this during shutdown.
        foreach (var listen in ListenAddresses)
        {
            var bound = listen.ToIPEndPoint();
            if (!bound.Address.Equals(IPAddress.Any) && !bound.Address.Equals(IPAddress.IPv6Any))
            {
                result.Add(Multiaddr.FromIPEndPoint(bound, "tcp").Encapsulate(p2p));
                continue;
            }
            foreach (var address in InterfaceAddresses(bound.AddressFamily))
            {
                result.Add(Multiaddr.FromIPEndPoint(new IPEndPoint(address, bound.Port), "tcp").Encapsulate(p2p));
            }
        }
        return result;
    }

    private static IEnumerable<IPAddress> InterfaceAddresses(AddressFamily family)
    {
        var addresses = NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus is OperationalStatus.Up or OperationalStatus.Unknown)
            .SelectMany(n => n.GetIPProperties().UnicastAddresses)
            .Select(u => u.Address)
            .Where(a => a.AddressFamily == family && !a.IsIPv6LinkLocal)
            .Distinct()
            .ToList();
        // Loopback last: the addresses that other hosts can use are more interesting.
        return addresses.OrderBy(IPAddress.IsLoopback);
    }

    /// <summary>Waits for the next authenticated inbound connection.</summary>
    public async ValueTask<PeerConnection> AcceptAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            return await _accepted.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException e)
        {
            throw new ObjectDisposedException(nameof(PeerListener), e);
        }
    }

    /// <summary>Stops listening. Connections already accepted stay open; ones not yet accepted are closed.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        await _stopping.CancelAsync().ConfigureAwait(false);
        foreach (var socket in _sockets)
        {
            socket.Dispose();
        }
        await Task.WhenAll(_loops).ConfigureAwait(false);
        _accepted.Writer.TryComplete();
        while (_accepted.Reader.TryRead(out var pending))
        {
            await pending.DisposeAsync().ConfigureAwait(false);
        }
        _stopping.Dispose();
    }
}
