using Pinhole.Vpn.DataPlane;

namespace Pinhole.Vpn;

/*  Relay fallback (docs/vpn.md, "Relay path"). A peer may have a relay stream beside its UDP endpoint
    (AttachRelay: the node's /pinhole/vpn-relay/1.0.0 stream, over a direct or circuit-relayed node connection).
    The path policy runs on the timer:
      - direct → relayed when the peer has no UDP endpoint, or a handshake over UDP failed (a dead-peer handshake
        fails only after KeepaliveTimeout + RekeyTimeout of silence and then a RekeyTimeout without an answer:
        two RekeyTimeouts with nothing back), or records have gone unanswered for KeepaliveTimeout + 2·RekeyTimeout;
      - relayed → direct only when UDP answered a round trip: every DirectProbeInterval an authenticated probe goes to the
        last direct endpoint, and at the next tick after the peer sent us a record over UDP (or announced a new address), one goes there; the peer answers it
        with an ack to the probe's source, and the ack moves us. Our next records go direct, the peer probes in turn
        and moves too: one change on each side (DataPlane/PathPolicy.cs, the hysteresis).
      - direct → relayed also when records keep arriving over the relay and none came over UDP for DirectHold
        (the peer gave up on UDP first). Relayed records inside DirectHold were queued before the peer moved.
    Nothing unauthenticated ever moves the path. Relayed datagrams are the UDP datagrams themselves.
*/
public sealed partial class VpnInterface
{
    /// <summary>
    /// Attaches a relay stream to <paramref name="peerId"/>: VPN datagrams are framed over it when UDP does not work.
    /// The interface owns the stream from here and disposes of it when it ends or the interface stops. The task
    /// completes (with the reason) when the stream ends; attach a new one then if the peer is still wanted.
    /// </summary>
    /// <exception cref="ArgumentException">The peer is not one of this interface's.</exception>
    public Task<string> AttachRelay(PeerId peerId, Stream stream)
    {
        ArgumentNullException.ThrowIfNull(peerId);
        ArgumentNullException.ThrowIfNull(stream);
        ObjectDisposedException.ThrowIf(IsStopping, this);
        Peer peer = FindPeer(peerId) ?? throw new ArgumentException($"{peerId} is not a peer of {InterfaceName}.", nameof(peerId));
        var closed = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        UdpAddress? previous = null;
        UdpAddress address = _transport.Attach(stream, _timings.RelayQueueCapacity, registered: a =>
        {
            // Before the link reads: a stream that is already dead closes it at once, and that close must find all three.
            _relayClosed[a] = closed;
            previous = peer.ExchangeRelay(a);
            if (previous is not null && Equals(peer.Endpoint, previous))
            {
                // A relayed path goes on over the new stream: left on the old one, every record would go to a detached
                // stream (whose close no longer names this peer's relay).
                peer.Endpoint = a;
            }
        });
        if (previous is not null)
        {
            _ = _transport.DetachAsync(previous, "replaced by a new relay stream");
        }
        VpnLog.RelayAttached(_logger, peer.ToString());
        return closed.Task;
    }

    private readonly System.Collections.Concurrent.ConcurrentDictionary<UdpAddress, TaskCompletionSource<string>> _relayClosed = new();

    /// <summary>The transport with its relay links (tests hand it frames as a link's reader would).</summary>
    internal RelayTransport Transport => _transport;

    /// <summary>The peer's relay address and where its records go now (tests).</summary>
    internal (UdpAddress? Relay, UdpAddress? Endpoint) PathOf(PeerId peerId) => FindPeer(peerId) is { } peer ? (peer.Relay, peer.Endpoint) : (null, null);

    private void OnRelayClosed(UdpAddress address, string reason)
    {
        foreach (Peer peer in _peers.Values)
        {
            if (peer.TryClearRelay(address)) // not when a new stream replaced it meanwhile
            {
                VpnLog.RelayClosed(_logger, peer.ToString(), reason);
                // Any relay endpoint: one left on a stream replaced before this one is as dead.
                if (peer.Endpoint is { } endpoint && RelayTransport.IsRelay(endpoint) && peer.DirectEndpoint is { } direct)
                {
                    peer.Endpoint = direct;
                    VpnLog.PathChanged(_logger, peer.ToString(), "direct", "the relay stream closed");
                }
            }
        }
        if (_relayClosed.TryRemove(address, out TaskCompletionSource<string>? closed))
        {
            closed.TrySetResult(reason);
        }
    }

    private void TickPath(Peer peer, long now, bool usable)
    {
        if (peer.Relay is not { } relay)
        {
            return;
        }
        UdpAddress? endpoint = peer.Endpoint;
        if (endpoint is null || !RelayTransport.IsRelay(endpoint))
        {
            string? reason = null;
            long unanswered = Interlocked.Read(ref peer.FirstUnansweredSend);
            if (endpoint is null)
            {
                reason = "the peer has no UDP endpoint";
            }
            else if (Volatile.Read(ref peer.DirectFailures) > 0)
            {
                reason = $"the handshake over UDP to {endpoint} failed";
            }
            else if (unanswered != 0 && _time.GetElapsedTime(unanswered, now) >= _timings.KeepaliveTimeout + _timings.RekeyTimeout + _timings.RekeyTimeout)
            {
                reason = $"nothing came back over UDP from {endpoint}";
            }
            if (reason is null)
            {
                return;
            }
            Volatile.Write(ref peer.DirectFailures, 0);
            Interlocked.Exchange(ref peer.LastDirectProbe, now);
            peer.Endpoint = relay;
            VpnLog.PathChanged(_logger, peer.ToString(), "relayed", reason);
            if (!usable || unanswered != 0)
            {
                // The keys may be fine (only UDP died): a handshake over the relay proves the path either way.
                RequestHandshake(peer, force: true);
            }
            return;
        }
        if (peer.Relay is { } current && !endpoint.Equals(current))
        {
            // Left on a relay stream that was replaced (AttachRelay raced a record or handshake from the old one):
            // records there go nowhere, so go on over the peer's relay. Read after the endpoint, so a race with a
            // new AttachRelay is healed at the next tick.
            peer.Endpoint = current;
            VpnLog.PathChanged(_logger, peer.ToString(), "relayed", "the relay stream was replaced");
        }
        UdpAddress? wanted = usable ? peer.TakeProbeTarget() : null; // kept until a keypair can seal the probe
        if (usable && (wanted ?? peer.DirectEndpoint) is { } direct
            && (wanted is not null || _time.GetElapsedTime(Interlocked.Read(ref peer.LastDirectProbe), now) >= _timings.DirectProbeInterval))
        {
            Interlocked.Exchange(ref peer.LastDirectProbe, now);
            Span<byte> probe = stackalloc byte[WireFormat.ControlLength];
            WireFormat.WriteControl(probe, WireFormat.ControlProbe, unchecked((uint)now));
            SendControl(peer, probe, to: direct);
        }
    }
}
