using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pinhole.Ocapn.Internal;

namespace Pinhole.Ocapn;

/// <summary>
/// Accepts <c>tcp-tls</c> connections: for each TCP connection it writes the 4-byte length and certificate PEM,
/// then runs the TLS handshake as server; finished connections wait in <see cref="AcceptAsync"/>.
/// Live connections (handshaking, queued, or accepted and not disposed) never exceed
/// <see cref="OcapnTcpTlsListenerOptions.MaxConnections"/>: further ones are refused at once with a reason.
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
    private Task _acceptLoop = Task.CompletedTask;
    private int _live;
    private int _disposed;

    private OcapnTcpTlsListener(Socket socket, OcapnTcpTlsListenerOptions options, OcapnLocator locator)
    {
        _socket = socket;
        _options = options;
        _log = options.Logger ?? NullLogger.Instance;
        var node = options.Node!;
        _header = PreTls.Header(node.CertificatePem.Span);
        _certificateContext = SslStreamCertificateContext.Create(node.Certificate, additionalCertificates: null, offline: true);
        _refusal = PreTls.Refusal($"connection limit reached (max-connections {options.MaxConnections})");
        LocalEndPoint = (IPEndPoint)socket.LocalEndPoint!;
        Locator = locator;
    }

    /// <summary>Where the listener is bound (the actual port when 0 was asked for).</summary>
    public IPEndPoint LocalEndPoint { get; }

    /// <summary>This node's locator: its designator with the advertised host and the bound port as hints.</summary>
    public OcapnLocator Locator { get; }

    /// <summary>Connections counted against the cap right now.</summary>
    public int LiveConnections => Volatile.Read(ref _live);

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
        while (!token.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _socket.AcceptAsync(token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
            {
                break;
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted)
            {
                continue;
            }
            catch (SocketException ex)
            {
                OcapnLog.AcceptLoopFailed(_log, ex);
                break;
            }
            socket.NoDelay = true;
            var live = Interlocked.Increment(ref _live);
            if (live > _options.MaxConnections)
            {
                Interlocked.Decrement(ref _live);
                OcapnMetrics.RefusedOverCap.Add(1);
                OcapnLog.RefusedOverCap(_log, socket.RemoteEndPoint, live - 1, _options.MaxConnections);
                _ = RefuseAsync(socket);
                continue;
            }
            OcapnMetrics.LiveConnections.Add(1);
            _ = HandshakeAsync(socket);
        }
        _accepted.Writer.TryComplete();
    }

    /// <summary>Pinhole's refusal: length 0, a short reason, end of stream (see <see cref="PreTls"/>).</summary>
    private async Task RefuseAsync(Socket socket)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2), _options.TimeProvider);
            await socket.SendAsync(_refusal, SocketFlags.None, timeout.Token).ConfigureAwait(false);
            socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The dialer went away first; nothing to tell it.
        }
        finally
        {
            socket.Dispose();
        }
    }

    private void Release()
    {
        Interlocked.Decrement(ref _live);
        OcapnMetrics.LiveConnections.Add(-1);
    }

    private async Task HandshakeAsync(Socket socket)
    {
        var owned = true;
        var remote = socket.RemoteEndPoint as IPEndPoint;
        var local = socket.LocalEndPoint as IPEndPoint;
        SslStream? ssl = null;
        using var timeout = _options.HandshakeTimeout == Timeout.InfiniteTimeSpan
            ? new CancellationTokenSource()
            : new CancellationTokenSource(_options.HandshakeTimeout, _options.TimeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token, timeout.Token);
        try
        {
            var net = new NetworkStream(socket, ownsSocket: true);
            ssl = new SslStream(net, leaveInnerStreamOpen: false);
            await net.WriteAsync(_header, linked.Token).ConfigureAwait(false);
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

            string? designator = null;
            X509Certificate2? certificate = null;
            if (ssl.RemoteCertificate is { } presented)
            {
                certificate = presented as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(presented.GetRawCertData());
                designator = OcapnDesignator.FromCertificate(certificate);
            }
            var connection = new OcapnTcpTlsConnection(ssl, isInbound: true, designator, certificate,
                designator is null ? null : new OcapnLocator(designator, OcapnLocator.TcpTls), local, remote, presentedCertificate: false, Release);
            owned = false;
            OcapnMetrics.Accepted.Add(1);
            OcapnLog.Accepted(_log, remote, ssl.SslProtocol.ToString(), designator ?? "anonymous");
            if (!_accepted.Writer.TryWrite(connection))
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
#pragma warning disable CA1031 // A background handshake must never take the process down; every failure is logged.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            OcapnMetrics.HandshakeFailures.Add(1);
            OcapnLog.HandshakeFailed(_log, remote, timeout.IsCancellationRequested ? $"no TLS handshake within {_options.HandshakeTimeout}" : ex.Message);
        }
        finally
        {
            if (owned)
            {
                if (ssl is not null)
                {
                    await ssl.DisposeAsync().ConfigureAwait(false);
                }
                else
                {
                    socket.Dispose();
                }
                Release();
            }
        }
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
