using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Pinhole.Nat.Dcutr.Protocol;
using Pinhole.Nat.Relay;
using Pinhole.Nat.Relay.Protocol;

namespace Pinhole.Nat.Dcutr;

/// <summary>
/// Direct Connection Upgrade through Relay (libp2p/specs relay/DCUtR.md) over TCP: two peers on a relayed connection
/// swap their public addresses on a <c>/libp2p/dcutr</c> stream, time a simultaneous open with the relay's round trip,
/// and dial each other from their listen ports. A punch yields a direct <see cref="PeerConnection"/>, authenticated as
/// usual; the relayed one keeps its streams.
/// </summary>
/// <remarks>
/// Roles, as the spec fixes them: <b>B</b>, the inbound side of the relayed connection (the peer that was reached through
/// the relay), starts with <see cref="UpgradeAsync"/>: CONNECT, measure the RTT until the answer, SYNC, wait RTT/2, dial.
/// <b>A</b>, the side that dialed through the relay, answers in <see cref="HandleStreamAsync"/>: CONNECT back, dial as
/// soon as SYNC arrives. On the direct connection A is the TLS client and the yamux client, B the server, whichever
/// socket call produced it (a simultaneous open has no accept). B tries <see cref="DcutrOptions.Attempts"/> times on one stream.
/// </remarks>
public sealed class DcutrService
{
    /// <summary>The protocol id. It must run on limited connections: add it to <see cref="PeerConnectionOptions.LimitedConnectionProtocols"/>.</summary>
    public const string ProtocolId = "/libp2p/dcutr";

    private const int MaxDialed = 8;

    private readonly DcutrOptions _options;
    private readonly PeerConnectionOptions _connectionOptions;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Func<AddressFamily, Socket> _createSocket;

    /// <summary>Creates the service.</summary>
    public DcutrService(DcutrOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _connectionOptions = options.ConnectionOptions!;
        _time = _connectionOptions.TimeProvider;
        _logger = _connectionOptions.LoggerFactory.CreateLogger<DcutrService>();
        _createSocket = options.SocketFactory ?? (static family => new Socket(family, SocketType.Stream, ProtocolType.Tcp));
    }

    /// <summary>Raised when a punch made a direct connection (on either side): the connection manager should prefer it.</summary>
    public event EventHandler<DirectConnectionEventArgs>? DirectConnectionEstablished;

    /// <summary>
    /// Candidate addresses for <see cref="DcutrOptions.Addresses"/>: each observed address's IP with our listen port (what an
    /// endpoint-independent NAT that keeps ports, such as Linux masquerade, maps the listen port to), plus observed
    /// addresses that already carry that port. A NAT that picks a new port per destination defeats the prediction: the
    /// punch then fails and the relayed connection stays.
    /// </summary>
    public static IReadOnlyList<Multiaddr> PredictAddresses(IEnumerable<Multiaddr> observed, int listenPort)
    {
        ArgumentNullException.ThrowIfNull(observed);
        var result = new List<Multiaddr>();
        foreach (var address in observed)
        {
            if (CircuitAddress.IsCircuit(address) || !address.TryGetIPEndPoint(out var endPoint, out var transport) || transport != "tcp")
            {
                continue;
            }
            var predicted = Multiaddr.FromIPEndPoint(new IPEndPoint(endPoint.Address, listenPort), "tcp");
            if (!result.Contains(predicted))
            {
                result.Add(predicted);
            }
        }
        return result;
    }

    /// <summary>
    /// Runs the exchange as B, the inbound side of <paramref name="relayed"/>: up to <see cref="DcutrOptions.Attempts"/>
    /// punches. Returns the outcome; throws only for misuse (a connection that is not relayed) or cancellation.
    /// </summary>
    public async Task<DirectConnectionResult> UpgradeAsync(PeerConnection relayed, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(relayed);
        if (relayed.Netlayer != RelayClient.Netlayer)
        {
            throw new ArgumentException($"DCUtR upgrades relayed connections; this one is over {relayed.Netlayer}.", nameof(relayed));
        }
        if (!relayed.IsInbound)
        {
            throw new ArgumentException("The inbound side of the relayed connection starts DCUtR; this node dialed it (answer with HandleStreamAsync).", nameof(relayed));
        }
        var start = _time.GetTimestamp();
        var errors = new List<string>();
        TimeSpan? rtt = null;
        var attempts = 0;
        using var timeout = new CancellationTokenSource(_options.StreamTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken);
        var token = linked.Token;
        try
        {
            var stream = await relayed.OpenStreamAsync(ProtocolId, token).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                while (attempts < _options.Attempts)
                {
                    attempts++;
                    var sent = _time.GetTimestamp();
                    await WriteAsync(stream, HolePunchType.Connect, OurAddresses(), token).ConfigureAwait(false);
                    var answer = await ReadAsync(stream, relayed, token).ConfigureAwait(false);
                    if (answer is null)
                    {
                        errors.Add($"attempt {attempts}: the peer closed the stream");
                        break;
                    }
                    if (answer.Type != HolePunchType.Connect)
                    {
                        throw new PeerException(PeerError.ProtocolViolation, $"{relayed.RemotePeer} answered CONNECT with {answer.Type}.");
                    }
                    rtt = _time.GetElapsedTime(sent);
                    var theirs = Endpoints(answer.Addresses);
                    await WriteAsync(stream, HolePunchType.Sync, [], token).ConfigureAwait(false);
                    if (theirs.Count == 0)
                    {
                        errors.Add($"attempt {attempts}: the peer sent no TCP address");
                        continue;
                    }
                    // A dials when SYNC arrives, half a round trip from now: dial then too.
                    await Task.Delay(rtt.Value / 2, _time, token).ConfigureAwait(false);
                    var direct = await TryPunchAsync(relayed, theirs, asClient: false, attempts, errors, token).ConfigureAwait(false);
                    if (direct is not null)
                    {
                        stream.CompleteWrites();
                        return Succeeded(relayed, direct, attempts, rtt, start, errors);
                    }
                }
            }
        }
        catch (Exception e) when ((e is PeerException or IOException or OperationCanceledException) && !cancellationToken.IsCancellationRequested)
        {
            errors.Add(e is OperationCanceledException ? $"the exchange took longer than {_options.StreamTimeout.TotalSeconds:0} s" : e.Message);
        }
        return Failed(relayed, attempts, rtt, start, errors);
    }

    /// <summary>
    /// Answers a <c>/libp2p/dcutr</c> stream the peer opened on <paramref name="relayed"/> (we are A: we dialed through
    /// the relay): CONNECT back, dial as soon as SYNC arrives, as often as the peer retries. Never throws for the peer's faults.
    /// </summary>
    public async Task<DirectConnectionResult> HandleStreamAsync(PeerConnection relayed, PeerStream stream, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(relayed);
        ArgumentNullException.ThrowIfNull(stream);
        var start = _time.GetTimestamp();
        var errors = new List<string>();
        var attempts = 0;
        await using (stream.ConfigureAwait(false))
        {
            if (relayed.Netlayer != RelayClient.Netlayer || relayed.IsInbound)
            {
                // Only the side that dialed through a relay answers; anything else is a confused or hostile peer.
                stream.Abort();
                errors.Add($"refused: DCUtR from {relayed.RemotePeer} over a connection this node did not dial through a relay");
                return Failed(relayed, 0, null, start, errors);
            }
            using var timeout = new CancellationTokenSource(_options.StreamTimeout, _time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken);
            var token = linked.Token;
            try
            {
                while (attempts < _options.Attempts + 2)
                {
                    var connect = await ReadAsync(stream, relayed, token).ConfigureAwait(false);
                    if (connect is null)
                    {
                        break;
                    }
                    if (connect.Type != HolePunchType.Connect)
                    {
                        throw new PeerException(PeerError.ProtocolViolation, $"{relayed.RemotePeer} sent {connect.Type} where CONNECT belongs.");
                    }
                    attempts++;
                    var theirs = Endpoints(connect.Addresses);
                    await WriteAsync(stream, HolePunchType.Connect, OurAddresses(), token).ConfigureAwait(false);
                    var sync = await ReadAsync(stream, relayed, token).ConfigureAwait(false);
                    if (sync is null)
                    {
                        break;
                    }
                    if (sync.Type != HolePunchType.Sync)
                    {
                        throw new PeerException(PeerError.ProtocolViolation, $"{relayed.RemotePeer} sent {sync.Type} where SYNC belongs.");
                    }
                    if (theirs.Count == 0)
                    {
                        errors.Add($"attempt {attempts}: the peer sent no TCP address");
                        continue;
                    }
                    var direct = await TryPunchAsync(relayed, theirs, asClient: true, attempts, errors, token).ConfigureAwait(false);
                    if (direct is not null)
                    {
                        return Succeeded(relayed, direct, attempts, null, start, errors);
                    }
                }
            }
            catch (Exception e) when ((e is PeerException or IOException or OperationCanceledException) && !cancellationToken.IsCancellationRequested)
            {
                errors.Add(e is OperationCanceledException ? $"the exchange took longer than {_options.StreamTimeout.TotalSeconds:0} s" : e.Message);
                stream.Abort();
            }
        }
        return Failed(relayed, attempts, null, start, errors);
    }

    /// <summary>One punch: simultaneous open, then the upgrade in the role DCUtR fixes. Null (and an error noted) on failure.</summary>
    private async Task<PeerConnection?> TryPunchAsync(PeerConnection relayed, IReadOnlyList<IPEndPoint> theirs, bool asClient, int attempt, List<string> errors, CancellationToken token)
    {
        using var timeout = new CancellationTokenSource(_options.AttemptTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, token);
        try
        {
            var socket = await TcpSimultaneousOpen.ConnectAsync(_options.LocalEndPoint!, theirs, _createSocket, linked.Token).ConfigureAwait(false);
            PeerUpgradeOptions info;
            try
            {
                info = new PeerUpgradeOptions
                {
                    Netlayer = "tcp",
                    LocalAddress = Multiaddr.FromIPEndPoint((IPEndPoint)socket.LocalEndPoint!, "tcp"),
                    RemoteAddress = Multiaddr.FromIPEndPoint((IPEndPoint)socket.RemoteEndPoint!, "tcp"),
                };
            }
            catch (SocketException e)
            {
                socket.Dispose();
                throw new IOException("The punched socket closed at once: " + e.Message, e);
            }
            var transport = new NetworkStream(socket, ownsSocket: true);
            var direct = asClient
                ? await PeerConnection.UpgradeOutboundAsync(transport, relayed.RemotePeer, _connectionOptions, info, linked.Token).ConfigureAwait(false)
                : await PeerConnection.UpgradeInboundAsync(transport, _connectionOptions, relayed.RemotePeer, info, linked.Token).ConfigureAwait(false);
            DcutrLog.Punched(_logger, relayed.RemotePeer, attempt, info.RemoteAddress!);
            return direct;
        }
        catch (Exception e) when (e is PeerException or IOException || (e is OperationCanceledException && !token.IsCancellationRequested))
        {
            var reason = e is OperationCanceledException ? $"no connection within {_options.AttemptTimeout.TotalSeconds:0.#} s" : e.Message;
            errors.Add($"attempt {attempt}: {reason}");
            DcutrLog.AttemptFailed(_logger, relayed.RemotePeer, attempt, reason);
            return null;
        }
    }

    private DirectConnectionResult Succeeded(PeerConnection relayed, PeerConnection direct, int attempts, TimeSpan? rtt, long start, List<string> errors)
    {
        var result = new DirectConnectionResult(relayed, direct, attempts, rtt, _time.GetElapsedTime(start), errors);
        DirectConnectionEstablished?.Invoke(this, new DirectConnectionEventArgs(result));
        return result;
    }

    private DirectConnectionResult Failed(PeerConnection relayed, int attempts, TimeSpan? rtt, long start, List<string> errors)
    {
        var result = new DirectConnectionResult(relayed, null, attempts, rtt, _time.GetElapsedTime(start), errors);
        DcutrLog.GaveUp(_logger, relayed.RemotePeer, attempts);
        return result;
    }

    private List<Multiaddr> OurAddresses()
    {
        var result = new List<Multiaddr>();
        foreach (var address in _options.Addresses!())
        {
            if (result.Count == HolePunchMessage.MaxAddresses)
            {
                break;
            }
            if (!CircuitAddress.IsCircuit(address) && address.TryGetIPEndPoint(out _, out var transport) && transport == "tcp")
            {
                result.Add(address);
            }
        }
        return result;
    }

    /// <summary>The TCP endpoints worth dialing among the peer's addresses (never a wildcard, port 0 or a relay address).</summary>
    private static List<IPEndPoint> Endpoints(IReadOnlyList<Multiaddr> addresses)
    {
        var result = new List<IPEndPoint>();
        foreach (var address in addresses)
        {
            if (result.Count == MaxDialed)
            {
                break;
            }
            if (CircuitAddress.IsCircuit(address) || !address.TryGetIPEndPoint(out var endPoint, out var transport) || transport != "tcp"
                || endPoint.Port == 0 || endPoint.Address.Equals(IPAddress.Any) || endPoint.Address.Equals(IPAddress.IPv6Any)
                || result.Contains(endPoint))
            {
                continue;
            }
            result.Add(endPoint);
        }
        return result;
    }

    private static async Task WriteAsync(PeerStream stream, HolePunchType type, IReadOnlyList<Multiaddr> addresses, CancellationToken token)
        => await DelimitedMessage.WriteAsync(stream, new HolePunchMessage(type, addresses).Encode(), token).ConfigureAwait(false);

    private static async Task<HolePunchMessage?> ReadAsync(PeerStream stream, PeerConnection relayed, CancellationToken token)
    {
        var body = await DelimitedMessage.ReadAsync(stream, "dcutr", token).ConfigureAwait(false);
        if (body is null)
        {
            return null;
        }
        try
        {
            return HolePunchMessage.Parse(body);
        }
        catch (FormatException e)
        {
            throw new PeerException(PeerError.ProtocolViolation, $"Malformed DCUtR message from {relayed.RemotePeer}: {e.Message}", e);
        }
    }
}
