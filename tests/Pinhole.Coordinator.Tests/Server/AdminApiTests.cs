using System.Net;
using System.Net.Security;
using Pinhole.Membership;

namespace Pinhole.Coordinator.Tests.Server;

public class AdminApiTests
{
    [Fact]
    public async Task AnAdminCreatesANetworkAllocatesAddressesAndWritesRecordsOverTlsWithItsKey()
    {
        await using var coordinator = await TestCoordinator.StartAsync(adminApi: true);
        using var net = new TestNetwork();
        using var admin = new CoordinatorAdminClient(coordinator.Server.AdminApiAddress!, coordinator.Server.PeerId, net.Admin);
        var health = await admin.HealthAsync();
        Assert.Equal(net.Admin.PeerId.ToString(), health.Caller);
        Assert.Equal(coordinator.Server.PeerId.ToString(), health.PeerId);

        var info = await admin.CreateNetworkAsync(net.Genesis);
        Assert.Equal(net.Id.ToString(), info.Network);
        Assert.Equal("10.77.0.0/16", info.Ipv4Prefix);
        Assert.Equal([net.Admin.PeerId.ToString()], info.Admins);
        Assert.Equal(info.Network, (await admin.CreateNetworkAsync(net.Genesis)).Network);

        var first = await admin.AllocateAsync(net.Id, null);
        var second = await admin.AllocateAsync(net.Id, InviteCode.GenerateKey().PeerId);
        Assert.Equal((1UL, "10.77.0.1", "fd77::1"), (first.Host, first.Ipv4, first.Ipv6));
        Assert.Equal(2UL, second.Host);

        using var node = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var member = net.Member(node.PeerId, notBefore: DateTimeOffset.UtcNow.AddMinutes(-1), v4: IPAddress.Parse(first.Ipv4!), v6: IPAddress.Parse(first.Ipv6!));
        var written = await admin.PublishAsync(net.Id, [member]);
        Assert.Equal("stored", Assert.Single(written.Results).Status);
        Assert.Equal("duplicate", Assert.Single((await admin.PublishAsync(net.Id, [member])).Results).Status);
        var (records, bad) = await admin.GetRecordsAsync(net.Id);
        Assert.Equal(0, bad);
        Assert.Equal(member.Id, Assert.Single(records).Id);
        var members = await admin.GetMembersAsync(net.Id);
        Assert.Equal(node.PeerId.ToString(), Assert.Single(members).PeerId);

        // Records the admin may not write here: a forged membership, an endpoint.
        using var stranger = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var forged = await admin.PublishAsync(net.Id, [net.Member(node.PeerId, issuer: stranger)], throwOnRefusal: false);
        Assert.Equal(nameof(MembershipError.Unauthorized), Assert.Single(forged.Results).Reason);
        await Assert.ThrowsAsync<MembershipException>(() => admin.PublishAsync(net.Id, [TestNetwork.Endpoint(node, net.Id, 1)]));
    }

    [Fact]
    public async Task OnlyTheNetworksAdminsAndIssuersMayUseIt()
    {
        await using var coordinator = await TestCoordinator.StartAsync(adminApi: true);
        using var net = new TestNetwork(issuers: 1);
        using var owner = new CoordinatorAdminClient(coordinator.Server.AdminApiAddress!, coordinator.Server.PeerId, net.Admin);
        await owner.CreateNetworkAsync(net.Genesis);
        using var issuer = new CoordinatorAdminClient(coordinator.Server.AdminApiAddress!, coordinator.Server.PeerId, net.IssuerKeys[0]);
        Assert.Equal(net.Id.ToString(), (await issuer.GetNetworkAsync(net.Id)).Network);
        using var strangerKey = NodeIdentity.Generate(Libp2pKeyType.Ecdsa);
        using var stranger = new CoordinatorAdminClient(coordinator.Server.AdminApiAddress!, coordinator.Server.PeerId, strangerKey);
        Assert.Equal(MembershipError.Forbidden, (await Assert.ThrowsAsync<MembershipException>(() => stranger.GetNetworkAsync(net.Id))).Reason);
        Assert.Equal(MembershipError.Forbidden, (await Assert.ThrowsAsync<MembershipException>(() => stranger.AllocateAsync(net.Id, null))).Reason);
        Assert.Equal(MembershipError.Forbidden, (await Assert.ThrowsAsync<MembershipException>(() => stranger.CreateNetworkAsync(net.Genesis))).Reason);
        using var other = new TestNetwork();
        Assert.Equal(MembershipError.Unknown, (await Assert.ThrowsAsync<MembershipException>(() => owner.GetNetworkAsync(other.Id))).Reason);
    }

    [Fact]
    public async Task NetworkCreationFollowsThePolicy()
    {
        using var net = new TestNetwork();
        await using var closed = await TestCoordinator.StartAsync(adminApi: true, configure: o => o.NetworkCreation = NetworkCreationPolicy.Closed);
        using var a = new CoordinatorAdminClient(closed.Server.AdminApiAddress!, closed.Server.PeerId, net.Admin);
        Assert.Equal(MembershipError.Forbidden, (await Assert.ThrowsAsync<MembershipException>(() => a.CreateNetworkAsync(net.Genesis))).Reason);
        await using var listed = await TestCoordinator.StartAsync(adminApi: true, configure: o =>
        {
            o.NetworkCreation = NetworkCreationPolicy.AllowList;
            o.NetworkCreators.Add(net.Admin.PeerId);
        });
        using var b = new CoordinatorAdminClient(listed.Server.AdminApiAddress!, listed.Server.PeerId, net.Admin);
        Assert.Equal(net.Id.ToString(), (await b.CreateNetworkAsync(net.Genesis)).Network);
    }

    [Fact]
    public async Task TheClientPinsTheCoordinatorAndTheServerRequiresACertificate()
    {
        await using var coordinator = await TestCoordinator.StartAsync(adminApi: true);
        using var net = new TestNetwork();
        using var impostor = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        using var pinnedWrong = new CoordinatorAdminClient(coordinator.Server.AdminApiAddress!, impostor.PeerId, net.Admin);
        Assert.Equal(PeerError.PeerMismatch, (await Assert.ThrowsAsync<PeerException>(() => pinnedWrong.HealthAsync())).Error);

        using var anonymous = new HttpClient(new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = (_, _, _, _) => true },
        });
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => anonymous.GetAsync(new Uri(coordinator.Server.AdminApiAddress!, "api/v1/health")));
    }

    [Fact]
    public async Task TheOpenApiDocumentDescribesTheEndpoints()
    {
        await using var coordinator = await TestCoordinator.StartAsync(adminApi: true);
        using var key = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        using var certificate = Libp2pCertificate.Create(key);
        using var http = new HttpClient(new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                ClientCertificates = [certificate],
                LocalCertificateSelectionCallback = (_, _, _, _, _) => certificate,
                RemoteCertificateValidationCallback = (_, _, _, _) => true,
            },
        });
        var document = await http.GetStringAsync(new Uri(coordinator.Server.AdminApiAddress!, "openapi/v1.json"));
        Assert.Contains("/api/v1/networks/{network}/records", document, StringComparison.Ordinal);
        Assert.Contains("/api/v1/networks/{network}/allocations", document, StringComparison.Ordinal);
        Assert.Contains("\"openapi\"", document, StringComparison.Ordinal);
    }
}
