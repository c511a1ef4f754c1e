using Pinhole.Nat;

namespace Pinhole.Node;

/// <summary>Settings of the node's UDP hole punching (<see cref="NodeUdpPunchExtensions.UseUdpHolePunching"/>).</summary>
public sealed class NodeUdpPunchOptions
{
    /// <summary>How long one punch may take, from the offer to the path (both sides). Default 10 s.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long a netcheck result (the NAT's mapping and filtering, sent in every offer) is reused before the next punch
    /// runs netcheck again. Default 10 minutes.
    /// </summary>
    public TimeSpan NetcheckMaxAge { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Extra sockets a node behind a NAT that maps per destination opens for birthday probing. Default 256; 0 turns it off.</summary>
    public int BirthdaySockets { get; set; } = 256;

    /// <summary>Paths held at once (both roles). A peer punching again replaces its old path. Default 64.</summary>
    public int MaxPaths { get; set; } = 64;

    /// <summary>
    /// The TURN server (RFC 8656, long-term credentials) both nodes fall back to when no direct pair answers — two NATs
    /// that map per destination, or a filter no probe gets through. Each side allocates on its node socket; DTLS runs
    /// inside, so the server sees ciphertext only. Null (the default): no TURN, such pairs stay on the relayed stream.
    /// </summary>
    public TurnClientOptions? Turn { get; set; }

    /// <summary>Adjusts each punch's options (timers, keepalive) after the node set them.</summary>
    public Action<UdpPunchOptions>? ConfigurePunch { get; set; }

    internal void Validate()
    {
        if (Timeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(Timeout), Timeout, "Must be positive.");
        }
        if (NetcheckMaxAge < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(NetcheckMaxAge), NetcheckMaxAge, "Must not be negative.");
        }
        ArgumentOutOfRangeException.ThrowIfNegative(BirthdaySockets);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(BirthdaySockets, 1024);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxPaths, 1);
        if (Turn is { Server: null })
        {
            throw new ArgumentException("Turn.Server is required (an IP endpoint).", nameof(Turn));
        }
    }
}

/// <summary>Plugs UDP hole punching into a node.</summary>
public static class NodeUdpPunchExtensions
{
    /// <summary>
    /// Adds <see cref="NodeUdpPunchService"/>: <see cref="PinholeNode.ConnectDatagramsAsync"/> then reaches a peer behind a
    /// NAT by swapping candidates over the node's connection to it (relayed connections included) and punching from the
    /// node's UDP port, birthday probing where one NAT maps per destination. The node needs STUN servers
    /// (<see cref="PinholeNodeOptions.StunServers"/>): they give the server-reflexive candidate and, with two addresses
    /// (RFC 5780), the NAT behaviour.
    /// </summary>
    public static PinholeNodeBuilder UseUdpHolePunching(this PinholeNodeBuilder builder, NodeUdpPunchOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        options ??= new NodeUdpPunchOptions();
        options.Validate();
        var service = new NodeUdpPunchService(options);
        // Signalling must work on the relayed connection: that is the only one two peers behind NATs have.
        builder.Handle(NodeUdpPunchService.ProtocolId, service.HandleAsync).AllowOnLimitedConnections(NodeUdpPunchService.ProtocolId);
        return builder.AddService(service);
    }
}
