using System.Net;
using System.Net.Sockets;
using Pinhole.Testing.Netlab;

namespace Pinhole.Node.Tests;

/// <summary>A fact that needs the NAT lab (root, namespaces, conntrack).</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class NatLabFactAttribute : FactAttribute
{
    public NatLabFactAttribute() => Skip = NatLab.UnavailableReason();
}

/// <summary>A theory that needs the NAT lab.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class NatLabTheoryAttribute : TheoryAttribute
{
    public NatLabTheoryAttribute(bool coturn = false) => Skip = NatLab.UnavailableReason(coturn);
}

/// <summary>
/// A whole <see cref="PinholeNode"/> behind a lab NAT dials out by PeerId: its listener and UDP socket are bound inside
/// the host's namespace, and every outbound dial takes its socket from <see cref="NodeTransportOptions.OutboundSocketFactory"/>,
/// which makes it there. The node on the internet side sees the connection come from the NAT router's public address.
/// </summary>
[Trait("Category", "Netns")]
public sealed class NodeDialOutLabTests
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(90);

    [NatLabFact]
    public async Task A_node_behind_a_nat_connects_by_peer_id_to_a_node_on_the_internet()
    {
        await using NatLab lab = await NatLab.CreateAsync(new NatLabOptions().Add("home", NatType.Easy));
        LabSite home = lab["home"];
        using var guard = new CancellationTokenSource(HangGuard);
        using var serverIdentity = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        using var clientIdentity = NodeIdentity.Generate(Libp2pKeyType.Ed25519);

        var serverOptions = TestNodes.Options(serverIdentity);
        serverOptions.ListenAddresses.Clear();
        serverOptions.ListenAddresses.Add(Multiaddr.Parse($"/ip4/{lab.ServerAddress}/tcp/0"));
        await using var server = PinholeNode.CreateBuilder(serverOptions).Build();
        await lab.Server.Namespace.RunInside(() => server.StartAsync(guard.Token));

        var clientOptions = TestNodes.Options(clientIdentity);
        clientOptions.ListenAddresses.Clear();
        clientOptions.ListenAddresses.Add(Multiaddr.Parse("/ip4/0.0.0.0/tcp/0"));
        clientOptions.Transport.OutboundSocketFactory = family => home.Host.Namespace.CreateSocket(family, SocketType.Stream, ProtocolType.Tcp);
        await using var client = PinholeNode.CreateBuilder(clientOptions).Build();
        await home.Host.Namespace.RunInside(() => client.StartAsync(guard.Token));

        client.Peers.Add(server.LocalPeer, addresses: [server.ListenAddresses[0]]);
        var connection = await client.Connections.ConnectAsync(server.LocalPeer, guard.Token);

        Assert.Equal(server.LocalPeer, connection.RemotePeer);
        await TestNodes.UntilAsync(() => server.Connections.List(client.LocalPeer).Count > 0, "the server holds the inbound connection");
        var inbound = server.Connections.Get(client.LocalPeer)!;
        Assert.True(inbound.RemoteAddress!.TryGetIPEndPoint(out IPEndPoint? from, out _));
        Assert.Equal(home.PublicAddress, from.Address);
    }
}
