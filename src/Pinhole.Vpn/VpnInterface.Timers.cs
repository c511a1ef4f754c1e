using Pinhole.Vpn.DataPlane;

namespace Pinhole.Vpn;

/*  Timers (one TimeProvider timer, every Tick), per peer, WireGuard's rules:
      - no usable keypair and packets queued or a persistent keepalive set → handshake
      - initiator's keypair older than RekeyAfterTime while sending → handshake
      - responder's keypair older than RejectAfterTime − KeepaliveTimeout − RekeyTimeout while receiving → handshake
      - data sent and nothing authentic back for KeepaliveTimeout + RekeyTimeout → handshake (dead peer), to the address
        the peer announced while its old one was proven, if it did (VpnInterface.SetPeersCore)
      - persistent keepalive: nothing sent for that long → keepalive
      - passive keepalive: data received and nothing sent back for KeepaliveTimeout → keepalive
      - every PingInterval while in use → ping (RTT); path MTU probes (VpnInterface.Mtu)
*/
public sealed partial class VpnInterface
{
    private int _ticking;

    private void Tick()
    {
        if (IsStopping || Interlocked.Exchange(ref _ticking, 1) != 0)
        {
            return;
        }
        try
        {
            long now = _time.GetTimestamp();
            foreach (Peer peer in _peers.Values)
            {
                TickPeer(peer, now);
            }
            _reclaimer.Collect();
        }
        catch (Exception e) when (!IsStopping)
        {
            VpnLog.LoopFailed(_logger, "timer", e);
        }
        finally
        {
            Volatile.Write(ref _ticking, 0);
        }
    }

    // The dead-peer trigger is consumed only by a handshake it actually starts. One still unwinding (its thread
    // between Install and its finally) declines it; that handshake's end checks again (DialAsync), so the trigger
    // is never lost whichever comes last, the tick or the unwinding.
    private void CheckDeadPeer(Peer peer, long now)
    {
        long unanswered = Interlocked.Read(ref peer.FirstUnansweredSend);
        if (unanswered == 0 || _time.GetElapsedTime(unanswered, now) < _timings.KeepaliveTimeout + _timings.RekeyTimeout)
        {
            return;
        }
        if (peer.AnnouncementDeferred && peer.ConfiguredEndpoint is { } announced && peer.Endpoint is { } endpoint && !RelayTransport.IsRelay(endpoint) && !announced.Equals(endpoint))
        {
            // The proven endpoint went silent: the address the peer announced meanwhile is where to look for it.
            peer.AnnouncementDeferred = false;
            peer.Endpoint = announced;
            VpnLog.Roamed(_logger, peer.ToString(), endpoint.EndPoint, announced.EndPoint);
        }
        if (RequestHandshake(peer, force: true))
        {
            Interlocked.CompareExchange(ref peer.FirstUnansweredSend, 0, unanswered);
        }
    }

    private void TickPeer(Peer peer, long now)
    {
        Keypair? keypair = peer.Current;
        bool usable = keypair is not null && IsUsable(keypair, now);
        long lastSent = Volatile.Read(ref peer.LastSent);
        long lastReceived = Volatile.Read(ref peer.LastReceived);
        TimeSpan sinceSent = lastSent == 0 ? TimeSpan.MaxValue : _time.GetElapsedTime(lastSent, now);
        TimeSpan sinceReceived = lastReceived == 0 ? TimeSpan.MaxValue : _time.GetElapsedTime(lastReceived, now);

        TickPath(peer, now, usable);

        if (!usable)
        {
            if (peer.HasStaged || peer.PersistentKeepalive > TimeSpan.Zero)
            {
                RequestHandshake(peer, force: false);
            }
        }
        else
        {
            TimeSpan age = _time.GetElapsedTime(keypair!.Created, now);
            if (keypair.IsInitiator && (age >= _timings.RekeyAfterTime || keypair.Sent >= _timings.RekeyAfterMessages) && sinceSent < _timings.KeepaliveTimeout)
            {
                RequestHandshake(peer, force: false);
            }
            else if (!keypair.IsInitiator && age >= _timings.RejectAfterTime - _timings.KeepaliveTimeout - _timings.RekeyTimeout && sinceReceived < _timings.KeepaliveTimeout)
            {
                RequestHandshake(peer, force: false);
            }
        }

        CheckDeadPeer(peer, now);

        if (usable)
        {
            if (peer.PersistentKeepalive > TimeSpan.Zero && sinceSent >= peer.PersistentKeepalive)
            {
                SendControl(peer, []);
            }
            else if (Interlocked.Read(ref peer.PassiveKeepaliveDue) is long due and not 0 && _time.GetElapsedTime(due, now) >= _timings.KeepaliveTimeout)
            {
                SendControl(peer, []);
            }
            long dataSent = Volatile.Read(ref peer.LastDataSent);
            long dataReceived = Volatile.Read(ref peer.LastDataReceived);
            // In use: data (not keepalives or pings) moved recently; probes and pings only then.
            bool active = (dataSent != 0 && _time.GetElapsedTime(dataSent, now) < _timings.KeepaliveTimeout)
                || (dataReceived != 0 && _time.GetElapsedTime(dataReceived, now) < _timings.KeepaliveTimeout)
                || _time.GetElapsedTime(keypair!.Created, now) < _timings.KeepaliveTimeout;
            TickProbes(peer, now, active);
        }
    }

    private void OnPong(Peer peer, uint id, long now)
    {
        if (id != peer.PingId || peer.PingSentAt == 0)
        {
            return;
        }
        Interlocked.Exchange(ref peer.RttTicks, now - peer.PingSentAt);
        int size = peer.PingSize;
        peer.PingSentAt = 0;
        OnProbeAnswered(peer, size);
    }
}
