using Pinhole.Membership;

namespace Pinhole.Node;

/// <summary>Private networks (docs/coordinator.md) on a <see cref="PinholeNode"/>.</summary>
public static class PinholeNodeNetworkExtensions
{
    /// <summary>Makes the node a member of a private network: it joins with the invite (or starts from its cache), follows the members and connects to them.</summary>
    public static PinholeNodeBuilder AddNetwork(this PinholeNodeBuilder builder, NetworkMembershipOptions options)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddService(new NetworkMembershipService(options));
    }

    /// <summary>The node's membership of <paramref name="network"/>, or null.</summary>
    public static NetworkMembershipService? GetNetwork(this PinholeNode node, NetworkId network)
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(network);
        return node.Services.OfType<NetworkMembershipService>().FirstOrDefault(s => s.Network.Equals(network));
    }

    /// <summary>Every private network the node follows.</summary>
    public static IReadOnlyList<NetworkMembershipService> GetNetworks(this PinholeNode node)
    {
        ArgumentNullException.ThrowIfNull(node);
        return [.. node.Services.OfType<NetworkMembershipService>()];
    }

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
