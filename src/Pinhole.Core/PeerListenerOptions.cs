namespace Pinhole;

/// <summary>Options for <see cref="PeerListener.ListenAsync"/>.</summary>
public sealed class PeerListenerOptions : PeerConnectionOptions
{
    /// <summary>Where to listen, e.g. <c>/ip4/0.0.0.0/tcp/0</c> (port 0 picks a free port). Default: all IPv4 interfaces, a free port.</summary>
    public IList<Multiaddr> ListenAddresses { get; init; } = [];

    /// <summary>
    /// Live inbound connections this listener keeps at once (a real cap, not a backlog). Over it, a new
    /// dialer is refused during protocol negotiation with a reason it can show. Default 256.
    /// </summary>
    public int MaxConnections { get; set; } = 256;

    /// <summary>Connections that have finished their handshake but wait for <see cref="PeerListener.AcceptAsync"/>. Default 64.</summary>
    public int AcceptQueueLength { get; set; } = 64;

    /// <summary>Handshakes running at once; more wait in the kernel backlog. Default 64.</summary>
    public int MaxConcurrentHandshakes { get; set; } = 64;

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
        foreach (var address in ListenAddresses)
        {
            if (!address.TryGetIPEndPoint(out _, out var transport) || transport != "tcp")
            {
                throw new ArgumentException($"Cannot listen on '{address}': only /ip4|ip6/<address>/tcp/<port> is supported.", nameof(ListenAddresses));
            }
        }
    }
}
