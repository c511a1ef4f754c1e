using Pinhole.Vpn.Offload;
using Pinhole.Vpn.Routing;

namespace Pinhole.Vpn.DataPlane;

/// <summary>
/// One peer of the VPN: its PeerId and prefixes, where it is, its keypairs, timers and counters. Keypairs
/// rotate under <see cref="Lock"/>; the data threads read <see cref="Current"/> and <see cref="Endpoint"/>
/// without a lock (volatile), and counters are atomic.
/// </summary>
internal sealed class Peer
{
    internal const int MaxStaged = 128;

    private readonly Queue<byte[]> _staged = new();
    private volatile int _stagedCount;
    private volatile Keypair? _current;
    private volatile Keypair? _previous;
    private volatile Keypair? _next;
    private volatile UdpAddress? _endpoint;
    private volatile UdpAddress? _direct;
    private volatile UdpAddress? _relay;

    internal Peer(PeerId id, string? name, IReadOnlyList<IpPrefix> prefixes, UdpAddress? endpoint, TimeSpan persistentKeepalive)
    {
        Id = id;
        Name = name;
        Prefixes = prefixes;
        _endpoint = endpoint;
        ConfiguredEndpoint = endpoint;
        PersistentKeepalive = persistentKeepalive;
    }

    internal PeerId Id { get; }

    internal string? Name { get; }

    internal IReadOnlyList<IpPrefix> Prefixes { get; }

    /// <summary>The endpoint last configured or announced (a member's field 7); <see cref="Endpoint"/> may have roamed since.</summary>
    internal UdpAddress? ConfiguredEndpoint { get; set; }

    /// <summary>True when <see cref="ConfiguredEndpoint"/> was announced while <see cref="Endpoint"/> was proven, and not taken yet.</summary>
    internal volatile bool AnnouncementDeferred;

    internal TimeSpan PersistentKeepalive { get; }

    internal Lock Lock { get; } = new();

    /// <summary>Where records go now: configured, learned from a handshake, or moved by roaming.</summary>
    internal UdpAddress? Endpoint
    {
        get => _endpoint;
        set
        {
            UdpAddress? old = _endpoint;
            _endpoint = value;
            if (value is not null && !RelayTransport.IsRelay(value))
            {
                _direct = value;
            }
            if (old is not null && value is not null && RelayTransport.IsRelay(old) != RelayTransport.IsRelay(value))
            {
                Interlocked.Increment(ref PathChanges);
            }
        }
    }

    /// <summary>The last direct (UDP) endpoint: probed while the peer is relayed.</summary>
    internal UdpAddress? DirectEndpoint => _direct ?? ConfiguredEndpoint;

    /// <summary>This peer's relay path (a <see cref="RelayTransport"/> address), or null.</summary>
    internal UdpAddress? Relay => _relay;

    /// <summary>True for a relay address that is not this peer's relay any more (a stream replaced or closed since).</summary>
    internal bool IsFormerRelay(UdpAddress address) => RelayTransport.IsRelay(address) && !address.Equals(_relay);

    /// <summary>Makes <paramref name="relay"/> this peer's relay path; returns the one it replaces.</summary>
    internal UdpAddress? ExchangeRelay(UdpAddress relay) => Interlocked.Exchange(ref _relay, relay);

    /// <summary>Clears the relay path if it is still <paramref name="relay"/> (a new one may have replaced it since).</summary>
    internal bool TryClearRelay(UdpAddress relay) => ReferenceEquals(Interlocked.CompareExchange(ref _relay, null, relay), relay);

    /// <summary>True while records go over the relay.</summary>
    internal bool IsRelayed => _endpoint is { } e && RelayTransport.IsRelay(e);

    // Path state (timer thread): direct handshakes failed since the last direct success; last direct probe.
    internal int DirectFailures;
    internal long LastDirectProbe;
    internal long DirectHeard;       // receive thread: the last authentic non-probe record from a direct address
    private volatile UdpAddress? _probeTarget;

    /// <summary>Receive thread → timer: a direct address the peer sent from while we are relayed, to probe at the next tick.</summary>
    internal UdpAddress? ProbeTarget
    {
        get => _probeTarget;
        set => _probeTarget = value;
    }

    /// <summary>Takes <see cref="ProbeTarget"/>.</summary>
    internal UdpAddress? TakeProbeTarget() => Interlocked.Exchange(ref _probeTarget, null);
    internal long PathChanges;

    /// <summary>The keypair records are sent with.</summary>
    internal Keypair? Current
    {
        get => _current;
        set => _current = value;
    }

    /// <summary>The keypair before <see cref="Current"/>, still accepted on receive.</summary>
    internal Keypair? Previous
    {
        get => _previous;
        set => _previous = value;
    }

    /// <summary>A responder's keypair not yet confirmed by a record from the initiator.</summary>
    internal Keypair? Next
    {
        get => _next;
        set => _next = value;
    }

    // Handshake state (control plane).
    internal int HandshakeInFlight;
    internal long LastHandshakeAttempt;
    internal long LastHandshake;
    internal int Handshakes;
    internal string? LastHandshakeError;

    // Timestamps (TimeProvider ticks; 0 = never).
    internal long LastSent;
    internal long LastReceived;
    internal long LastDataSent;
    internal long LastDataReceived;
    internal long FirstUnansweredSend;
    internal long PassiveKeepaliveDue; // when data arrived with nothing sent since (0: nothing to answer)

    // Counters.
    internal long RxBytes;
    internal long TxBytes;
    internal long RxPackets;
    internal long TxPackets;
    internal long DroppedNoKey;
    internal long DroppedSource;
    internal long DroppedSend;

    // RTT by ping/pong.
    internal long RttTicks = -1;
    internal uint PingId;
    internal long PingSentAt;
    internal int PingSize;
    internal long LastPing;

    // Path MTU (bytes of outer IP datagram that pass), probed in band.
    internal int PathMtu;
    internal int ProbeMtu;
    internal long LastProbe;
    internal int ProbeFailures;

    // Used only by the TUN thread: this batch's sealed records for the peer.
    internal List<PacketRef> Outgoing { get; } = new(128);

    // Used only by the receive thread: the source of the batch's last authentic record.
    internal UdpAddress? BatchSource;
    internal bool InBatch;

    /// <summary>Queues a copy of a packet until a keypair exists (oldest dropped beyond <see cref="MaxStaged"/>).</summary>
    internal void Stage(ReadOnlySpan<byte> packet)
    {
        lock (Lock)
        {
            if (_staged.Count >= MaxStaged)
            {
                _staged.Dequeue();
                Interlocked.Increment(ref DroppedNoKey);
            }
            _staged.Enqueue(packet.ToArray());
            _stagedCount = _staged.Count;
        }
    }

    /// <summary>Takes the oldest queued packet.</summary>
    internal byte[]? TakeStaged()
    {
        lock (Lock)
        {
            if (!_staged.TryDequeue(out byte[]? packet))
            {
                return null;
            }
            _stagedCount = _staged.Count;
            return packet;
        }
    }

    /// <summary>True while packets wait for a keypair: later packets queue behind them, so order is kept.</summary>
    internal bool HasStaged => _stagedCount > 0;

    /// <summary>Held by whoever sends the queue, so two threads never interleave it.</summary>
    internal Lock FlushLock { get; } = new();

    /// <inheritdoc />
    public override string ToString() => Name is null ? Id.ToString() : $"{Name} ({Id})";
}
