using System.Net;
using Pinhole.Membership;

namespace Pinhole.Coordinator.Tests;

/// <summary>A network with one admin (or more) for tests: signs records the way the admin CLI does.</summary>
internal sealed class TestNetwork : IDisposable
{
    public static readonly DateTimeOffset T0 = new(2030, 1, 1, 12, 0, 0, TimeSpan.Zero);
    private int _nextHost = 1;

    public TestNetwork(int admins = 1, int threshold = 1, int issuers = 0, Libp2pKeyType keyType = Libp2pKeyType.Ed25519)
    {
        AdminKeys = [.. Enumerable.Range(0, admins).Select(_ => NodeIdentity.Generate(keyType))];
        IssuerKeys = [.. Enumerable.Range(0, issuers).Select(_ => NodeIdentity.Generate(keyType))];
        Genesis = GenesisRecord.Create("test-net",
            new AdminSet(AdminKeys.Select(k => k.PublicKey), threshold, IssuerKeys.Select(k => k.PublicKey)),
            IPNetwork.Parse("10.77.0.0/16"), IPNetwork.Parse("fd77::/48"), T0, AdminKeys[..threshold]);
    }

    public List<NodeIdentity> AdminKeys { get; }
    public List<NodeIdentity> IssuerKeys { get; }
    public NodeIdentity Admin => AdminKeys[0];
    public GenesisRecord Genesis { get; }
    public NetworkId Id => Genesis.Network;

    public NetworkState NewState(TimeSpan? skew = null) => new(Genesis, skew);

    public (IPAddress V4, IPAddress V6) NextAddresses()
    {
        var host = _nextHost++;
        return (new IPAddress([10, 77, (byte)(host >> 8), (byte)host]), IPAddress.Parse($"fd77::{host:x}"));
    }

    public MembershipRecord Member(PeerId peer, NodeIdentity? issuer = null, DateTimeOffset? notBefore = null, TimeSpan? lifetime = null,
        DateTimeOffset? issuedAt = null, IPAddress? v4 = null, IPAddress? v6 = null, string[]? groups = null, NetworkId? network = null)
    {
        var (a4, a6) = v4 is null && v6 is null ? NextAddresses() : (v4!, v6!);
        var nbf = notBefore ?? T0;
        return MembershipRecord.Issue(issuer ?? Admin, network ?? Id, peer, a4, a6, groups ?? ["all"], nbf, nbf + (lifetime ?? TimeSpan.FromDays(30)), issuedAt ?? nbf);
    }

    public RevocationRecord Revoke(PeerId peer, DateTimeOffset? threshold = null, NodeIdentity? issuer = null) =>
        RevocationRecord.Issue(issuer ?? Admin, Id, peer, threshold ?? T0 + TimeSpan.FromHours(1), threshold ?? T0 + TimeSpan.FromHours(1), "test");

    public (Invite Invite, NodeIdentity Key) Invite(NodeIdentity? issuer = null, DateTimeOffset? issuedAt = null, TimeSpan? redeemWindow = null, TimeSpan? lifetime = null, PeerId? coordinator = null)
    {
        var key = InviteCode.GenerateKey();
        var (v4, v6) = NextAddresses();
        var at = issuedAt ?? T0;
        var coord = coordinator ?? NodeIdentity.Generate(Libp2pKeyType.Ed25519).PeerId;
        var invite = Pinhole.Membership.Invite.Create(issuer ?? Admin, Id, key.PublicKey, [Multiaddr.Parse($"/ip4/127.0.0.1/tcp/4100/p2p/{coord}")],
            v4, v6, ["all"], at, at + (redeemWindow ?? TimeSpan.FromDays(7)), at + (lifetime ?? TimeSpan.FromDays(30)));
        return (invite, key);
    }

    public RedemptionRecord Redeem(Invite invite, NodeIdentity key, PeerId peer, DateTimeOffset? at = null) =>
        RedemptionRecord.Create(invite, key, peer, at ?? invite.IssuedAt + TimeSpan.FromMinutes(1));

    public static EndpointRecord Endpoint(NodeIdentity node, NetworkId network, ulong sequence, string address = "/ip4/127.0.0.1/tcp/4001", SealingKey? seal = null) =>
        EndpointRecord.Create(node, network, [Multiaddr.Parse(address)], sequence, EndpointNatType.EndpointIndependent, seal?.PublicKey ?? default, T0);

    public void Dispose()
    {
        foreach (var key in AdminKeys.Concat(IssuerKeys))
        {
            key.Dispose();
        }
    }
}
