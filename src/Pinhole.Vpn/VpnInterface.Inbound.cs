using Pinhole.Vpn.DataPlane;
using Pinhole.Vpn.Offload;
using Pinhole.Vpn.Packets;
using Pinhole.Vpn.Routing;

namespace Pinhole.Vpn;

/*  Inbound (the UDP thread):

        recvmmsg (UDP_GRO: up to 64 datagrams of one sender per buffer), split by segment size
          ▼
        type 0x04/0x05: a DTLS handshake datagram → the listener's or the dialer's DTLS endpoint
        type 0–3: STUN → a Binding success of our own transaction (QueryMappedAddressAsync), else dropped
        type 0x06: receiver index → keypair (unknown: held ≤ 2 s for a keypair being installed)
          │  replay window pre-check · AES-256-GCM open in place · replay window update
          │  a responder's new keypair is confirmed by its first record; the peer's endpoint moves to the
          │  source of the batch's last authentic record the path policy follows (roaming, DataPlane/PathPolicy.cs)
          │  keepalive (empty) · ping → pong · pong → RTT / path MTU · direct probe → ack to its source
          ▼  IP packet: its source must be one of the sending peer's prefixes (cryptokey routing)
        TUN write of the batch: TCP/UDP runs coalesced (GRO) into super-packets, written with writev
*/
public sealed partial class VpnInterface
{
    private const int MaxHeld = 32;

    private readonly List<(byte[] Datagram, UdpAddress Source, long At)> _held = [];

    private void UdpLoop()
    {
        try
        {
            var datagrams = new ReceivedDatagram[_transport.MaxReceiveBatch];
            var toTun = new PacketRef[_transport.MaxReceiveBatch];
            var touched = new List<Peer>();
            while (true)
            {
                _reclaimer.Exit(UdpSlot);
                int n = _transport.Receive(datagrams);
                if (n < 0 || IsStopping)
                {
                    return;
                }
                _reclaimer.Enter(UdpSlot);
                long now = _time.GetTimestamp();
                PrefixTable<Peer> routes = _routes;
                int count = 0;
                if (n == 0 || _held.Count > 0)
                {
                    count = RetryHeld(toTun, routes, now, touched);
                }
                for (int i = 0; i < n; i++)
                {
                    ref ReceivedDatagram d = ref datagrams[i];
                    Span<byte> bytes = d.Packet.Span;
                    switch (bytes.IsEmpty ? (byte)0 : bytes[0])
                    {
                        case WireFormat.HandshakeToListener:
                            _listenerBind?.Deliver(d.Source, bytes[1..]);
                            break;
                        case WireFormat.HandshakeToDialer:
                            _dialerBind?.Deliver(d.Source, bytes[1..]);
                            break;
                        case WireFormat.Data:
                            if (Open(d.Packet, d.Source, routes, now, touched, out PacketRef inner, hold: true))
                            {
                                toTun[count++] = inner;
                            }
                            break;
                        case byte first when WireFormat.IsStun(first):
                            OnStun(bytes, d.Source);
                            break;
                        default:
                            Interlocked.Increment(ref _droppedInvalid);
                            break;
                    }
                }
                // Roam before the packets reach the kernel: a reply to them must already go to the new address.
                foreach (Peer peer in touched)
                {
                    EndBatch(peer);
                }
                touched.Clear();
                if (count > 0)
                {
                    _tun.Write(toTun.AsSpan(0, count));
                }
            }
        }
        catch (Exception e) when (!IsStopping)
        {
            VpnLog.LoopFailed(_logger, "UDP", e);
        }
        finally
        {
            _reclaimer.Exit(UdpSlot);
        }
    }

    // Opens one data record; true with the inner IP packet if it goes to the TUN.
    private bool Open(PacketRef datagram, UdpAddress source, PrefixTable<Peer> routes, long now, List<Peer> touched, out PacketRef inner, bool hold)
    {
        inner = default;
        Span<byte> bytes = datagram.Span;
        if (!WireFormat.TryReadDataHeader(bytes, out uint index, out ulong counter))
        {
            Interlocked.Increment(ref _droppedInvalid);
            return false;
        }
        if (!_indices.TryGetValue(index, out Keypair? keypair))
        {
            if (hold)
            {
                Hold(bytes, source, now);
            }
            return false;
        }
        if (!keypair.Replay.MayAccept(counter, _timings.RejectAfterMessages) || _time.GetElapsedTime(keypair.Created, now) >= _timings.RejectAfterTime * 3)
        {
            return false;
        }
        if (!keypair.Receive.Open(bytes[5..], WireFormat.Data))
        {
            Interlocked.Increment(ref _authFailures);
            return false;
        }
        if (!keypair.Replay.Accept(counter, _timings.RejectAfterMessages))
        {
            return false;
        }
        Peer peer = keypair.Peer;
        if (ReferenceEquals(peer.Next, keypair))
        {
            Confirm(peer, keypair);
        }
        int plaintextLength = bytes.Length - WireFormat.DataOverhead;
        Span<byte> plaintext = bytes.Slice(WireFormat.DataHeaderLength, plaintextLength);
        byte control = 0;
        if (plaintextLength > 0 && plaintext[0] == WireFormat.ControlMarker && WireFormat.TryReadControl(plaintext, out byte kind, out _))
        {
            control = kind;
        }
        OnPathRecord(peer, source, control switch
        {
            WireFormat.ControlProbe => PathRecord.Probe,
            WireFormat.ControlProbeAck => PathRecord.ProbeAck,
            _ => PathRecord.Other,
        }, now, touched);
        // The answer clears dead-peer detection before LastReceived shows it (whoever reads the latter sees the former).
        Interlocked.Exchange(ref peer.FirstUnansweredSend, 0);
        Volatile.Write(ref peer.LastReceived, now);
        if (plaintextLength == 0)
        {
            return false; // keepalive
        }
        if (plaintext[0] == WireFormat.ControlMarker)
        {
            OnControl(peer, plaintext, source, now);
            return false;
        }
        int version = IpHeader.Version(plaintext);
        if (version == 0)
        {
            Interlocked.Increment(ref _droppedInvalid);
            return false;
        }
        int declared = IpHeader.DeclaredLength(plaintext, version);
        if (declared > plaintextLength || declared < (version == 4 ? IpHeader.Ipv4MinLength : IpHeader.Ipv6Length))
        {
            Interlocked.Increment(ref _droppedInvalid);
            return false;
        }
        // Cryptokey routing: the inner source must be an address this peer owns.
        if (!ReferenceEquals(routes.Lookup(IpHeader.Source(plaintext, version)), peer))
        {
            if (Interlocked.Increment(ref peer.DroppedSource) <= 10 && _logger.IsEnabled(Microsoft.Extensions.Logging.LogLevel.Debug))
            {
                VpnLog.SourceNotAllowed(_logger, peer.ToString(), new System.Net.IPAddress(IpHeader.Source(plaintext, version)).ToString() + " " + Convert.ToHexString(plaintext[..Math.Min(40, plaintext.Length)]));
            }
            return false;
        }
        Interlocked.Add(ref peer.RxBytes, declared);
        Interlocked.Increment(ref peer.RxPackets);
        Interlocked.CompareExchange(ref peer.PassiveKeepaliveDue, now, 0);
        Volatile.Write(ref peer.LastDataReceived, now);
        inner = new PacketRef(datagram.Buffer, datagram.Offset + WireFormat.DataHeaderLength, declared);
        return true;
    }

    // The path policy (DataPlane/PathPolicy.cs) for one authentic record: the batch's last record it lets us follow
    // becomes the endpoint at the batch's end.
    private void OnPathRecord(Peer peer, UdpAddress source, PathRecord kind, long now, List<Peer> touched)
    {
        bool fromRelay = RelayTransport.IsRelay(source);
        if (peer.IsFormerRelay(source))
        {
            // A frame read from a relay stream before it was replaced or closed, handled after: its record is delivered,
            // but following it would send every record to a link that is gone (and nothing would move the path back).
            return;
        }
        if (!fromRelay && kind != PathRecord.Probe)
        {
            Volatile.Write(ref peer.DirectHeard, now);
        }
        switch (PathPolicy.OnRecord(peer.BatchSource ?? peer.Endpoint, fromRelay, kind, Volatile.Read(ref peer.DirectHeard), now, _timings.DirectHold, _time))
        {
            case PathVerdict.Follow:
                if (!peer.InBatch)
                {
                    peer.InBatch = true;
                    touched.Add(peer);
                }
                peer.BatchSource = source;
                break;
            case PathVerdict.Probe:
                peer.ProbeTarget = source; // probed by the timer (TickPath)
                break;
        }
    }

    // Roaming: once per batch, the peer's endpoint follows the last authentic record the path policy let it follow.
    private void EndBatch(Peer peer)
    {
        peer.InBatch = false;
        UdpAddress? source = peer.BatchSource;
        peer.BatchSource = null;
        UdpAddress? current = peer.Endpoint;
        if (source is not null && !source.Equals(current)
            && !peer.IsFormerRelay(source)) // again: the relay may have been replaced since the record
        {
            if (current is not null && RelayTransport.IsRelay(current) && !RelayTransport.IsRelay(source))
            {
                // UDP just answered a round trip: a UDP handshake that failed while relayed is history, and must not
                // send the path straight back (TickPath reads DirectFailures).
                Volatile.Write(ref peer.DirectFailures, 0);
            }
            peer.Endpoint = source;
            if (current is not null && RelayTransport.IsRelay(current) != RelayTransport.IsRelay(source))
            {
                VpnLog.PathChanged(_logger, peer.ToString(), RelayTransport.IsRelay(source) ? "relayed" : "direct", "an authentic record arrived on it");
            }
            else
            {
                VpnLog.Roamed(_logger, peer.ToString(), current?.EndPoint, source.EndPoint);
            }
        }
    }

    // A record for a keypair not installed yet (its handshake is completing on another thread).
    private void Hold(ReadOnlySpan<byte> datagram, UdpAddress source, long now)
    {
        if (_held.Count >= MaxHeld)
        {
            _held.RemoveAt(0);
        }
        _held.Add((datagram.ToArray(), source, now));
    }

    private int RetryHeld(PacketRef[] toTun, PrefixTable<Peer> routes, long now, List<Peer> touched)
    {
        int count = 0;
        for (int i = _held.Count - 1; i >= 0; i--)
        {
            var (datagram, source, at) = _held[i];
            if (_time.GetElapsedTime(at, now) > _timings.RekeyTimeout)
            {
                _held.RemoveAt(i);
                continue;
            }
            if (WireFormat.TryReadDataHeader(datagram, out uint index, out _) && _indices.ContainsKey(index))
            {
                _held.RemoveAt(i);
                if (Open(new PacketRef(datagram, 0, datagram.Length), source, routes, now, touched, out PacketRef inner, hold: false))
                {
                    toTun[count++] = inner;
                }
            }
        }
        return count;
    }

    private void OnControl(Peer peer, ReadOnlySpan<byte> plaintext, UdpAddress source, long now)
    {
        if (!WireFormat.TryReadControl(plaintext, out byte kind, out uint id))
        {
            Interlocked.Increment(ref _droppedInvalid);
            return;
        }
        if (kind == WireFormat.ControlProbe)
        {
            // Answered where it came from, whatever our path: the ack proves the round trip to the prober.
            Span<byte> ack = stackalloc byte[WireFormat.ControlLength];
            WireFormat.WriteControl(ack, WireFormat.ControlProbeAck, id);
            SendControl(peer, ack, to: source);
            return;
        }
        if (kind == WireFormat.ControlProbeAck)
        {
            return; // the path policy has followed it already
        }
        if (kind == WireFormat.ControlPing)
        {
            Span<byte> pong = stackalloc byte[WireFormat.ControlLength];
            WireFormat.WriteControl(pong, WireFormat.ControlPong, id);
            SendControl(peer, pong);
            return;
        }
        OnPong(peer, id, now);
    }
}
