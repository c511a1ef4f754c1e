using System.Net.Sockets;

namespace Pinhole.Node.Tests;

/// <summary>Every outbound TCP dial of a node goes through NodeTransportOptions.OutboundSocketFactory when one is set.</summary>
public sealed class OutboundSocketFactoryTests : IAsyncLifetime
{
    private readonly TestNodes _nodes = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _nodes.DisposeAsync();

    [Fact]
    public async Task The_nodes_dial_uses_the_factorys_socket()
    {
        var made = new List<Socket>();
        var server = await _nodes.StartAsync();
        var client = await _nodes.StartAsync(b => b.Options.Transport.OutboundSocketFactory = family =>
        {
            var socket = new Socket(family, SocketType.Stream, ProtocolType.Tcp);
            lock (made)
            {
                made.Add(socket);
            }
            return socket;
        });
        client.Peers.Add(server.LocalPeer, addresses: [TestNodes.TcpAddress(server)]);

        var connection = await client.Connections.ConnectAsync(server.LocalPeer);

        Assert.Equal(server.LocalPeer, connection.RemotePeer);
        Socket used = Assert.Single(made);
        Assert.True(used.Connected);
        Assert.Equal(TestNodes.TcpAddress(server).ToIPEndPoint(), used.RemoteEndPoint);
    }

    [Fact]
    public async Task A_factory_that_cannot_make_a_socket_fails_the_dial_as_unreachable()
    {
        var server = await _nodes.StartAsync();
        var client = await _nodes.StartAsync(b => b.Options.Transport.OutboundSocketFactory = _ => throw new SocketException((int)SocketError.NetworkDown));
        client.Peers.Add(server.LocalPeer, addresses: [TestNodes.TcpAddress(server)]);

        var error = await Assert.ThrowsAsync<PeerException>(async () => await client.Connections.ConnectAsync(server.LocalPeer));

        Assert.Equal(PeerError.Unreachable, error.Error);
    }
}
