using System.Runtime.InteropServices;
using Pinhole.Vpn.DataPlane;
using Pinhole.Vpn.Offload;
using Pinhole.Vpn.Packets;
using Pinhole.Vpn.Routing;

namespace Pinhole.Vpn;

/*  Outbound (the TUN thread):

        TUN read (one 64 KiB TSO/USO super-packet, or up to 128 plain packets)
          │  userspace GSO split into MTU-sized packets, each in its own pooled buffer
          ▼  with 13 bytes of room in front and 16 behind
        for each packet: destination → peer (longest prefix match)
          │  no peer: drop · too big for the peer's path: ICMP back into the TUN · TCP SYN: clamp MSS
          │  no usable keypair: queue a copy (≤ 128) and start a handshake
          ▼  seal in place: type | receiver index | counter | AES-256-GCM(packet) | tag
        per peer, the batch's records
          ▼  sendmmsg: equal-sized runs as one UDP_SEGMENT message, gathered from the buffers (no copy)
*/
public sealed partial class VpnInterface
{
    /// <summary>Room in front of a packet in a data-path buffer (≥ the record header).</summary>
    internal const int Headroom = 16;

    private const int TunBatch = 128;

    private void TunLoop()
    {
        try
        {
            int slotSize = Headroom + Math.Max(_tun.Mtu, 1500) + WireFormat.TagLength;
            var slots = new PacketRef[TunBatch];
            for (int i = 0; i < slots.Length; i++)
            {
                slots[i] = new PacketRef(GC.AllocateArray<byte>(slotSize, pinned: true), Headroom, 0);
            }
            var touched = new List<Peer>();
            var replies = new List<PacketRef>();
            while (!IsStopping)
            {
                _reclaimer.Exit(TunSlot);
                int n = _tun.Read(slots);
                if (n <= 0)
                {
                    return;
                }
                _reclaimer.Enter(TunSlot);
                long now = _time.GetTimestamp();
                PrefixTable<Peer> routes = _routes;
                for (int i = 0; i < n; i++)
                {
                    Route(ref slots[i], routes, now, touched, replies);
                }
                foreach (Peer peer in touched)
                {
                    Flush(peer, now);
                }
                touched.Clear();
                if (replies.Count > 0)
                {
                    _tun.Write(CollectionsMarshal.AsSpan(replies));
                    replies.Clear();
                }
            }
        }
        catch (Exception e) when (!IsStopping)
        {
            VpnLog.LoopFailed(_logger, "TUN", e);
        }
        finally
        {
            _reclaimer.Exit(TunSlot);
        }
    }

    private void Route(ref PacketRef slot, PrefixTable<Peer> routes, long now, List<Peer> touched, List<PacketRef> replies)
    {
        Span<byte> packet = slot.Span;
        int version = IpHeader.Version(packet);
        if (version == 0)
        {
            Interlocked.Increment(ref _droppedInvalid);
            return;
        }
        Peer? peer = routes.Lookup(IpHeader.Destination(packet, version));
        if (peer is null)
        {
            Interlocked.Increment(ref _droppedNoRoute);
            return;
        }
        UdpAddress? endpoint = peer.Endpoint;
        int limit = InnerLimit(peer, endpoint);
        if (packet.Length > limit)
        {
            // Too big for the peer's path: tell the sender (ICMP written back into the TUN) if the packet may
            // not be fragmented; otherwise it goes anyway and the outer IP layer copes.
            if (TooBig(ref slot, limit, replies))
            {
                return;
            }
        }
        TcpMss.Clamp(packet, version, limit);
        Keypair? keypair = peer.Current;
        if (keypair is null || !IsUsable(keypair, now) || endpoint is null)
        {
            StageForHandshake(peer, packet, keypair, force: false, now);
            return;
        }
        if (peer.HasStaged)
        {
            // Older packets still queued: this one goes behind them.
            peer.Stage(packet);
            FlushStaged(peer);
            return;
        }
        ulong counter = keypair.NextCounter();
        if (counter >= _timings.RejectAfterMessages)
        {
            StageForHandshake(peer, packet, keypair, force: true, now);
            return;
        }
        int recordLength = WireFormat.DataOverhead + packet.Length;
        keypair.SealData(slot.Buffer.AsSpan(slot.Offset - WireFormat.DataHeaderLength, recordLength), counter);
        if (peer.Outgoing.Count == 0)
        {
            touched.Add(peer);
        }
        peer.Outgoing.Add(new PacketRef(slot.Buffer, slot.Offset - WireFormat.DataHeaderLength, recordLength));
        Interlocked.Add(ref peer.TxBytes, packet.Length);
    }

    private void Flush(Peer peer, long now)
    {
        List<PacketRef> records = peer.Outgoing;
        UdpAddress? endpoint = peer.Endpoint;
        if (endpoint is not null)
        {
            int failed = _transport.Send(endpoint, CollectionsMarshal.AsSpan(records));
            if (failed > 0)
            {
                Interlocked.Add(ref peer.DroppedSend, failed);
            }
        }
        Interlocked.Add(ref peer.TxPackets, records.Count);
        Volatile.Write(ref peer.LastSent, now);
        Volatile.Write(ref peer.LastDataSent, now);
        Interlocked.Exchange(ref peer.PassiveKeepaliveDue, 0);
        // Dead-peer detection: data out with nothing back for KeepaliveTimeout + RekeyTimeout → new handshake.
        if (Interlocked.Read(ref peer.FirstUnansweredSend) == 0)
        {
            Interlocked.CompareExchange(ref peer.FirstUnansweredSend, now, 0);
        }
        records.Clear();
    }

    private bool IsUsable(Keypair keypair, long now) => _time.GetElapsedTime(keypair.Created, now) < _timings.RejectAfterTime;

    /// <summary>Largest inner packet that fits the peer's known path (the TUN MTU until a probe says less).</summary>
    private int InnerLimit(Peer peer, UdpAddress? endpoint)
    {
        int path = Volatile.Read(ref peer.PathMtu);
        if (path == 0)
        {
            return _tun.Mtu;
        }
        return Math.Min(_tun.Mtu, path - Overhead(ipv6: endpoint is { IsIPv4: false }));
    }

    /// <summary>
    /// Seals and sends one plaintext (an IP packet, a control message, or nothing for a keepalive) from any
    /// thread. False if the peer has no usable keypair or endpoint.
    /// </summary>
    private bool SendControl(Peer peer, ReadOnlySpan<byte> plaintext, int padTo = 0, UdpAddress? to = null)
    {
        Keypair? keypair = peer.Current;
        UdpAddress? endpoint = to ?? peer.Endpoint;
        if (keypair is null || endpoint is null || keypair.IsDisposed || !IsUsable(keypair, _time.GetTimestamp()))
        {
            return false;
        }
        int length = Math.Max(plaintext.Length, padTo);
        byte[] record = GC.AllocateUninitializedArray<byte>(WireFormat.DataOverhead + length);
        plaintext.CopyTo(record.AsSpan(WireFormat.DataHeaderLength));
        record.AsSpan(WireFormat.DataHeaderLength + plaintext.Length, length - plaintext.Length).Clear();
        try
        {
            keypair.SealControl(record);
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
        bool sent = _transport.SendOne(endpoint, record);
        long now = _time.GetTimestamp();
        Volatile.Write(ref peer.LastSent, now);
        Interlocked.Exchange(ref peer.PassiveKeepaliveDue, 0);
        if (!sent)
        {
            Interlocked.Increment(ref peer.DroppedSend);
        }
        return sent;
    }

    /// <summary>Sends what was queued while the peer had no keypair.</summary>
    /// <summary>Called on the TUN thread between reading a peer's keypair and queueing a packet for it: lets a test land a handshake there.</summary>
    internal Action<Peer>? BeforeStagingForTests { get; set; }

    /// <summary>
    /// Queues <paramref name="packet"/> until a keypair exists and asks for a handshake. A handshake may have installed a
    /// keypair after <paramref name="seen"/> was read and looked for queued packets before this one was queued (its
    /// HandshakeInFlight still set, so no new handshake starts either): then nothing would send it until the next
    /// packet. Stage and the install both take the peer's lock, so re-reading the keypair after staging sees any
    /// install that missed the packet, and the packet is sent here.
    /// </summary>
    private void StageForHandshake(Peer peer, ReadOnlySpan<byte> packet, Keypair? seen, bool force, long now)
    {
        BeforeStagingForTests?.Invoke(peer);
        peer.Stage(packet);
        RequestHandshake(peer, force);
        if (peer.Current is { } fresh && !ReferenceEquals(fresh, seen) && IsUsable(fresh, now) && peer.Endpoint is not null)
        {
            FlushStaged(peer);
        }
    }

    private void FlushStaged(Peer peer)
    {
        lock (peer.FlushLock)
        {
            while (peer.Current is not null && peer.TakeStaged() is { } packet)
            {
                SendStaged(peer, packet);
            }
        }
    }

    private void SendStaged(Peer peer, byte[] packet)
    {
        if (SendControl(peer, packet))
        {
            Interlocked.Add(ref peer.TxBytes, packet.Length);
            Interlocked.Increment(ref peer.TxPackets);
            Volatile.Write(ref peer.LastDataSent, _time.GetTimestamp());
            if (Interlocked.Read(ref peer.FirstUnansweredSend) == 0)
            {
                Interlocked.CompareExchange(ref peer.FirstUnansweredSend, _time.GetTimestamp(), 0);
            }
        }
    }
}
