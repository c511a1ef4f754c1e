using System.Net;
using Pinhole.Dtls;
using Pinhole.Nat;

namespace Pinhole.Node;

public sealed partial class NodeUdpPunchService
{
    // One allocation per node, on the node's socket, shared by every peer reached through it (a channel each).
    private readonly SemaphoreSlim _turnGate = new(1, 1);
    private TurnAllocation? _turn;
    private int _turnSessions;

    /// <summary>This node's TURN relayed address while it holds an allocation.</summary>
    public IPEndPoint? TurnRelayedAddress => _turn is { IsActive: true } turn ? turn.RelayedAddress : null;

    /// <summary>
    /// After a failed punch: both nodes allocate on their TURN server, swap relayed addresses on a new signalling
    /// stream, bind a channel each, and DTLS runs through the two allocations (the server sees ciphertext only).
    /// </summary>
    private async Task<DtlsConnection> ConnectViaTurnAsync(PeerId peer, NodeUdpSocket socket, CancellationToken cancellationToken)
    {
        var node = _node!;
        var turn = await AllocateAsync(cancellationToken).ConfigureAwait(false);
        IPEndPoint theirs;
        var stream = await node.Connections.OpenStreamAsync(peer, ProtocolId, cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            await WriteAsync(stream, UdpPunchSignal.EncodeTurn(turn.RelayedAddress), cancellationToken).ConfigureAwait(false);
            var answer = await ReadAsync(stream, peer, cancellationToken).ConfigureAwait(false);
            if (answer.Type == UdpPunchMessageType.Refused)
            {
                throw new PeerException(PeerError.Refused, $"{peer} will not relay through TURN: {answer.Refusal}");
            }
            if (answer.Type != UdpPunchMessageType.TurnAnswer)
            {
                throw new PeerException(PeerError.ProtocolViolation, $"{peer} sent {answer.Type} where a TURN answer belongs.");
            }
            stream.CompleteWrites();
            theirs = answer.Relayed!;
        }
        var channel = await turn.BindChannelAsync(theirs, cancellationToken).ConfigureAwait(false);
        var session = await socket.Endpoint.ConnectAsync(channel, peer, cancellationToken).ConfigureAwait(false);
        Interlocked.Increment(ref _turnSessions);
        _ = session.Closed.ContinueWith(_ => Interlocked.Decrement(ref _turnSessions), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        return session;
    }

    /// <summary>The answering side of the TURN round: bind a channel to the dialler's relayed address and answer with ours.</summary>
    private async Task AnswerTurnAsync(PeerId peer, PeerStream stream, IPEndPoint theirs, CancellationToken cancellationToken)
    {
        TurnAllocation turn;
        try
        {
            turn = await AllocateAsync(cancellationToken).ConfigureAwait(false);
            // The channel first: the dialler's DTLS may follow the answer at once, and only a bound peer gets through.
            await turn.BindChannelAsync(theirs, cancellationToken).ConfigureAwait(false);
        }
        catch (PeerException e)
        {
            await WriteAsync(stream, UdpPunchSignal.EncodeRefusal(e.Message), cancellationToken).ConfigureAwait(false);
            stream.CompleteWrites();
            return;
        }
        Record(peer, controlling: false, "turn", null);
        // The dialler's DTLS arrives through the channel at the node's own socket, whose listener serves it.
        await WriteAsync(stream, UdpPunchSignal.EncodeTurn(turn.RelayedAddress, answer: true), cancellationToken).ConfigureAwait(false);
        stream.CompleteWrites();
    }

    private async Task<TurnAllocation> AllocateAsync(CancellationToken cancellationToken)
    {
        if (_options.Turn is not { } options)
        {
            throw new PeerException(PeerError.Unreachable, "no TURN server is configured");
        }
        await _turnGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_turn is { IsActive: true } live)
            {
                return live;
            }
            if (_turn is { } dead)
            {
                await dead.DisposeAsync().ConfigureAwait(false);
            }
            _turn = await TurnAllocation.AllocateAsync(_mux!, options, cancellationToken).ConfigureAwait(false);
            return _turn;
        }
        finally
        {
            _turnGate.Release();
        }
    }

    private async Task ReleaseTurnAsync()
    {
        await _turnGate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_turn is { } turn)
            {
                _turn = null;
                await turn.DisposeAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            _turnGate.Release();
        }
    }
}
