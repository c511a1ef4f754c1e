using Pinhole.Membership;

namespace Pinhole.Node;

/// <summary>Settings of a <see cref="NetworkMembershipService"/>: which private network, and how the node follows it.</summary>
public sealed class NetworkMembershipOptions
{
    /// <summary>The network. Required unless <see cref="Invite"/> is set (its network is used).</summary>
    public NetworkId? Network { get; set; }

    /// <summary>An invite to redeem when there is no cache for the network yet (the service takes ownership and disposes it).</summary>
    public InviteCode? Invite { get; set; }

    /// <summary>Coordinator addresses (each ending in <c>/p2p/&lt;PeerId&gt;</c>), tried in turn; an invite brings its own.</summary>
    public IList<Multiaddr> Coordinators { get; init; } = [];

    /// <summary>Where the verified records are cached. Default <c>HOME/networks</c>, or none for a node without a home.</summary>
    public string? CacheDirectory { get; set; }

    /// <summary>Keep a connection to every member that announces an endpoint. Default true.</summary>
    public bool ConnectToMembers { get; set; } = true;

    /// <summary>Publish the node's dialable addresses as its endpoint record on start. Default true.</summary>
    public bool PublishEndpoint { get; set; } = true;

    /// <summary>The NAT type announced with the endpoint. Default unknown.</summary>
    public EndpointNatType NatType { get; set; } = EndpointNatType.Unknown;

    /// <summary>How long one coordinator operation (connect, redeem, first sync) may take. Default 30 s.</summary>
    public TimeSpan OperationTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad setting.</summary>
    public void Validate()
    {
        if (Network is null && Invite is null)
        {
            throw new ArgumentException("NetworkMembershipOptions needs a Network or an Invite.");
        }
        if (Network is not null && Invite is not null && !Invite.Invite.Network.Equals(Network))
        {
            throw new ArgumentException($"The invite is for {Invite.Invite.Network}, not {Network}.");
        }
        if (OperationTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException("NetworkMembershipOptions.OperationTimeout must be positive.");
        }
    }
}
