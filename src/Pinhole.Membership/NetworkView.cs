using System.Net;

namespace Pinhole.Membership;

/// <summary>
/// What a network looks like to a node at one moment, computed from records it verified itself: the admin set, the
/// valid members with their addresses and endpoints, who is revoked, and any misbehaviour detected (equivocating
/// invites, forked admin chains, address conflicts). Immutable.
/// </summary>
public sealed class NetworkView
{
    private readonly Dictionary<IPAddress, NetworkMember> _byAddress;

    internal NetworkView(NetworkId network, string name, AdminSet admins, ulong epoch, DateTimeOffset at, DateTimeOffset? nextChange,
        Dictionary<PeerId, NetworkMember> members, Dictionary<PeerId, DateTimeOffset> revoked, IReadOnlyList<NetworkAlert> alerts)
    {
        Network = network;
        Name = name;
        Admins = admins;
        Epoch = epoch;
        At = at;
        NextChange = nextChange;
        Members = members;
        Revoked = revoked;
        Alerts = alerts;
        _byAddress = [];
        foreach (var member in members.Values)
        {
            if (member.Ipv4 is { } v4)
            {
                _byAddress[v4] = member;
            }
            if (member.Ipv6 is { } v6)
            {
                _byAddress[v6] = member;
            }
        }
    }

    /// <summary>The network.</summary>
    public NetworkId Network { get; }

    /// <summary>The network's name (from its genesis).</summary>
    public string Name { get; }

    /// <summary>The current admin set.</summary>
    public AdminSet Admins { get; }

    /// <summary>The admin chain's epoch (0 = genesis).</summary>
    public ulong Epoch { get; }

    /// <summary>The time the view was computed for (it holds unchanged until <see cref="NextChange"/>).</summary>
    public DateTimeOffset At { get; }

    /// <summary>The next moment a validity edge (start or end, with tolerance) changes the view, if any.</summary>
    public DateTimeOffset? NextChange { get; }

    /// <summary>The valid members.</summary>
    public IReadOnlyDictionary<PeerId, NetworkMember> Members { get; }

    /// <summary>Revoked PeerIds and their threshold time.</summary>
    public IReadOnlyDictionary<PeerId, DateTimeOffset> Revoked { get; }

    /// <summary>Misbehaviour the node detected.</summary>
    public IReadOnlyList<NetworkAlert> Alerts { get; }

    /// <summary>True if <paramref name="peer"/> is a valid member now.</summary>
    public bool IsMember(PeerId peer) => peer is not null && Members.ContainsKey(peer);

    /// <summary>The member with virtual address <paramref name="address"/>.</summary>
    public NetworkMember? FindByAddress(IPAddress address) => address is not null && _byAddress.TryGetValue(address, out var member) ? member : null;

    /// <inheritdoc/>
    public override string ToString() => $"{Name} ({Network}): {Members.Count} members, {Revoked.Count} revoked, epoch {Epoch}";
}

/// <summary>What kind of misbehaviour a node detected.</summary>
public enum NetworkAlertKind
{
    /// <summary>One invite was redeemed under two PeerIds; both are rejected.</summary>
    InviteEquivocation = 1,
    /// <summary>Two different admin changes for one epoch, both signed by a threshold: the admins' keys are misused.</summary>
    AdminFork,
    /// <summary>Two members claim one virtual address; the later credential is ignored.</summary>
    AddressConflict,
    /// <summary>A member's address lies outside the network's prefixes; it is ignored.</summary>
    AddressOutsidePrefix,
}

/// <summary>One detected misbehaviour.</summary>
/// <param name="Kind">What it is.</param>
/// <param name="Peers">The PeerIds involved (for an equivocation: the invite key first, then the redeemers).</param>
/// <param name="Message">A sentence for logs.</param>
public sealed record NetworkAlert(NetworkAlertKind Kind, IReadOnlyList<PeerId> Peers, string Message);
