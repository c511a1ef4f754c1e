using Pinhole.Membership;
using Pinhole.Node;

namespace Pinhole.Vpn.Hosting;

// Coordinator mode (Node:Vpn:Network): resolved against the networks the home has joined before the node starts, so a
// typo or a network never joined stops the daemon with the list of those it has, not a half-started node.
public sealed partial class VpnSettings
{
    /// <summary>Where a home keeps the verified caches of the networks it joined (as <c>pinhole join</c> and the daemon do).</summary>
    public static string NetworksDirectory(string home) => Path.Combine(home, "networks");

    private async Task<VpnNodeServiceOptions> LoadNetworkAsync(NodeIdentity identity, string home, CancellationToken cancellationToken)
    {
        var joined = await JoinedAsync(NetworksDirectory(home), identity.PeerId, cancellationToken).ConfigureAwait(false);
        var matches = joined.Where(n => n.Id.ToString() == Network || n.Name == Network).ToList();
        if (matches.Count == 0)
        {
            string list = joined.Count == 0
                ? "it has joined none (pinhole join INVITE)"
                : "joined: " + string.Join(", ", joined.Select(n => $"{n.Name} ({n.Id})"));
            throw new FormatException($"{SectionName}:Network: '{Network}' is not a network this node has joined; {list}.");
        }
        if (matches.Count > 1)
        {
            throw new FormatException($"{SectionName}:Network: the name '{Network}' is shared by {string.Join(", ", matches.Select(n => n.Id))}; name it by id.");
        }
        var (id, name, member) = matches[0];
        if (member is null)
        {
            throw new MembershipException(MembershipError.Revoked, $"This node ({identity.PeerId}) is no longer a member of {name} ({id}): revoked or expired, by its own check of the cached records.");
        }
        if (member.Ipv4 is null && member.Ipv6 is null)
        {
            throw new MembershipException(MembershipError.Forbidden, $"This node has no virtual address in {name} ({id}): its membership names none.");
        }
        var options = new VpnInterfaceOptions
        {
            Identity = identity,
            InterfaceName = InterfaceName,
            ListenPort = Port,
            Mtu = Mtu,
        };
        try
        {
            options.Validate();
        }
        catch (ArgumentException e)
        {
            throw new FormatException($"{SectionName}: {e.Message}", e);
        }
        return new VpnNodeServiceOptions
        {
            Interface = options,
            Network = id,
            PersistentKeepalive = Keepalive,
            ControlSocketPath = ControlPath(home, InterfaceName),
        };
    }

    // Every network cached in the directory, with its name and this node's membership by the node's own check (a cache
    // that fails verification is listed by id with its error as the name: it is not one the daemon can follow).
    private static async Task<List<(NetworkId Id, string Name, NetworkMember? Self)>> JoinedAsync(string directory, PeerId self, CancellationToken cancellationToken)
    {
        var now = DateTimeOffset.UtcNow;
        var found = new List<(NetworkId, string, NetworkMember?)>();
        foreach (NetworkId id in PinholeNodeNetworkExtensions.FindCachedNetworks(directory).OrderBy(n => n.ToString(), StringComparer.Ordinal))
        {
            try
            {
                var (state, _, _) = await NetworkCache.LoadAsync(MembershipClient.CachePath(directory, id), now, cancellationToken: cancellationToken).ConfigureAwait(false);
                NetworkView view = state.GetView(now);
                found.Add((id, view.Name, view.Members.GetValueOrDefault(self)));
            }
            catch (Exception e) when (e is FormatException or IOException or MembershipException)
            {
                found.Add((id, "unreadable cache: " + e.Message, null));
            }
        }
        return found;
    }
}
