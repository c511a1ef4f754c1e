using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pinhole.Dtls;
using Pinhole.Nat.Internal;

namespace Pinhole.Nat;

/// <summary>
/// One UDP socket shared by DTLS, STUN (client and server), TURN and hole-punch connectivity checks,
/// demultiplexed by the first byte of each datagram (RFC 7983): 0-3 STUN, 20-63 DTLS, 64-79 TURN ChannelData.
/// <para>
/// Each protocol gets its own view: <see cref="Stun"/> (client transactions; responses are matched here),
/// <see cref="OpenDtlsBind"/> (an <see cref="IDatagramBind"/> for a <see cref="DtlsEndpoint"/>), STUN handlers
/// (<see cref="AddStunHandler"/>: connectivity checks, TURN Data indications) and the ChannelData handler
/// (<see cref="SetChannelDataHandler"/>). STUN Binding requests nobody claims are answered (the node's STUN
/// server) unless <see cref="UdpMuxOptions.ServeStun"/> is off. Anything else is dropped and counted.
/// </para>
/// <para>
/// The receive path is driven by whoever reads: while the DTLS view is reading, its own
/// <see cref="IDatagramBind.ReceivePacketAsync"/> pulls datagrams straight into the DTLS endpoint's buffer and
/// handles the rare non-DTLS ones inline, so DTLS pays no copy and no thread hop; otherwise a background loop
/// reads. Handlers run on that receive path: they must be quick and must not block.
/// </para>
/// </summary>
public sealed partial class UdpMux : IAsyncDisposable
{
    private readonly IDatagramBind _inner;
    private readonly UdpMuxOptions _options;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _pump = new(1, 1);
    private readonly SemaphoreSlim _wakeBackground = new(0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Channel<QueuedDatagram> _dtlsQueue;
    private readonly ConcurrentDictionary<EndPoint, EndPoint> _aliases = new();
    private readonly ConcurrentDictionary<EndPoint, DatagramHandler> _channelDataSources = new();
    private readonly Lock _handlersLock = new();
    private readonly Task _background;
    private StunMessageHandler[] _stunHandlers = [];
    private DatagramHandler? _channelDataHandler;
    private DtlsView? _dtls;
    private volatile bool _dtlsAttached;
    private long _received, _dropped, _stunAnswered;
    private int _disposed;

    private UdpMux(IDatagramBind inner, UdpMuxOptions options)
    {
        _inner = inner;
        _options = options;
        _logger = options.LoggerFactory?.CreateLogger<UdpMux>() ?? (ILogger)NullLogger.Instance;
        options.StunClient.TimeProvider = options.TimeProvider;
        options.StunClient.LoggerFactory ??= options.LoggerFactory;
        Stun = new StunClient(SendAsync, options.StunClient);
        _dtlsQueue = Channel.CreateBounded<QueuedDatagram>(new BoundedChannelOptions(options.DtlsQueueCapacity)
        {
            FullMode = BoundedChannelFullMode.DropWrite,
            SingleReader = false,
            SingleWriter = false,
        }, static dropped => ArrayPool<byte>.Shared.Return(dropped.Buffer));
        _background = Task.Run(BackgroundLoopAsync);
    }

    /// <summary>Shares <paramref name="bind"/> (a UDP socket, or an in-memory bind in tests); the mux owns it from now on.</summary>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public static UdpMux Create(IDatagramBind bind, UdpMuxOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(bind);
        options ??= new UdpMuxOptions();
        options.Validate();
        options.StunClient.Validate();
        return new UdpMux(bind, options);
    }

    /// <summary>Binds a UDP socket to <paramref name="localEndPoint"/> (port 0 picks one) and shares it.</summary>
    public static UdpMux Bind(IPEndPoint localEndPoint, UdpMuxOptions? options = null) => Create(UdpDatagramBind.Bind(localEndPoint), options);

    /// <summary>The socket's local address.</summary>
    public EndPoint LocalEndPoint => _inner.LocalEndPoint;

    /// <summary>STUN client transactions on this socket (Binding, and TURN's requests).</summary>
    public StunClient Stun { get; }

    /// <summary>Datagrams received, dropped (unknown kind, nobody listening, queue full), and STUN requests answered.</summary>
    public (long Received, long Dropped, long StunAnswered) Statistics =>
        (Interlocked.Read(ref _received), Interlocked.Read(ref _dropped), Interlocked.Read(ref _stunAnswered));

    /// <summary>
    /// The DTLS view: an <see cref="IDatagramBind"/> that receives only DTLS datagrams (from the socket, and
    /// through routes such as TURN, reported with a <see cref="RoutedEndPoint"/> source) and sends through the
    /// mux. One view at a time; disposing it leaves the socket open, and a new one may be opened after.
    /// </summary>
    /// <exception cref="InvalidOperationException">A DTLS view is already open.</exception>
    public IDatagramBind OpenDtlsBind()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var view = new DtlsView(this);
        if (Interlocked.CompareExchange(ref _dtls, view, null) is not null)
        {
            throw new InvalidOperationException("This UDP mux already has an open DTLS view.");
        }
        return view;
    }

    /// <summary>
    /// Adds a handler offered every STUN request and indication that is not a response to <see cref="Stun"/>,
    /// in the order added, until one returns true. Dispose the result to remove it.
    /// </summary>
    public IDisposable AddStunHandler(StunMessageHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        lock (_handlersLock)
        {
            _stunHandlers = [.. _stunHandlers, handler];
        }
        return new Registration(() =>
        {
            lock (_handlersLock)
            {
                _stunHandlers = [.. _stunHandlers.Where(h => h != handler)];
            }
        });
    }

    /// <summary>
    /// Sets the handler of TURN ChannelData datagrams from sources no <see cref="TurnAllocation"/> claims
    /// (allocations register their server themselves); null removes it.
    /// </summary>
    public void SetChannelDataHandler(DatagramHandler? handler) => Volatile.Write(ref _channelDataHandler, handler);

    /// <summary>Routes ChannelData from <paramref name="server"/> to <paramref name="handler"/> (one TURN allocation per server).</summary>
    internal IDisposable AddChannelDataSource(EndPoint server, DatagramHandler handler)
    {
        if (!_channelDataSources.TryAdd(server, handler))
        {
            throw new InvalidOperationException($"This UDP mux already has a TURN allocation on {server}.");
        }
        return new Registration(() => _channelDataSources.TryRemove(new KeyValuePair<EndPoint, DatagramHandler>(server, handler)));
    }

    /// <summary>
    /// Reports DTLS datagrams from <paramref name="remote"/> as coming from <paramref name="alias"/> (a peer's
    /// path-independent address), or stops doing so when <paramref name="alias"/> is null.
    /// </summary>
    public void SetAlias(EndPoint remote, EndPoint? alias)
    {
        ArgumentNullException.ThrowIfNull(remote);
        if (alias is null)
        {
            _aliases.TryRemove(remote, out _);
        }
        else
        {
            _aliases[remote] = alias;
        }
    }

    /// <summary>Sends one datagram: through the route for a <see cref="RoutedEndPoint"/>, else from the socket.</summary>
    public ValueTask SendAsync(EndPoint remote, ReadOnlyMemory<byte> datagram, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(remote);
        return remote is RoutedEndPoint routed ? routed.SendAsync(datagram, cancellationToken) : _inner.SendPacketAsync(remote, datagram, cancellationToken);
    }

    /// <summary>
    /// Hands a datagram that arrived through a route (the payload of a TURN ChannelData or Data indication) to
    /// the view its first byte selects, as if it came from <paramref name="source"/>.
    /// </summary>
    public void DeliverRouted(RoutedEndPoint source, ReadOnlySpan<byte> datagram)
    {
        ArgumentNullException.ThrowIfNull(source);
        switch (DatagramClassifier.Classify(datagram))
        {
            case DatagramKind.Dtls:
                EnqueueDtls(source, datagram);
                break;
            case DatagramKind.Stun:
                DispatchStun(source, datagram);
                break;
            default:
                Interlocked.Increment(ref _dropped);
                break;
        }
    }

    /// <summary>Fails the STUN client's pending requests, closes the DTLS view and the socket.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        await Stun.DisposeAsync().ConfigureAwait(false);
        await _stop.CancelAsync().ConfigureAwait(false);
        _dtlsQueue.Writer.TryComplete(new ObjectDisposedException(nameof(UdpMux)));
        await _inner.DisposeAsync().ConfigureAwait(false);
        try
        {
            await _background.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        while (_dtlsQueue.Reader.TryRead(out QueuedDatagram queued))
        {
            ArrayPool<byte>.Shared.Return(queued.Buffer);
        }
        _stop.Dispose();
    }

    private async Task BackgroundLoopAsync()
    {
        byte[] buffer = new byte[65536];
        CancellationToken stop = _stop.Token;
        try
        {
            while (!stop.IsCancellationRequested)
            {
                if (_dtlsAttached)
                {
                    await _wakeBackground.WaitAsync(stop).ConfigureAwait(false);
                    continue;
                }
                await _pump.WaitAsync(stop).ConfigureAwait(false);
                try
                {
                    while (!_dtlsAttached && !stop.IsCancellationRequested)
                    {
                        DatagramReceiveResult r = await _inner.ReceivePacketAsync(buffer, stop).ConfigureAwait(false);
                        Dispatch(r.RemoteEndPoint, buffer.AsSpan(0, r.Length), dtlsInline: false);
                    }
                }
                finally
                {
                    _pump.Release();
                }
            }
        }
        catch (Exception) when (stop.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is ObjectDisposedException or SocketException or OperationCanceledException or ChannelClosedException)
        {
            NatLog.MuxLoopFailed(_logger, LocalEndPoint, e);
        }
    }

    /// <summary>Handles one datagram; returns true when it is DTLS and <paramref name="dtlsInline"/> (the caller delivers it).</summary>
    private bool Dispatch(EndPoint source, ReadOnlySpan<byte> datagram, bool dtlsInline)
    {
        Interlocked.Increment(ref _received);
        switch (DatagramClassifier.Classify(datagram))
        {
            case DatagramKind.Dtls:
                if (dtlsInline)
                {
                    return true;
                }
                EnqueueDtls(Alias(source), datagram);
                return false;
            case DatagramKind.Stun:
                DispatchStun(source, datagram);
                return false;
            case DatagramKind.ChannelData:
                if ((!_channelDataSources.IsEmpty && _channelDataSources.TryGetValue(source, out DatagramHandler? turn) ? turn : Volatile.Read(ref _channelDataHandler)) is { } handler)
                {
                    try
                    {
                        handler(source, datagram);
                    }
                    catch (Exception e)
                    {
                        NatLog.MuxHandlerFailed(_logger, LocalEndPoint, "ChannelData", e);
                    }
                }
                else
                {
                    Drop(source, "ChannelData without a TURN client");
                }
                return false;
            default:
                Drop(source, $"first byte {(datagram.IsEmpty ? "none" : datagram[0].ToString(System.Globalization.CultureInfo.InvariantCulture))}");
                return false;
        }
    }

    private void DispatchStun(EndPoint source, ReadOnlySpan<byte> datagram)
    {
        if (!StunMessage.LooksLikeStun(datagram))
        {
            Drop(source, "not a whole STUN message");
            return;
        }
        // Class bits C1 (0x0100) and C0 (0x0010): responses have C1 set.
        bool response = (datagram[0] & 0x01) != 0;
        if (response)
        {
            if (!Stun.TryHandleResponse(source, datagram))
            {
                Drop(source, "STUN response to no request in flight");
            }
            return;
        }
        if (!StunMessage.TryParse(datagram, out StunMessage? message, out string? error))
        {
            NatLog.StunMalformed(_logger, source, error);
            Interlocked.Increment(ref _dropped);
            return;
        }
        foreach (StunMessageHandler handler in Volatile.Read(ref _stunHandlers))
        {
            try
            {
                if (handler(source, message))
                {
                    return;
                }
            }
            catch (Exception e)
            {
                // A handler's bug must not stop the receive path that every protocol on the socket shares.
                NatLog.MuxHandlerFailed(_logger, LocalEndPoint, "STUN", e);
            }
        }
        if (_options.ServeStun && message.Class == StunClass.Request && source is IPEndPoint ip && LocalEndPoint is IPEndPoint local)
        {
            byte[]? reply = StunServer.CreateResponse(datagram, ip, local, null, _options.StunSoftware, out _);
            if (reply is not null)
            {
                Interlocked.Increment(ref _stunAnswered);
                _ = SendDetachedAsync(source, reply);
                return;
            }
        }
        Drop(source, $"STUN {message.Method} {message.Class} nobody handles");
    }

    private async Task SendDetachedAsync(EndPoint remote, byte[] datagram)
    {
        try
        {
            await SendAsync(remote, datagram, _stop.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
        {
            NatLog.StunSendFailed(_logger, remote, e);
        }
    }

    private void EnqueueDtls(EndPoint source, ReadOnlySpan<byte> datagram)
    {
        if (Volatile.Read(ref _dtls) is null)
        {
            Drop(source, "DTLS without a DTLS view");
            return;
        }
        byte[] copy = ArrayPool<byte>.Shared.Rent(datagram.Length);
        datagram.CopyTo(copy);
        if (!_dtlsQueue.Writer.TryWrite(new QueuedDatagram(source, copy, datagram.Length)))
        {
            ArrayPool<byte>.Shared.Return(copy);
            Drop(source, "DTLS queue full");
        }
    }

    private EndPoint Alias(EndPoint source) => !_aliases.IsEmpty && _aliases.TryGetValue(source, out EndPoint? alias) ? alias : source;

    private void Drop(EndPoint source, string reason)
    {
        Interlocked.Increment(ref _dropped);
        NatLog.MuxDropped(_logger, LocalEndPoint, source, reason);
    }

    private readonly record struct QueuedDatagram(EndPoint Source, byte[] Buffer, int Length);

    private sealed class Registration(Action remove) : IDisposable
    {
        private Action? _remove = remove;

        public void Dispose() => Interlocked.Exchange(ref _remove, null)?.Invoke();
    }
}

/// <summary>Offered a STUN request or indication received on a <see cref="UdpMux"/>; returns true when it handled it.</summary>
public delegate bool StunMessageHandler(EndPoint source, StunMessage message);

/// <summary>Receives one datagram on the mux's receive path; the span is valid only during the call.</summary>
public delegate void DatagramHandler(EndPoint source, ReadOnlySpan<byte> datagram);
