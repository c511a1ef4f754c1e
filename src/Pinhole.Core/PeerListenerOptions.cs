namespace Pinhole;

/// <summary>Options for <see cref="PeerListener.ListenAsync"/>.</summary>
public sealed class PeerListenerOptions : PeerConnectionOptions
{
    /// <summary>Where to listen, e.g. <c>/ip4/0.0.0.0/tcp/0</c> (port 0 picks a free port). Default: all IPv4 interfaces, a free port.</summary>
    public IList<Multiaddr> ListenAddresses { get; init; } = [];

    /// <summary>
    /// What identify tells each accepted peer as this node's listen addresses (a node adds its port mapping's public
    /// address and relay circuits). Null: the listener's own <see cref="PeerListener.GetDialableAddresses"/>.
    /// </summary>
    public Func<IReadOnlyList<Multiaddr>>? AdvertisedAddresses { get; set; }

    /// <summary>
    /// Authenticated inbound connections this listener keeps at once (queued for <see cref="PeerListener.AcceptAsync"/>
    /// or accepted and not yet closed); a real cap, not a backlog. At it, a new dialer is refused at once during
    /// protocol negotiation with a reason it can show. Handshakes in progress count against
    /// <see cref="MaxConcurrentHandshakes"/> instead. Default 256.
    /// </summary>
    public int MaxConnections { get; set; } = 256;

    /// <summary>
    /// Authenticated connections one remote identity may hold at once. Identities are free to make, so this alone
    /// does not stop a determined attacker (<see cref="MaxConnectionsPerAddress"/> does), but one buggy or greedy
    /// peer cannot take every slot. Over it the dialer is refused right after TLS (a yamux GoAway). Default 8.
    /// </summary>
    public int MaxConnectionsPerPeer { get; set; } = 8;

    /// <summary>
    /// Authenticated connections from one source address (IPv4 address, IPv6 /64) at once. Generous by default
    /// because many peers may share one address behind a NAT. Default 64.
    /// </summary>
    public int MaxConnectionsPerAddress { get; set; } = 64;

    /// <summary>
    /// The kernel's queue of connections not yet accepted (capped by <c>net.core.somaxconn</c>). Deep, so that a burst
    /// of strangers does not make the kernel drop a real dialer's SYN (which costs it a 1 s retransmission): the accept
    /// loop drains it fast and turns strangers away cheaply. Default 4096.
    /// </summary>
    public int ListenBacklog { get; set; } = 4096;

    /// <summary>Connections that have finished their handshake but wait for <see cref="PeerListener.AcceptAsync"/>. Default 64.</summary>
    public int AcceptQueueLength { get; set; } = 64;

    /// <summary>
    /// The handshake budget: unauthenticated connections handled at once. Accepting never waits for it: when it is
    /// full, a newcomer evicts the least advanced, oldest handshake of the source address holding the most slots,
    /// unless its own address holds as many, in which case the newcomer is refused. Default 128.
    /// </summary>
    public int MaxConcurrentHandshakes { get; set; } = 128;

    /// <summary>Handshakes one source address (IPv4 address, IPv6 /64) may run at once; more are refused at once. Default 8.</summary>
    public int MaxHandshakesPerAddress { get; set; } = 8;

    /// <summary>
    /// New handshakes one source address may start per second, sustained; over it (and over 16 times it for its
    /// network group, IPv4 /16 or IPv6 /32) a dialer is refused at once, before any handshake work. Default 10.
    /// </summary>
    public double HandshakesPerSecondPerAddress { get; set; } = 10;

    /// <summary>New handshakes one source address may start in a burst (16 times it for its network group). Default 20.</summary>
    public int HandshakeBurstPerAddress { get; set; } = 20;

    /// <summary>
    /// A dialer must send its first byte within this after TCP connects (every libp2p dialer speaks first, at
    /// once). Silent sockets are closed after it, long before <see cref="PeerConnectionOptions.HandshakeTimeout"/>.
    /// Default 3 s (one lost segment's retransmission fits).
    /// </summary>
    public TimeSpan FirstByteTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// Lets other sockets of this process bind the listen port (SO_REUSEPORT; on Linux .NET's ReuseAddress sets it), so
    /// TCP hole punching (DCUtR) can dial from the port peers have seen. Never open a second listener on the port:
    /// Linux would share the accepted connections between them. Default false.
    /// </summary>
    public bool ReusePort { get; set; }

    /// <inheritdoc/>
    public override void Validate()
    {
        base.Validate();
        if (MaxConnections < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxConnections), MaxConnections, "Must be at least 1.");
        }
        if (AcceptQueueLength < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(AcceptQueueLength), AcceptQueueLength, "Must be at least 1.");
        }
        if (MaxConcurrentHandshakes < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxConcurrentHandshakes), MaxConcurrentHandshakes, "Must be at least 1.");
        }
        if (ListenBacklog < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(ListenBacklog), ListenBacklog, "Must be at least 1.");
        }
        if (MaxConnectionsPerPeer < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxConnectionsPerPeer), MaxConnectionsPerPeer, "Must be at least 1.");
        }
        if (MaxConnectionsPerAddress < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxConnectionsPerAddress), MaxConnectionsPerAddress, "Must be at least 1.");
        }
        if (MaxHandshakesPerAddress < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxHandshakesPerAddress), MaxHandshakesPerAddress, "Must be at least 1.");
        }
        Positive(FirstByteTimeout, nameof(FirstByteTimeout));
        if (!(HandshakesPerSecondPerAddress > 0) || double.IsInfinity(HandshakesPerSecondPerAddress))
        {
            throw new ArgumentOutOfRangeException(nameof(HandshakesPerSecondPerAddress), HandshakesPerSecondPerAddress, "Must be a positive, finite rate.");
        }
        if (HandshakeBurstPerAddress < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(HandshakeBurstPerAddress), HandshakeBurstPerAddress, "Must be at least 1.");
        }
        foreach (var address in ListenAddresses)
        {
            if (!address.TryGetIPEndPoint(out _, out var transport) || transport != "tcp")
            {
                throw new ArgumentException($"Cannot listen on '{address}': only /ip4|ip6/<address>/tcp/<port> is supported.", nameof(ListenAddresses));
            }
        }
    }
}
