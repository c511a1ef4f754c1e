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
/// is verified. Live inbound connections are capped by <see cref="PeerListenerOptions.MaxConnections"/>.
/// </summary>
public sealed class PeerListener : IAsyncDisposable
{
    private readonly PeerListenerOptions _options;
    private readonly ILogger _logger;
    private readonly List<Socket> _sockets;
    private readonly Channel<PeerConnection> _accepted;
    private readonly SemaphoreSlim _handshakes;
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Task> _loops = [];
    private int _live;
    private int _disposed;

    private PeerListener(PeerListenerOptions options, List<Socket> sockets)
    {
        _options = options;
        _logger = options.LoggerFactory.CreateLogger<PeerListener>();
        _sockets = sockets;
        _handshakes = new SemaphoreSlim(options.MaxConcurrentHandshakes);
        _accepted = Channel.CreateBounded<PeerConnection>(new BoundedChannelOptions(options.AcceptQueueLength) { FullMode = BoundedChannelFullMode.Wait });
        LocalPeer = options.Identity!.PeerId;
        ListenAddresses = [.. sockets.Select(s => Multiaddr.FromIPEndPoint((IPEndPoint)s.LocalEndPoint!, "tcp"))];
    }

    /// <summary>This node.</summary>
    public PeerId LocalPeer { get; }

    /// <summary>The bound addresses (wildcards stay wildcards; port 0 is replaced by the real port).</summary>
    public IReadOnlyList<Multiaddr> ListenAddresses { get; }

    /// <summary>Live inbound connections (handshaking or established).</summary>
    public int ConnectionCount => Volatile.Read(ref _live);

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
                socket.Listen(512);
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
        foreach (var socket in _sockets)
        {
            var bound = (IPEndPoint)socket.LocalEndPoint!;
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

    private async Task AcceptLoopAsync(Socket socket)
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await socket.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException e)
            {
                // Transient (e.g. out of file descriptors, aborted before accept): keep serving.
                ConnectionLog.AcceptError(_logger, e.Message);
                continue;
            }
            client.NoDelay = true;
            if (Interlocked.Increment(ref _live) > _options.MaxConnections)
            {
                ConnectionLog.RefusedOverLimit(_logger, EndPointText(client), _options.MaxConnections);
                _ = RefuseAsync(client);
                continue;
            }
            try
            {
                await _handshakes.WaitAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                Release();
                client.Dispose();
                return;
            }
            _ = Task.Run(() => HandshakeAsync(client));
        }
    }

    private static string EndPointText(Socket socket)
    {
        try
        {
            return socket.RemoteEndPoint?.ToString() ?? "?";
        }
        catch (SocketException)
        {
            return "?";
        }
    }

    private void Release() => Interlocked.Decrement(ref _live);

    private async Task RefuseAsync(Socket client)
    {
        try
        {
            var raw = new NetworkStream(client, ownsSocket: true);
            await using var rawScope = raw.ConfigureAwait(false);
            using var timeout = new Deadline(_options.HandshakeTimeout, _options.TimeProvider, _stopping.Token);
            await ConnectionUpgrader.RefuseAsync(raw, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or SocketException)
        {
            // The dialer went away or misbehaved; it is refused either way.
        }
        finally
        {
            Release();
        }
    }

    private async Task HandshakeAsync(Socket client)
    {
        IPEndPoint? remote = null;
        IPEndPoint? local = null;
        try
        {
            remote = client.RemoteEndPoint as IPEndPoint;
            local = client.LocalEndPoint as IPEndPoint;
        }
        catch (SocketException)
        {
            // Already reset by the dialer; the handshake below fails and frees the slot.
        }
        var remoteText = remote?.ToString() ?? "?";
        var raw = new NetworkStream(client, ownsSocket: true);
        PeerConnection? connection = null;
        try
        {
            using var timeout = new Deadline(_options.HandshakeTimeout, _options.TimeProvider, _stopping.Token);
            var upgraded = await ConnectionUpgrader.UpgradeInboundAsync(raw, _options, timeout.Token).ConfigureAwait(false);
            connection = new PeerConnection(
                upgraded.Session, upgraded.RemoteKey, _options, isInbound: true, "tcp",
                local is null ? null : Multiaddr.FromIPEndPoint(local, "tcp"),
                remote is null ? null : Multiaddr.FromIPEndPoint(remote, "tcp"),
                GetDialableAddresses);
            _ = connection.Completion.ContinueWith(static (_, state) => ((PeerListener)state!).Release(), this, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            ConnectionLog.Connected(_logger, "from", connection.RemotePeer, remoteText);
            if (!_accepted.Writer.TryWrite(connection))
            {
                ConnectionLog.InboundHandshakeFailed(_logger, remoteText, "accept queue full");
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
        catch (Exception e)
        {
            ConnectionLog.InboundHandshakeFailed(_logger, remoteText, e is OperationCanceledException ? "timed out" : e.Message);
            await raw.DisposeAsync().ConfigureAwait(false);
            if (connection is null)
            {
                Release();
            }
        }
        finally
        {
            _handshakes.Release();
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
