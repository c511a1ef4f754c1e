using Pinhole.Vpn.DataPlane;
using Pinhole.Vpn.Offload;
using Pinhole.Vpn.Packets;

namespace Pinhole.Vpn;

/*  MTU (docs/vpn.md, "MTU arithmetic"):
      TUN MTU = path MTU − (outer IP 20|40 + UDP 8 + record 29), never below 1280.
      The path MTU is probed in band (RFC 8899 style): pings padded to an outer size, largest first; an
      answered probe proves that size, a lost one steps down. The outer socket sets DF and ignores ICMP
      (IP_PMTUDISC_PROBE): forged ICMP cannot shrink the path, and black holes (no ICMP at all,
      tailscale#311, #20681) are found anyway. An inner packet larger than the peer's proven path is
      answered with ICMP "fragmentation needed" / ICMPv6 "packet too big" written into the TUN, and TCP
      SYNs are clamped to it, so the sender adapts.
*/
public sealed partial class VpnInterface
{
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan ProbeUpInterval = TimeSpan.FromSeconds(60);
    private static readonly int[] ProbeSizes = [1500, 1400, 1280, 1200, 1024, 576];

    private bool TooBig(ref PacketRef slot, int limit, List<PacketRef> replies)
    {
        byte[] reply = new byte[1280];
        int length = IcmpTooBig.Build(slot.Span, limit, reply);
        if (length > 0)
        {
            replies.Add(new PacketRef(reply, 0, length));
        }
        Interlocked.Increment(ref _droppedTooBig);
        return true;
    }

    private long _droppedTooBig;

    /// <summary>Packets answered with ICMP "too big".</summary>
    internal long DroppedTooBig => Interlocked.Read(ref _droppedTooBig);

    private int MaxProbe(Peer peer) => _tun.Mtu + Overhead(ipv6: peer.Endpoint is { IsIPv4: false });

    private void TickProbes(Peer peer, long now, bool active)
    {
        long sentAt = peer.PingSentAt;
        if (sentAt != 0)
        {
            TimeSpan timeout = ProbeTimeout;
            long rtt = Interlocked.Read(ref peer.RttTicks);
            if (rtt > 0)
            {
                timeout = TimeSpan.FromSeconds(Math.Max(timeout.TotalSeconds, 3.0 * rtt / _time.TimestampFrequency));
            }
            if (_time.GetElapsedTime(sentAt, now) < timeout)
            {
                return;
            }
            // Lost: a probe larger than what is proven steps the next probe down.
            peer.PingSentAt = 0;
            if (peer.PingSize > Volatile.Read(ref peer.PathMtu))
            {
                peer.ProbeMtu = NextSmaller(peer.PingSize);
                peer.ProbeFailures++;
            }
        }
        int max = MaxProbe(peer);
        int proven = Volatile.Read(ref peer.PathMtu);
        int target = peer.ProbeMtu == 0 ? max : Math.Min(peer.ProbeMtu, max);
        if (!active)
        {
            return;
        }
        if (_timings.ProbePathMtu && proven < target && target >= ProbeSizes[^1]
            && (proven == 0 || peer.LastProbe == 0 || _time.GetElapsedTime(peer.LastProbe, now) >= (peer.ProbeFailures > 0 ? ProbeTimeout : ProbeUpInterval)))
        {
            Probe(peer, target, now);
            peer.LastProbe = now;
            return;
        }
        if (_timings.ProbePathMtu && (proven >= max || (proven > 0 && peer.LastProbe != 0 && _time.GetElapsedTime(peer.LastProbe, now) >= ProbeUpInterval)))
        {
            // Proven what we need, or time to see whether the path grew again.
            if (proven < max && _time.GetElapsedTime(peer.LastProbe, now) >= ProbeUpInterval)
            {
                peer.ProbeMtu = max;
                peer.ProbeFailures = 0;
                Probe(peer, max, now);
                peer.LastProbe = now;
                return;
            }
        }
        if (_timings.PingInterval != TimeSpan.MaxValue && (peer.LastPing == 0 || _time.GetElapsedTime(peer.LastPing, now) >= _timings.PingInterval))
        {
            Probe(peer, 0, now); // a small ping: RTT only
        }
    }

    private static int NextSmaller(int size)
    {
        foreach (int candidate in ProbeSizes)
        {
            if (candidate < size)
            {
                return candidate;
            }
        }
        return 0;
    }

    // A ping padded so the outer IP packet is `size` bytes (0: unpadded).
    private void Probe(Peer peer, int size, long now)
    {
        uint id = peer.PingId + 1;
        int padTo = size == 0 ? 0 : size - Overhead(ipv6: peer.Endpoint is { IsIPv4: false });
        if (size != 0 && padTo < WireFormat.ControlLength)
        {
            return;
        }
        Span<byte> ping = stackalloc byte[WireFormat.ControlLength];
        WireFormat.WriteControl(ping, WireFormat.ControlPing, id);
        peer.PingId = id;
        peer.PingSize = size;
        peer.PingSentAt = now;
        peer.LastPing = now;
        if (!SendControl(peer, ping, padTo))
        {
            // Refused locally (larger than the interface, EMSGSIZE): as good as lost.
            peer.PingSentAt = 0;
            if (size > Volatile.Read(ref peer.PathMtu))
            {
                peer.ProbeMtu = NextSmaller(size);
                peer.ProbeFailures++;
            }
        }
    }

    private void OnProbeAnswered(Peer peer, int size)
    {
        if (size <= 0)
        {
            return;
        }
        peer.ProbeFailures = 0;
        if (size > Volatile.Read(ref peer.PathMtu))
        {
            Volatile.Write(ref peer.PathMtu, size);
            VpnLog.PathMtu(_logger, peer.ToString(), size);
        }
    }
}
