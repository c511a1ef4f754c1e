using Pinhole.Dtls;
using Pinhole.Nat;

namespace Pinhole.Node;

public sealed partial class NodeUdpPunchService
{
    // Candidates and netcheck must not hold the answer back for long: an offer without them still punches.
    private static readonly TimeSpan GatherTimeout = TimeSpan.FromSeconds(3);

    /// <summary>
    /// Punches a UDP path to <paramref name="peer"/> (over the node's connection to it, opened if needed — a relayed one
    /// is fine) and opens DTLS on it, this side the client. The caller owns the session; the path stays open while it lives.
    /// </summary>
    /// <exception cref="PeerException">
    /// <see cref="PeerError.Unreachable"/>: punching is unavailable here or no pair answered (the message says why, e.g.
    /// both NATs map per destination); <see cref="PeerError.Refused"/>: the peer does not punch (or does not speak the
    /// protocol); <see cref="PeerError.LimitExceeded"/>: <see cref="NodeUdpPunchOptions.MaxPaths"/>; <see cref="PeerError.Timeout"/>:
    /// the peer did not answer the offer.
    /// </exception>
    public async Task<DtlsConnection> ConnectAsync(PeerId peer, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(peer);
        var (node, socket, mux) = Running();
        if (AtCapacity(peer))
        {
            throw new PeerException(PeerError.LimitExceeded, $"The node already holds {_options.MaxPaths} UDP paths (MaxPaths).");
        }
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stop.Token);
        var token = linked.Token;
        Interlocked.Increment(ref _tried);
        UdpPath? path = null;
        UdpPunchException? punchFailure = null;
        PeerStream stream;
        try
        {
            stream = await node.Connections.OpenStreamAsync(peer, ProtocolId, token).ConfigureAwait(false);
        }
        catch (PeerException e) when (e.Error is PeerError.Refused or PeerError.StreamAborted)
        {
            throw NotSupported(peer, e);
        }
        await using (stream.ConfigureAwait(false))
        {
            var local = await GatherAsync(socket, token).ConfigureAwait(false);
            UdpPunchMessage answer;
            try
            {
                await WriteAsync(stream, UdpPunchSignal.Encode(local), token).ConfigureAwait(false);
                answer = await ReadAsync(stream, peer, token).ConfigureAwait(false);
            }
            catch (PeerException e) when (e.Error is PeerError.Refused or PeerError.StreamAborted)
            {
                throw NotSupported(peer, e);
            }
            if (answer.Type == UdpPunchMessageType.Refused)
            {
                Record(peer, controlling: true, "refused: " + answer.Refusal, null);
                throw new PeerException(PeerError.Refused, $"{peer} will not punch a UDP path: {answer.Refusal}");
            }
            if (answer.Type != UdpPunchMessageType.Answer)
            {
                throw new PeerException(PeerError.ProtocolViolation, $"{peer} sent {answer.Type} where an answer belongs.");
            }
            stream.CompleteWrites();
            var remote = answer.Offer!;
            // Both NATs map per destination (both netchecks say so): no pair can open, and with a TURN server there is
            // no reason to wait out the punch first. Without one the punch still runs: it is the only chance left.
            if (_options.Turn is not null
                && UdpHolePunch.PredictFailure(local.Mapping, local.Filtering, remote.Mapping, remote.Filtering) == UdpPunchFailure.BothMappingsEndpointDependent)
            {
                punchFailure = new UdpPunchException(UdpPunchFailure.BothMappingsEndpointDependent, default,
                    $"Both NATs map per destination (this side {local.Mapping}, the peer {remote.Mapping}, by netcheck): no pair can open; not punched.");
                Record(peer, controlling: true, "predicted " + punchFailure.Failure, null);
            }
            else
            {
                try
                {
                    path = await UdpHolePunch.PunchAsync(mux, PunchOptions(local, remote, controlling: true), token).ConfigureAwait(false);
                }
                catch (UdpPunchException e)
                {
                    Record(peer, controlling: true, e.Failure.ToString(), null);
                    PunchFailed(_logger, peer, e.Message);
                    punchFailure = e;
                }
            }
        }
        if (punchFailure is not null)
        {
            if (_options.Turn is null)
            {
                throw new PeerException(PeerError.Unreachable, $"No direct UDP path to {peer}: {punchFailure.Message}", punchFailure);
            }
            try
            {
                var relayed = await ConnectViaTurnAsync(peer, socket, token).ConfigureAwait(false);
                Interlocked.Increment(ref _succeeded);
                Record(peer, controlling: true, "turn", null);
                TurnPathFound(_logger, peer, _turn?.RelayedAddress, relayed.RemoteEndPoint);
                node.Metrics.DatagramSession(inbound: false);
                return relayed;
            }
            catch (PeerException e) when (!token.IsCancellationRequested)
            {
                Record(peer, controlling: true, "turn failed", null);
                throw new PeerException(PeerError.Unreachable, $"No direct UDP path to {peer}: {punchFailure.Message} TURN did not work either: {e.Message}", punchFailure);
            }
        }
        DtlsEndpoint? own = null;
        DtlsConnection session;
        path = path ?? throw new InvalidOperationException("unreachable: the punch either found a path or failed");
        try
        {
            own = ReferenceEquals(path.Mux, mux) ? null : CreateEndpoint(path.Mux);
            session = await (own ?? socket.Endpoint).ConnectAsync(path.RemoteEndPoint, peer, token).ConfigureAwait(false);
        }
        catch
        {
            if (own is not null)
            {
                await own.DisposeAsync().ConfigureAwait(false);
            }
            await path.DisposeAsync().ConfigureAwait(false);
            Record(peer, controlling: true, "dtls failed", null);
            throw;
        }
        var held = new HeldPath(path, own, controlling: true);
        await HoldAsync(peer, held).ConfigureAwait(false);
        // The session's end lets the path go: keepalives stop and the peer's side sees it lost.
        _ = session.Closed.ContinueWith(_ => ReleaseAsync(peer, held), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        Interlocked.Increment(ref _succeeded);
        Record(peer, controlling: true, "direct", path);
        PathFound(_logger, peer, path.RemoteEndPoint, path.Candidate.Kind, own is null ? "" : ", birthday socket", "controlling");
        node.Metrics.DatagramSession(inbound: false);
        return session;
    }

    // The stream was turned down ("na", then a reset that may overtake it): a node without punching, or an older one.
    private PeerException NotSupported(PeerId peer, PeerException e)
    {
        Record(peer, controlling: true, "not supported", null);
        return new PeerException(PeerError.Refused, $"{peer} does not take UDP punch offers: {e.Message}", e);
    }

    /// <summary>The answering side: reads the offer, answers, punches (controlled) and, on a birthday socket, accepts the dialler's DTLS.</summary>
    internal async Task HandleAsync(PeerConnection connection, PeerStream stream, CancellationToken cancellationToken)
    {
        var peer = connection.RemotePeer;
        UdpPunchMessage offer;
        try
        {
            offer = await ReadAsync(stream, peer, cancellationToken).ConfigureAwait(false);
        }
        catch (PeerException e)
        {
            BadOffer(_logger, peer, e.Message);
            stream.Abort();
            return;
        }
        if (offer.Type == UdpPunchMessageType.TurnOffer && _unavailable is null)
        {
            await AnswerTurnAsync(peer, stream, offer.Relayed!, cancellationToken).ConfigureAwait(false);
            return;
        }
        string? refusal = offer.Type is not (UdpPunchMessageType.Offer or UdpPunchMessageType.TurnOffer) ? $"expected an offer, got {offer.Type}"
            : _unavailable is { } why ? why
            : AtCapacity(peer) ? $"this node already holds {_options.MaxPaths} UDP paths"
            : null;
        if (refusal is not null)
        {
            await WriteAsync(stream, UdpPunchSignal.EncodeRefusal(refusal), cancellationToken).ConfigureAwait(false);
            stream.CompleteWrites();
            return;
        }
        var (_, socket, mux) = Running();
        Interlocked.Increment(ref _tried);
        var local = await GatherAsync(socket, cancellationToken).ConfigureAwait(false);
        await WriteAsync(stream, UdpPunchSignal.Encode(local, answer: true), cancellationToken).ConfigureAwait(false);
        stream.CompleteWrites();
        // From here the punch belongs to the node, not to the signalling stream (the relay may cut that any time).
        _ = Task.Run(() => PunchAnsweredAsync(peer, socket, mux, local, offer.Offer!), CancellationToken.None);
    }

    private async Task PunchAnsweredAsync(PeerId peer, NodeUdpSocket socket, UdpMux mux, UdpPunchOffer local, UdpPunchOffer remote)
    {
        var node = _node!;
        UdpPath path;
        try
        {
            path = await UdpHolePunch.PunchAsync(mux, PunchOptions(local, remote, controlling: false), _stop.Token).ConfigureAwait(false);
        }
        catch (UdpPunchException e)
        {
            Record(peer, controlling: false, e.Failure.ToString(), null);
            PunchFailed(_logger, peer, e.Message);
            return;
        }
        catch (OperationCanceledException)
        {
            return;
        }
        if (ReferenceEquals(path.Mux, mux))
        {
            // The dialler's DTLS comes to the node's own socket, whose listener serves it.
            await HoldAsync(peer, new HeldPath(path, null, controlling: false)).ConfigureAwait(false);
            Interlocked.Increment(ref _succeeded);
            Record(peer, controlling: false, "direct", path);
            PathFound(_logger, peer, path.RemoteEndPoint, path.Candidate.Kind, "", "controlled");
            return;
        }
        // Birthday probing found the dialler on an extra socket: only that socket's NAT port is open to it.
        var own = CreateEndpoint(path.Mux);
        var held = new HeldPath(path, own, controlling: false);
        await HoldAsync(peer, held).ConfigureAwait(false);
        DtlsConnection session;
        try
        {
            using var deadline = new CancellationTokenSource(node.Options.Transport.HandshakeTimeout * 2, node.Options.TimeProvider);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token, _stop.Token);
            var listener = own.Listen();
            await using (listener.ConfigureAwait(false))
            {
                do
                {
                    session = await listener.AcceptAsync(linked.Token).ConfigureAwait(false);
                    if (session.RemotePeer.Equals(peer))
                    {
                        break;
                    }
                    await session.CloseAsync().ConfigureAwait(false);
                }
                while (true);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or PeerException or ObjectDisposedException)
        {
            NoBirthdayDtls(_logger, peer, e.Message);
            Record(peer, controlling: false, "dtls failed", path);
            await ReleaseAsync(peer, held).ConfigureAwait(false);
            return;
        }
        _ = session.Closed.ContinueWith(_ => ReleaseAsync(peer, held), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        Interlocked.Increment(ref _succeeded);
        Record(peer, controlling: false, "direct", path);
        PathFound(_logger, peer, path.RemoteEndPoint, path.Candidate.Kind, ", birthday socket", "controlled");
        await node.ServeAcceptedDatagramsAsync(session).ConfigureAwait(false);
    }

    private DtlsEndpoint CreateEndpoint(UdpMux mux)
    {
        var node = _node!;
        return DtlsEndpoint.Create(new DtlsEndpointOptions
        {
            Identity = node.Identity,
            Bind = mux.OpenDtlsBind(),
            MaxDatagramSize = node.Options.Transport.MaxDatagramSize,
            MaxSessions = 1,
            HandshakeTimeout = node.Options.Transport.HandshakeTimeout,
            TimeProvider = node.Options.TimeProvider,
            LoggerFactory = node.Options.LoggerFactory,
        });
    }

    private static async Task WriteAsync(PeerStream stream, byte[] message, CancellationToken cancellationToken)
    {
        await stream.WriteAsync(message, cancellationToken).ConfigureAwait(false);
        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads one framed message, within <see cref="NodeUdpPunchOptions.Timeout"/>.</summary>
    private async Task<UdpPunchMessage> ReadAsync(PeerStream stream, PeerId peer, CancellationToken cancellationToken)
    {
        using var deadline = new CancellationTokenSource(_options.Timeout, _node!.Options.TimeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        var header = new byte[UdpPunchSignal.HeaderLength];
        try
        {
            await stream.ReadExactlyAsync(header, linked.Token).ConfigureAwait(false);
            var (type, length) = UdpPunchSignal.ReadHeader(header);
            var body = new byte[length];
            await stream.ReadExactlyAsync(body, linked.Token).ConfigureAwait(false);
            return UdpPunchSignal.ParseBody(type, body);
        }
        catch (EndOfStreamException)
        {
            throw new PeerException(PeerError.ConnectionClosed, $"{peer} closed the UDP punch stream before its message.");
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new PeerException(PeerError.Timeout, $"{peer} sent no UDP punch message within {_options.Timeout.TotalSeconds:0.#} s.");
        }
    }
}
