using System.Net;
using System.Net.Sockets;
using Pinhole.Dtls;

namespace Pinhole.Node;

public sealed partial class PinholeNode
{
    /// <summary>The DTLS endpoints on the node's own UDP sockets (one per listen address), for dialling from the node's port.</summary>
    public IReadOnlyList<DtlsEndpoint> DatagramEndpoints => [.. _udp.Select(u => u.Endpoint)];

    /// <summary>
    /// Opens a DTLS session to <paramref name="peer"/> from the node's UDP port. With UDP hole punching
    /// (<see cref="NodeUdpPunchExtensions.UseUdpHolePunching"/>) the two nodes swap candidates over their connection
    /// (relayed or not) and punch (<see cref="NodeUdpPunchService.ConnectAsync"/>); a peer that does not punch, or a
    /// node without it, is dialled at its stored <c>/udp/</c> addresses first, then the UDP twins of its TCP addresses
    /// (nodes listen on both with one port number), one after the other. The caller owns the returned session.
    /// Throws <see cref="PeerException"/>.
    /// </summary>
    public async Task<DtlsConnection> ConnectDatagramsAsync(PeerId peer, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(peer);
        if (GetService<NodeUdpPunchService>() is { Unavailable: null } punching)
        {
            try
            {
                return await punching.ConnectAsync(peer, cancellationToken).ConfigureAwait(false);
            }
            catch (PeerException e) when (e.Error == PeerError.Refused && !cancellationToken.IsCancellationRequested)
            {
                // The peer does not punch (an older node, or no STUN there): its addresses may still answer.
                NodeLog.DatagramPunchRefused(_logger, peer, e.Message);
            }
        }
        if (_udp.Count == 0)
        {
            throw new PeerException(PeerError.Unreachable, "The node has no UDP socket (EnableUdp is off).");
        }
        var known = Peers.Get(peer)?.Addresses ?? [];
        var endPoints = known.Select(a => a.Address).Where(a => a.TryGetIPEndPoint(out _, out var t) && t == "udp")
            .Concat(known.Select(a => a.Address).Where(a => a.TryGetIPEndPoint(out _, out var t) && t == "tcp"))
            .Select(a => a.ToIPEndPoint())
            .Distinct()
            .ToList();
        if (endPoints.Count == 0)
        {
            throw new PeerException(PeerError.Unreachable, $"No known address for {peer}.");
        }
        var errors = new List<string>();
        foreach (var endPoint in endPoints)
        {
            var udp = _udp.FirstOrDefault(u => u.LocalEndPoint.AddressFamily == endPoint.AddressFamily || u.LocalEndPoint.Address.Equals(IPAddress.IPv6Any));
            if (udp is null)
            {
                continue;
            }
            try
            {
                var session = await udp.Endpoint.ConnectAsync(endPoint, peer, cancellationToken).ConfigureAwait(false);
                Metrics.DatagramSession(inbound: false);
                return session;
            }
            catch (PeerException e) when (e.Error is PeerError.Timeout or PeerError.Unreachable or PeerError.Refused && !cancellationToken.IsCancellationRequested)
            {
                errors.Add($"{endPoint}: {e.Message}");
            }
        }
        throw new PeerException(PeerError.Unreachable, $"No DTLS session with {peer}: {(errors.Count == 0 ? "no address of a family the node listens on" : string.Join("; ", errors))}");
    }

    private async Task AcceptDatagramsAsync(NodeUdpSocket udp)
    {
        var listener = udp.Listener!;
        while (!_stop.IsCancellationRequested)
        {
            DtlsConnection session;
            try
            {
                session = await listener.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            Metrics.DatagramSession(inbound: true);
            if (_parts.DatagramHandler is { } handler)
            {
                _ = ServeDatagramsAsync(handler, session);
            }
            else
            {
                NodeLog.DatagramSessionUnclaimed(_logger, session.RemotePeer, session.RemoteEndPoint);
                await session.CloseAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>The node's own UDP sockets (one per listen address).</summary>
    internal IReadOnlyList<NodeUdpSocket> UdpSockets => _udp;

    /// <summary>Hands a session accepted outside the node's listeners (a hole-punched socket's) to the datagram handler, or closes it.</summary>
    internal Task ServeAcceptedDatagramsAsync(DtlsConnection session)
    {
        Metrics.DatagramSession(inbound: true);
        if (_parts.DatagramHandler is { } handler)
        {
            return ServeDatagramsAsync(handler, session);
        }
        NodeLog.DatagramSessionUnclaimed(_logger, session.RemotePeer, session.RemoteEndPoint);
        return session.CloseAsync().AsTask();
    }

    private async Task ServeDatagramsAsync(DatagramSessionHandler handler, DtlsConnection session)
    {
        await using (session.ConfigureAwait(false))
        {
            try
            {
                await handler(session, _stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                NodeLog.DatagramHandlerFailed(_logger, session.RemotePeer, e);
            }
        }
    }

    internal static bool IsAddressInUse(SocketException e) => e.SocketErrorCode == SocketError.AddressAlreadyInUse;
}
