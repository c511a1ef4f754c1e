using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pinhole.Connections;
using Pinhole.Dtls.Internal;
using Pinhole.Dtls.Native;

namespace Pinhole.Dtls;

/// <summary>
/// DTLS 1.2 over one <see cref="IDatagramBind"/>: dials peers by address and PeerId
/// (<see cref="ConnectAsync"/>), and accepts them after <see cref="Listen"/>. Sessions are demultiplexed by
/// remote address (one session per address). One receive loop reads the bind and drives every session.
/// </summary>
public sealed class DtlsEndpoint : IAsyncDisposable
{
    // Address → key cache (the seed's "keys can be cached"): bounded, cleared when full.
    private const int MaxCachedKeys = 4096;

    private readonly ConcurrentDictionary<EndPoint, DtlsConnection> _sessions = new();
    private readonly ConcurrentDictionary<EndPoint, Libp2pPublicKey> _keys = new();
    private readonly NativeDtlsContext _context;
    private readonly X509Certificate2 _certificate;
    private readonly CancellationTokenSource _stop = new();
    private readonly ITimer _housekeeping;
    private readonly Lock _listenLock = new();
    private readonly Task _receiveLoop;
    private StatelessListener? _stateless;
    private DtlsListener? _listener;
    private long _nativeSessionsCreated;
    private int _disposed;

    private DtlsEndpoint(DtlsEndpointOptions options, X509Certificate2 certificate, NativeDtlsContext context)
    {
        Options = options;
        Bind = options.Bind!;
        LocalPeer = options.Identity!.PeerId;
        Logger = options.LoggerFactory?.CreateLogger<DtlsEndpoint>() ?? (ILogger)NullLogger.Instance;
        _certificate = certificate;
        _context = context;
        Cookies = new CookieSecret(options.TimeProvider, options.CookieSecretLifetime);
        HalfOpen = new HandshakeAdmission(options.MaxHalfOpenSessions, options.MaxHalfOpenSessionsPerAddress, options.TimeProvider);
        TimeSpan period = Min(options.HandshakeTimeout, options.IdleTimeout == Timeout.InfiniteTimeSpan ? options.HandshakeTimeout : options.IdleTimeout) / 4;
        period = period < TimeSpan.FromMilliseconds(50) ? TimeSpan.FromMilliseconds(50) : period > TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : period;
        _housekeeping = options.TimeProvider.CreateTimer(static s => ((DtlsEndpoint)s!).Housekeeping(), this, period, period);
        _receiveLoop = Task.Run(ReceiveLoopAsync);
    }

    /// <summary>Creates an endpoint on <see cref="DtlsEndpointOptions.Bind"/> with a fresh libp2p certificate for the identity.</summary>
    /// <exception cref="ArgumentException">The options are invalid (checked before anything starts).</exception>
    public static DtlsEndpoint Create(DtlsEndpointOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        X509Certificate2 certificate = options.CertificateOverride ?? Libp2pCertificate.Create(options.Identity!, options.TimeProvider);
        NativeDtlsContext context;
        try
        {
            context = NativeDtlsContext.Create(certificate);
        }
        catch (OpenSslException e)
        {
            certificate.Dispose();
            throw new PeerException(PeerError.InternalError, $"OpenSSL could not set up DTLS: {e.Message}", e);
        }
        return new DtlsEndpoint(options, certificate, context);
    }

    /// <summary>The address of the underlying bind.</summary>
    public EndPoint LocalEndPoint => Bind.LocalEndPoint;

    /// <summary>This node's PeerId, which peers verify.</summary>
    public PeerId LocalPeer { get; }

    /// <summary>The certificate this endpoint presents (fresh per endpoint, signed by the node key).</summary>
    public X509Certificate2 LocalCertificate => _certificate;

    /// <summary>Sessions in progress or established, both roles.</summary>
    public int SessionCount => _sessions.Count;

    internal DtlsEndpointOptions Options { get; }

    internal IDatagramBind Bind { get; }

    internal ILogger Logger { get; }

    /// <summary>SSL objects this endpoint has created (for tests: spoofed ClientHellos must not create any).</summary>
    internal long NativeSessionsCreated => Interlocked.Read(ref _nativeSessionsCreated);

    internal StatelessListener? Stateless => _stateless;

    /// <summary>
    /// Decryption buffer of the receive loop (the only caller): the largest DTLS plaintext record, 2^14 bytes
    /// (RFC 6347 §4.1 via RFC 5246 §6.2.1).
    /// </summary>
    internal byte[] ReadScratch { get; } = new byte[16384];

    /// <summary>Server sessions whose cookie verified but whose handshake has not completed, shared fairly between sources.</summary>
    internal HandshakeAdmission HalfOpen { get; }

    /// <summary>The HelloVerifyRequest cookie secret (one per endpoint, rotating).</summary>
    internal CookieSecret Cookies { get; }

    internal bool HasAcceptRoom => _listener?.HasRoom ?? false;

    /// <summary>
    /// Opens a DTLS session to <paramref name="remote"/> and checks that the peer there proves
    /// <paramref name="target"/>. Throws <see cref="PeerException"/>: <see cref="PeerError.PeerMismatch"/>
    /// naming both PeerIds, <see cref="PeerError.Timeout"/>, <see cref="PeerError.HandshakeFailed"/>,
    /// <see cref="PeerError.InvalidCertificate"/> or <see cref="PeerError.LimitExceeded"/>.
    /// </summary>
    public async Task<DtlsConnection> ConnectAsync(EndPoint remote, PeerId target, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(remote);
        ArgumentNullException.ThrowIfNull(target);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (_sessions.Count >= Options.MaxSessions)
        {
            throw new PeerException(PeerError.LimitExceeded, $"The endpoint already has {Options.MaxSessions} DTLS sessions (MaxSessions).");
        }

        await CheckAdvertisedKeyAsync(remote, target, cancellationToken).ConfigureAwait(false);

        NativeDtlsSession native = CreateNativeSession();
        native.SetConnectState();
        DtlsConnection connection = DtlsConnection.CreateClient(this, native, remote, target);
        if (!_sessions.TryAdd(remote, connection))
        {
            native.Dispose();
            throw new PeerException(PeerError.Refused, $"A DTLS session with {remote} already exists on this endpoint (one per address).");
        }
        await SendAllAsync(remote, connection.Core.Start()).ConfigureAwait(false);
        try
        {
            await connection.HandshakeTask.WaitAsync(Options.HandshakeTimeout, Options.TimeProvider, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException e)
        {
            var timeout = new PeerException(PeerError.Timeout, $"The DTLS handshake with {target} at {remote} did not complete within {Options.HandshakeTimeout}.", e);
            connection.Core.Close(timeout, notify: false);
            throw timeout;
        }
        catch (OperationCanceledException)
        {
            connection.Core.Close(new PeerException(PeerError.ConnectionClosed, "The connect was cancelled."), notify: false);
            throw;
        }
        catch (PeerException e)
        {
            throw new PeerException(e.Error, e.Message, e);
        }
        return connection;
    }

    /// <summary>
    /// Starts answering ClientHellos (cookie exchange first) and returns the listener that hands out the
    /// established connections. One listener per endpoint.
    /// </summary>
    public DtlsListener Listen()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        lock (_listenLock)
        {
            if (_listener is not null)
            {
                throw new InvalidOperationException("This endpoint is already listening.");
            }
            _listener = new DtlsListener(this, Options.AcceptQueueCapacity);
            _stateless = new StatelessListener(this);
            DtlsLog.Listening(Logger, LocalPeer, LocalEndPoint);
            return _listener;
        }
    }

    /// <summary>Closes every session (close_notify), stops the receive loop and releases the bind unless told not to.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        if (_listener is { } listener)
        {
            await listener.DisposeAsync().ConfigureAwait(false);
        }
        foreach (DtlsConnection connection in _sessions.Values)
        {
            List<byte[]>? output = connection.Core.Close(new PeerException(PeerError.ConnectionClosed, "The DTLS endpoint was disposed."), notify: true);
            await SendAllAsync(connection.RemoteEndPoint, output).ConfigureAwait(false);
        }
        await _stop.CancelAsync().ConfigureAwait(false);
        await _housekeeping.DisposeAsync().ConfigureAwait(false);
        if (!Options.LeaveBindOpen)
        {
            await Bind.DisposeAsync().ConfigureAwait(false);
        }
        try
        {
            await _receiveLoop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        lock (_listenLock)
        {
            _stateless?.Dispose();
            _stateless = null;
            _retiredStateless?.Dispose();
            _retiredStateless = null;
        }
        _context.Dispose();
        _certificate.Dispose();
        _stop.Dispose();
    }

    internal NativeDtlsSession CreateNativeSession()
    {
        Interlocked.Increment(ref _nativeSessionsCreated);
        try
        {
            return NativeDtlsSession.Create(_context, Options.MaxDatagramSize);
        }
        catch (OpenSslException e)
        {
            throw new PeerException(PeerError.InternalError, $"OpenSSL could not create a DTLS session: {e.Message}", e);
        }
    }

    internal uint NextRetransmitTimeout(uint previousMicroseconds)
    {
        double initial = Options.InitialRetransmitTimeout.TotalMicroseconds;
        double max = Options.MaxRetransmitTimeout.TotalMicroseconds;
        double next = previousMicroseconds == 0 ? initial : Math.Min(previousMicroseconds * 2.0, max);
        return (uint)Math.Clamp(next, 1000, uint.MaxValue);
    }

    internal void OnEstablished(DtlsConnection connection)
    {
        if (connection.IsClient)
        {
            return;
        }
        DtlsListener? listener = _listener;
        if (listener is null || !listener.TryEnqueue(connection))
        {
            DtlsLog.Refused(Logger, connection.RemoteEndPoint, "the accept queue is full or the listener closed");
            SendDetached(connection.RemoteEndPoint, connection.Core.Close(
                new PeerException(PeerError.Refused, "The listener could not take the connection."), notify: true));
        }
    }

    internal void Remove(DtlsConnection connection)
        => _sessions.TryRemove(new KeyValuePair<EndPoint, DtlsConnection>(connection.RemoteEndPoint, connection));

    internal void StopListening(DtlsListener listener)
    {
        lock (_listenLock)
        {
            if (_listener == listener)
            {
                _listener = null;
                // The receive loop may be using the stateless listener; it is disposed with the endpoint.
                _retiredStateless?.Dispose();
                _retiredStateless = _stateless;
                _stateless = null;
            }
        }
    }

    private StatelessListener? _retiredStateless;

    internal Libp2pPublicKey? ExpectedKey(EndPoint remote, PeerId target)
        => _keys.TryGetValue(remote, out Libp2pPublicKey? key) && target.Matches(key) ? key : null;

    internal void RememberKey(EndPoint remote, Libp2pPublicKey key)
    {
        if (_keys.Count >= MaxCachedKeys)
        {
            _keys.Clear();
        }
        _keys[remote] = key;
    }

    internal async ValueTask SendAllAsync(EndPoint remote, List<byte[]>? datagrams)
    {
        if (datagrams is null)
        {
            return;
        }
        foreach (byte[] datagram in datagrams)
        {
            try
            {
                await Bind.SendPacketAsync(remote, datagram, _stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is System.Net.Sockets.SocketException or ObjectDisposedException or OperationCanceledException)
            {
                DtlsLog.SendFailed(Logger, remote, e);
                return;
            }
        }
    }

    internal void SendDetached(EndPoint remote, List<byte[]>? datagrams)
    {
        if (datagrams is not null)
        {
            _ = SendAllAsync(remote, datagrams).AsTask();
        }
    }

    private async Task CheckAdvertisedKeyAsync(EndPoint remote, PeerId target, CancellationToken cancellationToken)
    {
        if (ExpectedKey(remote, target) is not null)
        {
            return;
        }
        Libp2pPublicKey? advertised = await Bind.ObtainPublicKeyAsync(remote, cancellationToken).ConfigureAwait(false);
        if (advertised is null)
        {
            return;
        }
        if (!target.Matches(advertised))
        {
            throw new PeerException(PeerError.PeerMismatch,
                $"Dialled {target} at {remote} but the key the bind reports there belongs to {advertised.PeerId}.");
        }
        RememberKey(remote, advertised);
    }

    private async Task ReceiveLoopAsync()
    {
        byte[] buffer = new byte[65536];
        CancellationToken stop = _stop.Token;
        while (!stop.IsCancellationRequested)
        {
            DatagramReceiveResult received;
            try
            {
                received = await Bind.ReceivePacketAsync(buffer, stop).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException || stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                DtlsLog.ReceiveLoopFailed(Logger, LocalEndPoint, e);
                return;
            }
            try
            {
                await DispatchAsync(received.RemoteEndPoint, buffer.AsMemory(0, received.Length)).ConfigureAwait(false);
            }
            catch (PeerException e)
            {
                DtlsLog.Refused(Logger, received.RemoteEndPoint, e.Message);
            }
            catch (OpenSslException e)
            {
                DtlsLog.Refused(Logger, received.RemoteEndPoint, e.Message);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // One bad datagram must not stop the loop that serves every session: log it and go on.
                DtlsLog.DatagramFailed(Logger, received.RemoteEndPoint, e);
            }
        }
    }

    private async ValueTask DispatchAsync(EndPoint source, ReadOnlyMemory<byte> datagram)
    {
        if (_sessions.TryGetValue(source, out DtlsConnection? connection))
        {
            // A ClientHello with a fresh random on an established session: the peer restarted and is
            // handshaking again from the same address (RFC 6347 §4.2.8). It must pass the cookie exchange
            // before it can replace the old session; retransmitted and duplicated ClientHellos are ignored.
            if (_stateless is not null && IsNewClientHello(connection, datagram.Span) && connection.Core.IsEstablished)
            {
                await AcceptFromUnknownAsync(source, datagram, connection).ConfigureAwait(false);
                return;
            }
            connection.OnHandshakeProgress();
            List<byte[]>? output = connection.Core.OnDatagram(datagram.Span);
            await SendAllAsync(source, output).ConfigureAwait(false);
            return;
        }
        await AcceptFromUnknownAsync(source, datagram, null).ConfigureAwait(false);
    }

    private static bool IsNewClientHello(DtlsConnection connection, ReadOnlySpan<byte> datagram)
    {
        ReadOnlySpan<byte> random = DtlsRecord.ClientRandom(datagram);
        return !random.IsEmpty && !random.SequenceEqual(connection.ClientHelloRandom);
    }

    private async ValueTask AcceptFromUnknownAsync(EndPoint source, ReadOnlyMemory<byte> datagram, DtlsConnection? replacing)
    {
        StatelessListener? stateless = _stateless;
        if (stateless is null)
        {
            return;
        }
        byte[]? reply = stateless.OnDatagram(source, datagram.Span, replacing is not null, out NativeDtlsSession? accepted);
        if (reply is not null)
        {
            await SendAllAsync(source, [reply]).ConfigureAwait(false);
        }
        if (accepted is null)
        {
            return;
        }
        if (replacing is not null)
        {
            // No close_notify: the peer has already forgotten the old session.
            replacing.Core.Close(new PeerException(PeerError.ConnectionClosed, $"The peer at {source} started a new DTLS handshake, replacing this session."), notify: false);
        }
        HandshakeAdmission.Ticket? ticket = stateless.HalfOpenTicket;
        stateless.HalfOpenTicket = null;
        DtlsConnection incoming = DtlsConnection.CreateServer(this, accepted, source, DtlsRecord.ClientRandom(datagram.Span[stateless.AcceptedRecord]).ToArray());
        if (!_sessions.TryAdd(source, incoming))
        {
            ticket?.Dispose();
            accepted.Dispose();
            return;
        }
        incoming.HoldHalfOpen(ticket);
        await SendAllAsync(source, incoming.Core.Start()).ConfigureAwait(false);
    }

    private void Housekeeping()
    {
        long now = Options.TimeProvider.GetTimestamp();
        foreach (DtlsConnection connection in _sessions.Values)
        {
            if (connection.Core.CheckTimers(now) is { } reason)
            {
                SendDetached(connection.RemoteEndPoint, connection.Core.Close(reason, notify: reason.Error == PeerError.IdleTimeout));
            }
        }
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}
