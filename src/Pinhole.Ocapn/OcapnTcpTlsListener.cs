using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pinhole.Connections;
using Pinhole.Ocapn.Internal;

namespace Pinhole.Ocapn;

/// <summary>
/// Accepts <c>tcp-tls</c> connections: for each TCP connection it writes the 4-byte length and certificate PEM,
/// then runs the TLS handshake as server; finished connections wait in <see cref="AcceptAsync"/>.
/// Established connections (queued, or accepted and not disposed) never exceed
/// <see cref="OcapnTcpTlsListenerOptions.MaxConnections"/>; sockets that have merely connected do not count against
/// it but against a handshake budget that silent and slow sockets cannot hold (the same admission control as
/// <see cref="PeerListener"/>, docs/reliability.md). Refused dialers get a reason at once.
/// </summary>
public sealed class OcapnTcpTlsListener : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly OcapnTcpTlsListenerOptions _options;
    private readonly ILogger _log;
    private readonly byte[] _header;
    private readonly SslStreamCertificateContext _certificateContext;
    private readonly Channel<OcapnTcpTlsConnection> _accepted = Channel.CreateUnbounded<OcapnTcpTlsConnection>();
    private readonly CancellationTokenSource _stop = new();
    private readonly byte[] _refusal;
    private readonly HandshakeAdmission _handshakes;
    private readonly ConnectionLimits<string> _limits;
    private readonly Refuser _refuser;
    private readonly TokenBuckets<AddressKey> _addressRate;
    private readonly TokenBuckets<ulong> _groupRate;
    private readonly LogThrottle _refusalLog;
    private readonly LogThrottle _failureLog;
    private Task _acceptLoop = Task.CompletedTask;
    private int _disposed;

    private const string Transport = "tcp-tls";

    private OcapnTcpTlsListener(Socket socket, OcapnTcpTlsListenerOptions options, OcapnLocator locator)
    {
        _socket = socket;
        _options = options;
        _log = options.Logger ?? NullLogger.Instance;
        var node = options.Node!;
        _header = PreTls.Header(node.CertificatePem.Span);
        _certificateContext = SslStreamCertificateContext.Create(node.Certificate, additionalCertificates: null, offline: true);
        _refusal = PreTls.Refusal($"connection limit reached (max-connections {options.MaxConnections})");
        _handshakes = new HandshakeAdmission(options.MaxConcurrentHandshakes, options.MaxHandshakesPerAddress, options.TimeProvider);
        _limits = new ConnectionLimits<string>(options.MaxConnections, options.MaxConnectionsPerAddress, options.MaxConnectionsPerPeer);
        _refuser = new Refuser(PeerListener.MaxLingeringRefusals, PeerListener.RefusalLinger, options.TimeProvider);
        _addressRate = new TokenBuckets<AddressKey>(options.TimeProvider, options.HandshakesPerSecondPerAddress, options.HandshakeBurstPerAddress, 64 * 1024);
        _groupRate = new TokenBuckets<ulong>(options.TimeProvider, options.HandshakesPerSecondPerAddress * PeerListener.GroupRateFactor, options.HandshakeBurstPerAddress * PeerListener.GroupRateFactor, 64 * 1024);
        _refusalLog = new LogThrottle(options.TimeProvider, LogThrottle.DefaultInterval);
        _failureLog = new LogThrottle(options.TimeProvider, LogThrottle.DefaultInterval);
        LocalEndPoint = (IPEndPoint)socket.LocalEndPoint!;
        Locator = locator;
    }

    /// <summary>Where the listener is bound (the actual port when 0 was asked for).</summary>
    public IPEndPoint LocalEndPoint { get; }

    /// <summary>This node's locator: its designator with the advertised host and the bound port as hints.</summary>
    public OcapnLocator Locator { get; }

    /// <summary>Established connections counted against <see cref="OcapnTcpTlsListenerOptions.MaxConnections"/> right now.</summary>
    public int LiveConnections => _limits.Count;

    /// <summary>Handshakes in progress (each holds a slot of <see cref="OcapnTcpTlsListenerOptions.MaxConcurrentHandshakes"/>).</summary>
    public int HandshakeCount => _handshakes.Count;

    internal static async Task<OcapnTcpTlsListener> StartAsync(OcapnTcpTlsListenerOptions options, CancellationToken cancellationToken)
    {
        options.Validate();
        var node = options.Node!;
        var endPoint = options.ListenEndPoint;
        if (endPoint.Port == 0 && node.ListenPort is { } remembered)
        {
            endPoint = new IPEndPoint(endPoint.Address, remembered);
        }
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (endPoint.Address.Equals(IPAddress.IPv6Any))
            {
                socket.DualMode = true;
            }
            socket.Bind(endPoint);
            socket.Listen(options.ListenBacklog);
        }
        catch (SocketException ex)
        {
            socket.Dispose();
            throw new PeerException(PeerError.InternalError, $"Cannot listen for tcp-tls on {endPoint}: {ex.Message}", ex);
        }
        var bound = (IPEndPoint)socket.LocalEndPoint!;
        if (options.PersistListenPort && options.ListenEndPoint.Port != 0 && node.ListenPort != bound.Port)
        {
            try
            {
                await node.SaveListenPortAsync(bound.Port, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }
        var host = options.AdvertisedHost
            ?? (bound.Address.Equals(IPAddress.Any) || bound.Address.Equals(IPAddress.IPv6Any) ? "localhost" : bound.Address.ToString());
        var listener = new OcapnTcpTlsListener(socket, options, node.GetLocator(host, bound.Port));
        listener._acceptLoop = Task.Run(listener.AcceptLoopAsync, CancellationToken.None);
        OcapnLog.Listening(listener._log, bound, listener.Locator.ToString());
        return listener;
    }

    /// <summary>Waits for the next connection whose TLS handshake has completed.</summary>
    /// <exception cref="ObjectDisposedException">The listener was disposed.</exception>
    public async ValueTask<OcapnTcpTlsConnection> AcceptAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            return await _accepted.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException ex)
        {
            throw new ObjectDisposedException(nameof(OcapnTcpTlsListener), ex);
        }
    }

    private async Task AcceptLoopAsync()
    {
        var token = _stop.Token;
        var backoff = new AcceptBackoff(_options.TimeProvider);
        while (!token.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _socket.AcceptAsync(token).ConfigureAwait(false);
                backoff.Reset();
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
            {
                break;
            }
            catch (SocketException ex) when (AcceptBackoff.IsTransient(ex))
            {
                continue;
            }
            catch (SocketException ex)
            {
                // Out of descriptors or memory: never give up, wait and retry (the kernel keeps the backlog).
                AdmissionMetrics.CountAcceptError(Transport, AcceptBackoff.Describe(ex));
                if (_failureLog.ShouldLog(out var suppressed))
                {
                    OcapnLog.AcceptFailed(_log, AcceptBackoff.Describe(ex), suppressed, ex);
                }
                if (AcceptBackoff.IsResourceExhaustion(ex))
                {
                    _handshakes.EvictLeastAdvanced();
                }
                try
                {
                    await backoff.WaitAsync(token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
                continue;
            }
            // Short of descriptors (DescriptorReserve): reset this one at once and evict a stranger, so each such
            // accept gives back more than it took (an evicted handshake closes its socket only when its task runs).
            if (!DescriptorReserve.Process.HasRoom())
            {
                AdmissionMetrics.CountDescriptorShortage(Transport, _handshakes.EvictLeastAdvanced() ? "evicted" : "reset");
                Count(null, "descriptors");
                Refuser.Reset(socket);
                DescriptorReserve.Process.Returned();
                continue;
            }
            Admit(socket);
        }
        _accepted.Writer.TryComplete();
    }

    private void Admit(Socket socket)
    {
        IPEndPoint? remote;
        try
        {
            socket.NoDelay = true;
            remote = socket.RemoteEndPoint as IPEndPoint;
        }
        catch (SocketException)
        {
            socket.Dispose();
            return;
        }
        var key = AddressKey.From(remote);
        if (!_addressRate.TryTake(key) || !_groupRate.TryTake(key.Group))
        {
            Count(remote, "rate_limit");
            Refuser.Reset(socket);
            return;
        }
        var limit = _limits.Precheck(key);
        if (limit != LimitRefusal.None)
        {
            Refuse(socket, remote, limit == LimitRefusal.ConnectionLimit ? "connection_limit" : "address_limit", limit);
            return;
        }
        var refusal = _handshakes.TryAdmit(key, out var ticket, () => socket.Available > 0);
        if (refusal != AdmissionRefusal.None)
        {
            Refuse(socket, remote, refusal == AdmissionRefusal.AddressLimit ? "handshake_address_limit" : "handshake_budget", LimitRefusal.None);
            return;
        }
        _ = HandshakeAsync(socket, remote, key, ticket!);
    }

    private void Count(IPEndPoint? remote, string reason)
    {
        AdmissionMetrics.CountRefused(Transport, reason);
        OcapnMetrics.RefusedOverCap.Add(1);
        if (_refusalLog.ShouldLog(out var suppressed))
        {
            OcapnLog.Refused(_log, remote, reason, suppressed);
        }
    }

    /// <summary>Pinhole's refusal: length 0, a short reason, end of stream (see <see cref="PreTls"/>).</summary>
    private void Refuse(Socket socket, IPEndPoint? remote, string reason, LimitRefusal limit)
    {
        Count(remote, reason);
        var message = limit == LimitRefusal.ConnectionLimit ? _refusal
            : PreTls.Refusal(limit == LimitRefusal.AddressLimit
                ? $"too many connections from your address (max {_options.MaxConnectionsPerAddress})"
                : "too many handshakes in progress; try again");
        _refuser.Refuse(socket, message, _stop.Token);
    }

    private async Task HandshakeAsync(Socket socket, IPEndPoint? remote, AddressKey key, HandshakeAdmission.Ticket ticket)
    {
        AdmissionMetrics.HandshakeStarted(Transport);
        var owned = true;
        var counted = false;
        string? designator = null;
        var local = socket.LocalEndPoint as IPEndPoint;
        SslStream? ssl = null;
        InboundHandshakeStream? raw = null;
        using var timeout = _options.HandshakeTimeout == Timeout.InfiniteTimeSpan
            ? new CancellationTokenSource()
            : new CancellationTokenSource(_options.HandshakeTimeout, _options.TimeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token, timeout.Token, ticket.Evicted);
        using var firstByte = new CancellationTokenSource(_options.FirstByteTimeout, _options.TimeProvider);
        using var firstByteLinked = CancellationTokenSource.CreateLinkedTokenSource(linked.Token, firstByte.Token);
        var waitingForFirstByte = false;
        try
        {
            // The listener speaks first (the PEM preamble); then the dialer must start TLS promptly.
            await socket.SendAsync(_header, SocketFlags.None, linked.Token).ConfigureAwait(false);
            waitingForFirstByte = true;
            await socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, firstByteLinked.Token).ConfigureAwait(false);
            waitingForFirstByte = false;
            ticket.Advance(HandshakeStage.Negotiating);
            raw = new InboundHandshakeStream(new NetworkStream(socket, ownsSocket: true), ticket);
            raw.ExpectTlsRecord();
            ssl = new SslStream(raw, leaveInnerStreamOpen: false);
            var mode = _options.ClientAuthentication;
            await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
            {
                ServerCertificateContext = _certificateContext,
                ClientCertificateRequired = mode != OcapnClientAuthentication.None,
                CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                EnabledSslProtocols = _options.EnabledSslProtocols,
                AllowRenegotiation = false,
                // A dialer's certificate is self-signed: its identity is its designator, and TLS has proved it holds the key.
                RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null || mode != OcapnClientAuthentication.Required,
            }, linked.Token).ConfigureAwait(false);
            raw.StopTracking();

            X509Certificate2? certificate = null;
            if (ssl.RemoteCertificate is { } presented)
            {
                certificate = presented as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(presented.GetRawCertData());
                designator = OcapnDesignator.FromCertificate(certificate);
            }
            var limit = _limits.TryAdd(key, designator);
            if (limit != LimitRefusal.None)
            {
                // TLS is up: a close_notify is all a Goblins peer would understand; the reason is in our metrics.
                Count(remote, limit switch
                {
                    LimitRefusal.PeerLimit => "peer_limit",
                    LimitRefusal.AddressLimit => "address_limit",
                    _ => "connection_limit",
                });
                await ssl.ShutdownAsync().ConfigureAwait(false);
                return;
            }
            counted = true;
            ticket.Dispose();
            var connection = new OcapnTcpTlsConnection(ssl, isInbound: true, designator, certificate,
                designator is null ? null : new OcapnLocator(designator, OcapnLocator.TcpTls), local, remote, presentedCertificate: false,
                () => Release(key, designator));
            owned = false;
            counted = false;
            OcapnMetrics.LiveConnections.Add(1);
            OcapnMetrics.Accepted.Add(1);
            AdmissionMetrics.CountAccepted(Transport);
            OcapnLog.Accepted(_log, remote, ssl.SslProtocol.ToString(), designator ?? "anonymous");
            if (!_accepted.Writer.TryWrite(connection))
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
#pragma warning disable CA1031 // A background handshake must never take the process down; every failure is counted.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            var reason = ticket.WasEvicted ? "evicted"
                : waitingForFirstByte && firstByte.IsCancellationRequested && !linked.IsCancellationRequested ? "first_byte_timeout"
                : timeout.IsCancellationRequested ? "timeout"
                : _stop.IsCancellationRequested ? "stopping"
                : ex is PeerException { Error: PeerError.ProtocolViolation } ? "protocol_violation"
                : ex is System.Security.Authentication.AuthenticationException ? "tls"
                : "closed";
            if (reason != "stopping")
            {
                OcapnMetrics.HandshakeFailures.Add(1);
                AdmissionMetrics.CountHandshakeFailed(Transport, reason);
                if (_failureLog.ShouldLog(out var suppressed))
                {
                    OcapnLog.HandshakeFailed(_log, remote, reason == "timeout" ? $"no TLS handshake within {_options.HandshakeTimeout}" : $"{reason}: {ex.Message}", suppressed);
                }
            }
        }
        finally
        {
            if (owned)
            {
                if (counted)
                {
                    _limits.Remove(key, designator);
                }
                if (ssl is not null)
                {
                    await ssl.DisposeAsync().ConfigureAwait(false);
                }
                else if (raw is not null)
                {
                    await raw.DisposeAsync().ConfigureAwait(false);
                }
                else
                {
                    socket.Dispose();
                }
            }
            ticket.Dispose();
            AdmissionMetrics.HandshakeEnded(Transport);
        }
    }

    private void Release(AddressKey key, string? designator)
    {
        _limits.Remove(key, designator);
        OcapnMetrics.LiveConnections.Add(-1);
    }

    /// <summary>Stops listening, abandons handshakes in progress and closes connections not yet accepted.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        await _stop.CancelAsync().ConfigureAwait(false);
        _socket.Dispose();
        await _acceptLoop.ConfigureAwait(false);
        _accepted.Writer.TryComplete();
        while (_accepted.Reader.TryRead(out var pending))
        {
            await pending.DisposeAsync().ConfigureAwait(false);
        }
        _stop.Dispose();
    }
}
