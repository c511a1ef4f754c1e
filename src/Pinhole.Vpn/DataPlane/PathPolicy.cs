namespace Pinhole.Vpn.DataPlane;

/// <summary>What an authentic record is, as far as the path policy cares.</summary>
internal enum PathRecord
{
    /// <summary>Data, a keepalive, a ping or a pong.</summary>
    Other,

    /// <summary>A direct probe: the sender is relayed and asks whether UDP works again.</summary>
    Probe,

    /// <summary>The answer to our direct probe: it came back over UDP, so UDP works both ways.</summary>
    ProbeAck,
}

/// <summary>What to do with the peer's endpoint after an authentic record.</summary>
internal enum PathVerdict
{
    /// <summary>Move the endpoint to the record's source (nothing changes when it is already there).</summary>
    Follow,

    /// <summary>Keep the endpoint.</summary>
    Stay,

    /// <summary>Keep the endpoint, and probe the record's (direct) source: the peer sends or probes direct while we are relayed.</summary>
    Probe,
}

/*  Path policy with hysteresis (docs/vpn.md, "Relay path"). Plain roaming (follow the last authentic record) made
    both sides flip between relayed and direct 2–6 times while both paths delivered: the relay's queue still held
    records sent before the peer moved. The rules, for one authentic record:

      from a direct address
        a probe                      → stay (it proves only the peer→us direction; it is answered with an ack);
                                       while relayed, also probe its source back
        we are direct (or nowhere)   → follow (roaming between direct addresses, as before)
        an ack of our probe          → follow: UDP answered a round trip, direct is proven
        anything else while relayed  → stay and probe its source (the peer may not hear our UDP: prove it first)
      The probe goes to the record's source, not to the last direct endpoint we knew: that one may be an address the
      peer announced but cannot be reached at (a private LAN address behind its NAT).
      from the relay
        we are relayed (or nowhere)  → follow
        we are direct                → stay while direct answered (a non-probe record from a direct address)
                                       within DirectHold; follow once direct has been silent that long

    Direct → relayed still also happens on the timer (VpnInterface.TickPath: no endpoint, a failed UDP handshake,
    nothing back for KeepaliveTimeout + 2·RekeyTimeout). Relayed → direct happens only by an ack.
*/
internal static class PathPolicy
{
    internal static PathVerdict OnRecord(UdpAddress? current, bool fromRelay, PathRecord kind, long directHeard, long now, TimeSpan hold, TimeProvider time)
    {
        bool relayed = current is not null && RelayTransport.IsRelay(current);
        if (!fromRelay)
        {
            if (kind == PathRecord.Probe)
            {
                return relayed ? PathVerdict.Probe : PathVerdict.Stay;
            }
            if (!relayed || kind == PathRecord.ProbeAck)
            {
                return PathVerdict.Follow;
            }
            return PathVerdict.Probe;
        }
        if (current is null || relayed)
        {
            return PathVerdict.Follow;
        }
        return directHeard != 0 && time.GetElapsedTime(directHeard, now) < hold ? PathVerdict.Stay : PathVerdict.Follow;
    }
}
