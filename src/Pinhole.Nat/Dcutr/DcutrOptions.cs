using System.Net;
using System.Net.Sockets;

namespace Pinhole.Nat.Dcutr;

/// <summary>Options for <see cref="DcutrService"/> (DCUtR over TCP).</summary>
public sealed class DcutrOptions
{
    /// <summary>This node's identity and the settings of the direct connection a punch yields (required).</summary>
    public PeerConnectionOptions? ConnectionOptions { get; set; }

    /// <summary>
    /// The node's TCP listen endpoint (required). Punches dial from its port, so the listener must be bound with
    /// <see cref="PeerListenerOptions.ReusePort"/>; peers learn the port from the addresses we send.
    /// </summary>
    public IPEndPoint? LocalEndPoint { get; set; }

    /// <summary>
    /// The addresses we send in CONNECT: where the peer should dial us, as observed by others (identify's observed address,
    /// with the listen port when the NAT keeps ports: <see cref="DcutrService.PredictAddresses"/>). Required.
    /// </summary>
    public Func<IReadOnlyList<Multiaddr>>? Addresses { get; set; }

    /// <summary>
    /// Optional: this node's addresses as others observed them (identify's observed address on the relay connection). Used
    /// only to explain a failure: an observed port that differs from the listen port means the NAT rewrites ports.
    /// </summary>
    public Func<IReadOnlyList<Multiaddr>>? ObservedAddresses { get; set; }

    /// <summary>
    /// Before punching, B dials the peer's public addresses directly, as go-libp2p does: a peer with no NAT in front of
    /// it needs no punch (and a simultaneous open between two such peers can cross on their listeners). The addresses
    /// come from <see cref="PeerAddresses"/>; only public ones are dialed. One <see cref="AttemptTimeout"/>
    /// covers asking for the addresses (an identify round trip) and the dials together. Default true.
    /// </summary>
    public bool DirectDialFirst { get; set; } = true;

    /// <summary>
    /// The peer's own addresses for <see cref="DirectDialFirst"/>. Default: the listen addresses it announces in identify
    /// over the relayed connection.
    /// </summary>
    public Func<PeerConnection, CancellationToken, Task<IReadOnlyList<Multiaddr>>>? PeerAddresses { get; set; }

    /// <summary>Which addresses count as public for <see cref="DirectDialFirst"/> (tests on loopback widen it).</summary>
    internal Func<IPAddress, bool> IsPublicAddress { get; set; } = Dcutr.DirectDialFirst.IsPublic;

    /// <summary>Attempts the inbound side (B) makes before giving up. Default 3 (the spec: retry twice).</summary>
    public int Attempts { get; set; } = 3;

    /// <summary>How long one punch may take to connect and complete the handshake. Default 5 s (js-libp2p's figure).</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long the whole exchange on one DCUtR stream may take. Default 60 s (go-libp2p's stream deadline).</summary>
    public TimeSpan StreamTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Makes the punching sockets (default: a plain TCP socket). Tests make them inside a network namespace.</summary>
    public Func<AddressFamily, Socket>? SocketFactory { get; set; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        if (ConnectionOptions is null)
        {
            throw new ArgumentException($"{nameof(ConnectionOptions)} is required.", nameof(ConnectionOptions));
        }
        ConnectionOptions.Validate();
        if (LocalEndPoint is null || LocalEndPoint.Port == 0)
        {
            throw new ArgumentException($"{nameof(LocalEndPoint)} must be the listener's bound endpoint (with its real port).", nameof(LocalEndPoint));
        }
        if (Addresses is null)
        {
            throw new ArgumentException($"{nameof(Addresses)} is required: the peer needs to know where to dial.", nameof(Addresses));
        }
        if (Attempts is < 1 or > 10)
        {
            throw new ArgumentOutOfRangeException(nameof(Attempts), Attempts, "Must be from 1 to 10.");
        }
        if (AttemptTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(AttemptTimeout), AttemptTimeout, "Must be positive.");
        }
        if (StreamTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(StreamTimeout), StreamTimeout, "Must be positive.");
        }
    }
}
