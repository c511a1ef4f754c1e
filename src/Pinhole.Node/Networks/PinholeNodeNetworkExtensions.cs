using System.Runtime.CompilerServices;
using Pinhole.Membership;

namespace Pinhole.Node;

/// <summary>Private networks (docs/coordinator.md) on a <see cref="PinholeNode"/>.</summary>
public static class PinholeNodeNetworkExtensions
{
    // One NodeNetworks per builder: AddNetwork and AddNetworks may be called in any order and any number of times.
    private static readonly ConditionalWeakTable<PinholeNodeBuilder, NodeNetworks> Hosts = [];

    /// <summary>
    /// Lets the node join and leave private networks while it runs (<see cref="NodeNetworks"/>) and serves
    /// <c>/v1/networks</c> on its local API. Idempotent; <see cref="AddNetwork"/> implies it.
    /// </summary>
    public static PinholeNodeBuilder AddNetworks(this PinholeNodeBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (!Hosts.TryGetValue(builder, out _))
        {
            var networks = new NodeNetworks();
            builder.AddService(networks);
            builder.MapApi(routes => Api.NetworkApiRoutes.Map(routes, networks));
            Hosts.Add(builder, networks);
        }
        return builder;
    }

    /// <summary>Makes the node a member of a private network: it joins with the invite (or starts from its cache), follows the members and connects to them.</summary>
    public static PinholeNodeBuilder AddNetwork(this PinholeNodeBuilder builder, NetworkMembershipOptions options)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        builder.AddNetworks();
        Hosts.TryGetValue(builder, out var networks);
        networks!.Configure(options);
        return builder;
    }

    /// <summary>The node's private networks (null if it was built without <see cref="AddNetworks"/>).</summary>
    public static NodeNetworks? GetNetworkHost(this PinholeNode node)
    {
        ArgumentNullException.ThrowIfNull(node);
        return node.GetService<NodeNetworks>();
    }

    /// <summary>The node's membership of <paramref name="network"/>, or null.</summary>
    public static NetworkMembershipService? GetNetwork(this PinholeNode node, NetworkId network)
    {
        ArgumentNullException.ThrowIfNull(network);
        return node.GetNetworkHost()?.Get(network);
    }

    /// <summary>Every private network the node follows now.</summary>
    public static IReadOnlyList<NetworkMembershipService> GetNetworks(this PinholeNode node) => node.GetNetworkHost()?.List() ?? [];

    /// <summary>
    /// Joins a network with an invite while the node runs (<see cref="NodeNetworks.JoinAsync"/>). The call takes
    /// ownership of the invite: it is disposed on every path, refused or joined.
    /// </summary>
    /// <exception cref="InvalidOperationException">The node was built without <see cref="AddNetworks"/>, or is not running.</exception>
    public static Task<NetworkMembershipService> JoinNetworkAsync(this PinholeNode node, InviteCode invite, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(invite);
        if (node.GetNetworkHost() is not { } host)
        {
            invite.Dispose();
            throw new InvalidOperationException("The node was built without AddNetworks(): it cannot join networks.");
        }
        return host.JoinAsync(new NetworkMembershipOptions { Invite = invite }, cancellationToken);
    }

    /// <summary>Leaves a network (<see cref="NodeNetworks.LeaveAsync"/>); false if the node did not follow it.</summary>
    public static Task<bool> LeaveNetworkAsync(this PinholeNode node, NetworkId network, CancellationToken cancellationToken = default) =>
        node.GetNetworkHost()?.LeaveAsync(network, cancellationToken) ?? Task.FromResult(false);

    /// <summary>The networks cached under <paramref name="directory"/> (what <c>pinhole join</c> left there), by file name.</summary>
    public static IReadOnlyList<NetworkId> FindCachedNetworks(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (!Directory.Exists(directory))
        {
            return [];
        }
        var found = new List<NetworkId>();
        foreach (var file in Directory.EnumerateFiles(directory, "*.cache"))
        {
            if (NetworkId.TryParse(Path.GetFileNameWithoutExtension(file), out var id))
            {
                found.Add(id);
            }
        }
        return found;
    }
}
