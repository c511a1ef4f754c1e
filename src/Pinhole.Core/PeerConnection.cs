using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Pinhole.Connections;
using Pinhole.Protocols;
using Pinhole.Transport.Multistream;
using Pinhole.Transport.Yamux;

namespace Pinhole;

/// <summary>
/// An authenticated, encrypted, multiplexed connection to one peer. Shaped like
/// <c>System.Net.Quic.QuicConnection</c>: <see cref="ConnectAsync"/> dials, <see cref="PeerListener"/> accepts,
/// and both sides open and accept <see cref="PeerStream"/>s named by a protocol id.
/// </summary>
public sealed partial class PeerConnection : IAsyncDisposable
{
    /// <summary>Agent version sent in identify.</summary>
    public const string AgentVersion = "pinhole/0.1.0";

    private readonly YamuxSession _session;
    private readonly PeerConnectionOptions _options;
    private readonly ILogger _logger;
    private readonly Channel<PeerStream> _inbound;
    private readonly HashSet<string>? _protocols;
    private readonly Func<IReadOnlyList<Multiaddr>> _listenAddresses;
    private readonly CancellationTokenSource _closing = new();
    private readonly Task _acceptLoop;
    private int _disposed;

    internal PeerConnection(
        YamuxSession session,
        Libp2pPublicKey remoteKey,
        PeerConnectionOptions options,
        bool isInbound,
        string netlayer,
        Multiaddr? localAddress,
        Multiaddr? remoteAddress,
        Func<IReadOnlyList<Multiaddr>>? listenAddresses = null)
    {
        _session = session;
        _options = options;
        _logger = options.LoggerFactory.CreateLogger<PeerConnection>();
        RemotePublicKey = remoteKey;
        RemotePeer = remoteKey.PeerId;
        LocalPeer = options.Identity!.PeerId;
        IsInbound = isInbound;
        Netlayer = netlayer;
        LocalAddress = localAddress;
        RemoteAddress = remoteAddress;
        _listenAddresses = listenAddresses ?? (static () => []);
        _protocols = options.Protocols.Count == 0 ? null : [.. options.Protocols];
        _inbound = Channel.CreateBounded<PeerStream>(new BoundedChannelOptions(options.MaxPendingInboundStreams)
        {
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    /// <summary>The verified peer.</summary>
    public PeerId RemotePeer { get; }

    /// <summary>The verified peer's public key.</summary>
    public Libp2pPublicKey RemotePublicKey { get; }

    /// <summary>This node.</summary>
    public PeerId LocalPeer { get; }

    /// <summary>True for connections accepted by a <see cref="PeerListener"/>.</summary>
    public bool IsInbound { get; }

    /// <summary>Netlayer name: <c>tcp</c> or <c>memory</c>.</summary>
    public string Netlayer { get; }

    /// <summary>Our side's transport address, when the netlayer has one.</summary>
    public Multiaddr? LocalAddress { get; }

    /// <summary>The peer's transport address as we see it (what identify reports as "observed").</summary>
    public Multiaddr? RemoteAddress { get; }

    /// <summary>True if the peer was accepted without a PeerId to check (trust on first use).</summary>
    public bool TrustedOnFirstUse { get; internal init; }

    /// <summary>Completes when the connection is over; faulted with a <see cref="PeerException"/> if it ended by an error.</summary>
    public Task Completion => _session.Completion;

    /// <summary>Open streams on this connection.</summary>
    public int OpenStreamCount => _session.OpenStreamCount;

    /// <summary>
    /// Dials a peer: TCP, then multistream-select /tls/1.0.0, TLS 1.3 with libp2p certificates (the peer must
    /// prove the key named in the address), then yamux. Tries the address hints in order.
    /// </summary>
    public static async ValueTask<PeerConnection> ConnectAsync(PeerConnectOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var remote = options.Remote!;
        if (remote.Hints.Count == 0)
        {
            throw new PeerException(PeerError.Unreachable, $"No transport address to dial for {remote}.");
        }
        PeerException? last = null;
        foreach (var hint in remote.Hints)
        {
            try
            {
                return await ConnectTcpAsync(hint, remote.PeerId, options, cancellationToken).ConfigureAwait(false);
            }
            catch (PeerException e) when (e.Error is PeerError.Unreachable or PeerError.Timeout && !cancellationToken.IsCancellationRequested)
            {
                last = e;
            }
        }
        throw last!;
    }

    private static async Task<PeerConnection> ConnectTcpAsync(Multiaddr hint, PeerId? expected, PeerConnectOptions options, CancellationToken cancellationToken)
    {
        using var timeout = new Deadline(options.HandshakeTimeout, options.TimeProvider, cancellationToken);
        var endPoints = await TcpDialer.ResolveAsync(hint, timeout.Token).ConfigureAwait(false);
        Socket? socket = null;
        try
        {
            socket = await TcpDialer.ConnectAsync(endPoints, hint, options.SocketFactory, timeout.Token).ConfigureAwait(false);
            // Read the endpoints now: once the peer closes (e.g. it rejected our certificate) they throw ENOTCONN.
            var localAddress = Multiaddr.FromIPEndPoint((IPEndPoint)socket.LocalEndPoint!, "tcp");
            var remoteAddress = Multiaddr.FromIPEndPoint((IPEndPoint)socket.RemoteEndPoint!, "tcp");
            var raw = new NetworkStream(socket, ownsSocket: true);
            ConnectionUpgrader.Result upgraded;
            try
            {
                upgraded = await ConnectionUpgrader.UpgradeOutboundAsync(raw, expected, options, timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                await raw.DisposeAsync().ConfigureAwait(false);
                throw new PeerException(PeerError.Timeout, $"Handshake with {hint} did not finish within {options.HandshakeTimeout.TotalSeconds:0.#} s.");
            }
            catch (IOException e) when (e is not PeerException)
            {
                await raw.DisposeAsync().ConfigureAwait(false);
                throw new PeerException(PeerError.HandshakeFailed, $"Handshake with {hint} failed: {e.Message}", e);
            }
            catch
            {
                await raw.DisposeAsync().ConfigureAwait(false);
                throw;
            }
            var connection = new PeerConnection(
                upgraded.Session, upgraded.RemoteKey, options, isInbound: false, "tcp", localAddress, remoteAddress, options.AdvertisedAddresses)
            {
                TrustedOnFirstUse = expected is null,
            };
            var logger = options.LoggerFactory.CreateLogger<PeerConnection>();
            var hintText = hint.ToString();
            if (expected is null)
            {
                ConnectionLog.TrustedOnFirstUse(logger, connection.RemotePeer, hintText);
            }
            ConnectionLog.Connected(logger, "to", connection.RemotePeer, hintText);
            return connection;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            socket?.Dispose();
            throw new PeerException(PeerError.Timeout, $"Connecting to {hint} did not finish within {options.HandshakeTimeout.TotalSeconds:0.#} s.");
        }
    }

    /// <summary>Opens a stream and negotiates <paramref name="protocol"/> on it (multistream-select); returns once
    /// the peer has accepted the protocol.</summary>
    /// <exception cref="PeerException"><see cref="PeerError.ConnectionClosed"/> once the connection is closed, lost or disposed;
    /// <see cref="PeerError.Refused"/> when the peer declines the protocol or sent GoAway.</exception>
    public ValueTask<PeerStream> OpenStreamAsync(string protocol, CancellationToken cancellationToken = default) =>
        OpenStreamAsync(protocol, optimistic: false, cancellationToken);

    /// <summary>
    /// Opens a stream for <paramref name="protocol"/>. With <paramref name="optimistic"/> the stream is returned at
    /// once, without waiting for the peer's answer: what the caller writes first travels right behind the
    /// protocol proposal, saving a round trip (libp2p's "lazy" multistream-select, as go-libp2p and js-libp2p
    /// do for single-protocol streams). The peer's answer is checked before the first read returns data; a
    /// refusal then fails that read, and every later read and write, with <see cref="PeerError.Refused"/>.
    /// </summary>
    /// <exception cref="PeerException"><see cref="PeerError.ConnectionClosed"/> once the connection is closed, lost or disposed;
    /// <see cref="PeerError.Refused"/> (not optimistic) when the peer declines the protocol or sent GoAway.</exception>
    public async ValueTask<PeerStream> OpenStreamAsync(string protocol, bool optimistic, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(protocol);
        if (_disposed != 0)
        {
            // Whoever disposed it (the application, a listener, a connection manager), the caller needs the reason.
            throw new PeerException(PeerError.ConnectionClosed, $"The connection with {RemotePeer} was closed (disposed).");
        }

        ThrowIfNotAllowed(protocol);
        var stream = await _session.OpenStreamAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (optimistic)
            {
                stream.SetProtocol(protocol);
                return await MultistreamLazyPeerStream.SelectAsync(stream, protocol, cancellationToken).ConfigureAwait(false);
            }
            await MultistreamSelect.SelectAsync(stream, [protocol], cancellationToken).ConfigureAwait(false);
            stream.SetProtocol(protocol);
            return stream;
        }
        catch
        {
            stream.Abort();
            await stream.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Waits for the peer to open a stream with a protocol this node accepts.</summary>
    public async ValueTask<PeerStream> AcceptStreamAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            return await _inbound.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException e)
        {
            throw e.InnerException as PeerException ?? new PeerException(PeerError.ConnectionClosed, $"The connection with {RemotePeer} is closed.", e.InnerException);
        }
    }

    /// <summary>Round-trip time measured with <c>/ipfs/ping/1.0.0</c>.</summary>
    public async Task<TimeSpan> PingAsync(CancellationToken cancellationToken = default)
    {
        var stream = await OpenStreamAsync(PingProtocol.ProtocolId, optimistic: true, cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            var rtt = await PingProtocol.PingAsync(stream, _options.TimeProvider, cancellationToken).ConfigureAwait(false);
            stream.CompleteWrites();
            return rtt;
        }
    }

    /// <summary>Asks the peer who it is (<c>/ipfs/id/1.0.0</c>): its key, addresses, protocols, and how it sees us.</summary>
    public async Task<IdentifyMessage> IdentifyAsync(CancellationToken cancellationToken = default)
    {
        var stream = await OpenStreamAsync(IdentifyProtocol.ProtocolId, optimistic: true, cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            stream.CompleteWrites();
            var message = await IdentifyProtocol.ReadAsync(stream, cancellationToken).ConfigureAwait(false);
            if (message.PublicKey is { Length: > 0 } key && !Libp2pPublicKey.Decode(key.Span).Equals(RemotePublicKey))
            {
                throw new PeerException(PeerError.ProtocolViolation, $"Identify from {RemotePeer} carries a different public key than its certificate.");
            }
            return message;
        }
    }

    /// <summary>Closes gracefully: tells the peer (yamux GoAway) and closes the transport.</summary>
    public async ValueTask CloseAsync(CancellationToken cancellationToken = default)
    {
        await _closing.CancelAsync().ConfigureAwait(false);
        await _session.CloseAsync(YamuxGoAwayCode.Normal, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Closes and releases everything.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        try
        {
            await CloseAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException)
        {
            // Already broken: nothing left to tell the peer.
        }
        await _session.DisposeAsync().ConfigureAwait(false);
        try
        {
            await _acceptLoop.ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException)
        {
        }
        _closing.Dispose();
    }

    /// <inheritdoc/>
    public override string ToString() => $"{(IsInbound ? "from" : "to")} {RemotePeer} via {Netlayer} {RemoteAddress}";
}
