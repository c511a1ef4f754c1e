using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Pinhole.Nat.Dcutr.Protocol;
using Pinhole.Nat.Relay;

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
    /// punches. Returns the outcome (<see cref="DirectConnectionResult.Failure"/> says why it stayed relayed); throws only
    /// for misuse (a connection that is not relayed, or that this node dialed) or cancellation.
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
        IReadOnlyList<string> dialErrors = [];
        if (_options.DirectDialFirst)
        {
            var dialed = await DialDirectlyAsync(relayed, cancellationToken).ConfigureAwait(false);
            if (dialed.Direct is not null)
            {
                return Succeeded(relayed, new DcutrOutcome<PeerConnection>(dialed.Direct, 0, null, dialed.Errors, DirectConnectionFailure.None,
                    $"dialed {dialed.At} directly: the peer announces a public address, so no punch was needed"), start);
            }
            dialErrors = dialed.Errors;
        }
        if (OurAddresses().Count == 0)
        {
            return Failed(relayed, new DcutrOutcome<PeerConnection>(null, 0, null, dialErrors, DirectConnectionFailure.NoLocalAddress,
                "this node knows no public TCP address to offer (no observed address yet)"), start);
        }
        PeerStream stream;
        try
        {
            using var open = new CancellationTokenSource(_options.StreamTimeout, _time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(open.Token, cancellationToken);
            stream = await relayed.OpenStreamAsync(ProtocolId, linked.Token).ConfigureAwait(false);
        }
        catch (Exception e) when ((e is PeerException or IOException or OperationCanceledException) && !cancellationToken.IsCancellationRequested)
        {
            var failure = e is OperationCanceledException ? DirectConnectionFailure.ExchangeTimedOut : DirectConnectionFailure.NotSupported;
            return Failed(relayed, new DcutrOutcome<PeerConnection>(null, 0, null, [e.Message], failure, $"no DCUtR stream: {e.Message}"), start);
        }
        await using (stream.ConfigureAwait(false))
        {
            var outcome = await Exchange(relayed, stream, asClient: false).InitiateAsync(cancellationToken).ConfigureAwait(false);
            if (outcome.Failure is DirectConnectionFailure.ProtocolViolation or DirectConnectionFailure.ExchangeTimedOut)
            {
                stream.Abort();
            }
            else
            {
                // A clean end tells A there is no further attempt.
                stream.CompleteWrites();
            }
            if (dialErrors.Count > 0)
            {
                outcome = outcome with { Errors = [.. dialErrors, .. outcome.Errors] };
            }
            return outcome.Direct is not null ? Succeeded(relayed, outcome, start) : Failed(relayed, outcome, start);
        }
    }

    /// <summary>B's first step (<see cref="DcutrOptions.DirectDialFirst"/>): a plain dial to the peer's public addresses, if it announces any.</summary>
    private async Task<DirectDialOutcome<PeerConnection>> DialDirectlyAsync(PeerConnection relayed, CancellationToken cancellationToken)
    {
        // One AttemptTimeout for identify and the dials together: this delays the punch, and the relayed connection
        // it runs on has a limited life (circuit v2: 2 min by default).
        using var deadline = new CancellationTokenSource(_options.AttemptTimeout, _time);
        IReadOnlyList<Multiaddr> theirs;
        try
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token, cancellationToken);
            theirs = _options.PeerAddresses is { } addresses
                ? await addresses(relayed, linked.Token).ConfigureAwait(false)
                : (await relayed.IdentifyAsync(linked.Token).ConfigureAwait(false)).ListenAddrs;
        }
        catch (Exception e) when ((e is PeerException or IOException or OperationCanceledException or FormatException) && !cancellationToken.IsCancellationRequested)
        {
            DcutrLog.AttemptFailed(_logger, relayed.RemotePeer, 0, "no peer addresses for a direct dial: " + e.Message);
            return new DirectDialOutcome<PeerConnection>(null, null, [], []);
        }
        var candidates = DirectDialFirst.Candidates(theirs, _options.IsPublicAddress);
        var outcome = await DirectDialFirst.TryAsync(candidates, (at, token) => DialAsync(relayed.RemotePeer, at, token), _options.AttemptTimeout, deadline.Token, cancellationToken).ConfigureAwait(false);
        foreach (var error in outcome.Errors)
        {
            DcutrLog.AttemptFailed(_logger, relayed.RemotePeer, 0, error);
        }
        if (outcome.Direct is not null)
        {
            DcutrLog.DialedDirectly(_logger, relayed.RemotePeer, outcome.At!);
        }
        return outcome;
    }

    /// <summary>A plain outbound connection (we are the TLS and yamux client, as for any dial).</summary>
    private async Task<PeerConnection> DialAsync(PeerId peer, IPEndPoint at, CancellationToken token)
    {
        var socket = _createSocket(at.AddressFamily);
        try
        {
            await socket.ConnectAsync(at, token).ConfigureAwait(false);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        var info = new PeerUpgradeOptions
        {
            Netlayer = "tcp",
            LocalAddress = Multiaddr.FromIPEndPoint((IPEndPoint)socket.LocalEndPoint!, "tcp"),
            RemoteAddress = Multiaddr.FromIPEndPoint((IPEndPoint)socket.RemoteEndPoint!, "tcp"),
        };
        return await PeerConnection.UpgradeOutboundAsync(new NetworkStream(socket, ownsSocket: true), peer, _connectionOptions, info, token).ConfigureAwait(false);
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
        await using (stream.ConfigureAwait(false))
        {
            if (relayed.Netlayer != RelayClient.Netlayer || relayed.IsInbound)
            {
                // Only the side that dialed through a relay answers; anything else is a confused or hostile peer.
                stream.Abort();
                var refusal = $"refused: DCUtR from {relayed.RemotePeer} over a connection this node did not dial through a relay";
                return Failed(relayed, new DcutrOutcome<PeerConnection>(null, 0, null, [refusal], DirectConnectionFailure.NotSupported, refusal), start);
            }
            var outcome = await Exchange(relayed, stream, asClient: true).RespondAsync(cancellationToken).ConfigureAwait(false);
            if (outcome.Direct is not null)
            {
                return Succeeded(relayed, outcome, start);
            }
            if (outcome.Failure is DirectConnectionFailure.ProtocolViolation or DirectConnectionFailure.ExchangeTimedOut)
            {
                stream.Abort();
            }
            return Failed(relayed, outcome, start);
        }
    }

    private DcutrExchange<PeerConnection> Exchange(PeerConnection relayed, PeerStream stream, bool asClient) => new(
        stream, _options, _time, relayed.RemotePeer, OurAddresses,
        (remotes, attempt, token) => PunchAsync(relayed, remotes, asClient, attempt, token),
        MappingHint());

    /// <summary>
    /// Why a prediction may be wrong, from what others observed: an observed TCP address whose port is not the listen port
    /// means this node's NAT rewrites ports, so a mapping that also depends on the destination defeats the punch.
    /// </summary>
    private string? MappingHint()
    {
        if (_options.ObservedAddresses is not { } observed)
        {
            return null;
        }
        var listenPort = _options.LocalEndPoint!.Port;
        var rewritten = new List<string>();
        foreach (var address in observed())
        {
            if (!CircuitAddress.IsCircuit(address) && address.TryGetIPEndPoint(out var endPoint, out var transport) && transport == "tcp")
            {
                if (endPoint.Port == listenPort)
                {
                    return null;
                }
                rewritten.Add(endPoint.ToString());
            }
        }
        return rewritten.Count == 0
            ? null
            : $"this node's NAT does not preserve ports (listen port {listenPort} was seen as {string.Join(", ", rewritten.Take(3))}): with an address/port-dependent mapping the predicted address is not the one it maps to, and TCP punching cannot succeed";
    }

    /// <summary>One punch: simultaneous open, then the upgrade in the role DCUtR fixes. Throws on failure (the exchange classifies it).</summary>
    private async Task<PeerConnection> PunchAsync(PeerConnection relayed, IReadOnlyList<IPEndPoint> theirs, bool asClient, int attempt, CancellationToken token)
    {
        try
        {
            var socket = await TcpSimultaneousOpen.ConnectAsync(_options.LocalEndPoint!, theirs, _createSocket, token).ConfigureAwait(false);
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
                ? await PeerConnection.UpgradeOutboundAsync(transport, relayed.RemotePeer, _connectionOptions, info, token).ConfigureAwait(false)
                : await PeerConnection.UpgradeInboundAsync(transport, _connectionOptions, relayed.RemotePeer, info, token).ConfigureAwait(false);
            DcutrLog.Punched(_logger, relayed.RemotePeer, attempt, info.RemoteAddress!);
            return direct;
        }
        catch (Exception e) when (e is PeerException or IOException or OperationCanceledException)
        {
            DcutrLog.AttemptFailed(_logger, relayed.RemotePeer, attempt, e is OperationCanceledException ? "timed out" : e.Message);
            throw;
        }
    }

    private DirectConnectionResult Succeeded(PeerConnection relayed, DcutrOutcome<PeerConnection> outcome, long start)
    {
        var result = Result(relayed, outcome, start);
        DirectConnectionEstablished?.Invoke(this, new DirectConnectionEventArgs(result));
        return result;
    }

    private DirectConnectionResult Failed(PeerConnection relayed, DcutrOutcome<PeerConnection> outcome, long start)
    {
        var result = Result(relayed, outcome, start);
        DcutrLog.GaveUp(_logger, relayed.RemotePeer, result.Attempts, result.Failure, result.Reason ?? "");
        return result;
    }

    private DirectConnectionResult Result(PeerConnection relayed, DcutrOutcome<PeerConnection> outcome, long start) => new(
        relayed, outcome.Direct, outcome.Attempts, outcome.RelayRoundTrip, _time.GetElapsedTime(start), outcome.Errors, outcome.Failure, outcome.Reason);

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
}
