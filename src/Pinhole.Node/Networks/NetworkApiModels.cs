using System.Globalization;
using Pinhole.Membership;

namespace Pinhole.Node.Api;

/// <summary><c>POST /v1/networks</c>: join a private network with an invite.</summary>
/// <param name="Invite">The invite text (<c>pinhole-invite:…</c>); it holds a private key, so it is never logged.</param>
/// <param name="TimeoutSeconds">How long each coordinator step (connect, redeem, first sync) may take; default 30.</param>
public sealed record JoinNetworkRequest(string Invite, double? TimeoutSeconds = null);

/// <summary>A private network the node follows, by the node's own check of every record.</summary>
/// <param name="Network">The network id (<c>pn…</c>).</param>
/// <param name="Name">The name in its genesis.</param>
/// <param name="Status"><c>connecting</c>, <c>synced</c> (subscribed and caught up), <c>offline</c> (coordinators unreachable: cache and gossip keep the view), <c>notmember</c> (this node is revoked or expired), <c>stopped</c>.</param>
/// <param name="Member">Whether this node is a valid member now (false once revoked or expired).</param>
/// <param name="PeerId">This node.</param>
/// <param name="Ipv4">This node's virtual IPv4 address in the network, if any.</param>
/// <param name="Ipv6">This node's virtual IPv6 address, if any.</param>
/// <param name="Groups">This node's groups.</param>
/// <param name="Until">When this node's membership expires.</param>
/// <param name="MemberCount">Valid members now.</param>
/// <param name="RevokedCount">Revoked peers.</param>
/// <param name="Cursor">The last coordinator sequence applied.</param>
/// <param name="Dropped">Connections dropped because their peer stopped being a member, since the network was followed.</param>
/// <param name="Coordinators">The coordinators tried in turn.</param>
/// <param name="Members">Every member (only in <c>GET /v1/networks/{id}</c> and the join's answer; null in the list).</param>
public sealed record NetworkResponse(
    string Network,
    string Name,
    string Status,
    bool Member,
    string PeerId,
    string? Ipv4,
    string? Ipv6,
    IReadOnlyList<string> Groups,
    DateTimeOffset? Until,
    int MemberCount,
    int RevokedCount,
    ulong Cursor,
    long Dropped,
    IReadOnlyList<string> Coordinators,
    IReadOnlyList<NetworkMemberResponse>? Members)
{
    internal static NetworkResponse From(NetworkMembershipService service, PinholeNode node, bool withMembers)
    {
        var client = service.Client ?? throw new InvalidOperationException($"The network {service.Network} is not started.");
        var view = client.View;
        var self = view.Members.GetValueOrDefault(client.LocalPeer);
        return new NetworkResponse(
            service.Network.ToString(),
            view.Name,
            client.Status.ToString().ToLowerInvariant(),
            self is not null,
            client.LocalPeer.ToString(),
            self?.Ipv4?.ToString(),
            self?.Ipv6?.ToString(),
            self?.Groups ?? [],
            self?.NotAfter,
            view.Members.Count,
            view.Revoked.Count,
            client.Cursor,
            service.Dropped,
            [.. client.Coordinators.Select(c => c.ToString())],
            withMembers
                ? [.. view.Members.Values
                    .OrderBy(m => m.Ipv4?.ToString() ?? m.Peer.ToString(), StringComparer.Ordinal)
                    .Select(m => NetworkMemberResponse.From(m, node.Connections.Get(m.Peer) is not null))]
                : null);
    }
}

/// <summary>One member of a network, as its verified records say.</summary>
/// <param name="PeerId">The member.</param>
/// <param name="Ipv4">Its virtual IPv4 address.</param>
/// <param name="Ipv6">Its virtual IPv6 address.</param>
/// <param name="Groups">Its groups.</param>
/// <param name="Until">When its membership expires.</param>
/// <param name="Provisional">True when its credential is its redeemed invite rather than a membership record.</param>
/// <param name="Addresses">The addresses of its signed endpoint record (empty when it announced none).</param>
/// <param name="Connected">Whether this node has a connection with it now.</param>
public sealed record NetworkMemberResponse(
    string PeerId,
    string? Ipv4,
    string? Ipv6,
    IReadOnlyList<string> Groups,
    DateTimeOffset Until,
    bool Provisional,
    IReadOnlyList<string> Addresses,
    bool Connected)
{
    internal static NetworkMemberResponse From(NetworkMember m, bool connected) => new(
        m.Peer.ToString(),
        m.Ipv4?.ToString(),
        m.Ipv6?.ToString(),
        m.Groups,
        m.NotAfter,
        m.Provisional,
        [.. m.Addresses.Select(a => a.ToString())],
        connected);

    /// <inheritdoc/>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{PeerId} {Ipv4} {Ipv6} until {Until:u}");
}
