using System.Net;
using Pinhole.Messaging.MessagePack;
using Pinhole.Messaging.Tests.Support;

namespace Pinhole.Messaging.Tests.Channels;

public class MessagePeerTests
{
    private static readonly TimeSpan Timeout = SessionPair.Timeout;

    [Fact]
    public async Task Send_flush_receive_over_an_in_memory_connection()
    {
        var (a, b) = MemoryNetwork.CreatePair(new PeerConnectionOptions { Identity = NodeIdentity.Generate() }, new PeerConnectionOptions { Identity = NodeIdentity.Generate() });
        var startA = MessagePeer.StartAsync(a, MessageCodec.Text);
        var startB = MessagePeer.StartAsync(b, MessageCodec.Text);
        await using var left = await startA.WaitAsync(Timeout);
        await using var right = await startB.WaitAsync(Timeout);
        Assert.Equal(b.LocalPeer, left.RemotePeer);
        await left.SendAsync("ping");
        await left.FlushAsync();
        Assert.Equal("ping", await right.ReceiveAsync().AsTask().WaitAsync(Timeout));
        await right.SendAsync("pong");
        Assert.Equal("pong", await left.ReceiveAsync().AsTask().WaitAsync(Timeout));
    }

    [Fact]
    public async Task Listen_and_connect_over_tcp_with_a_pinned_peer_id()
    {
        using var serverIdentity = NodeIdentity.Generate();
        using var clientIdentity = NodeIdentity.Generate();
        var listenerOptions = new PeerListenerOptions
        {
            Identity = serverIdentity,
            ListenAddresses = [Multiaddr.FromIPEndPoint(new IPEndPoint(IPAddress.Loopback, 0), "tcp")],
        };
        await using var listener = await MessagePeer.ListenAsync(listenerOptions, MessageCodec.Text, async (connection, ct) =>
        {
            await foreach (var line in connection.ReceiveAllAsync(ct))
            {
                await connection.SendAsync($"{connection.RemotePeer.ToString()[..8]} said {line}", ct);
            }
        });
        var address = listener.Listener.GetDialableAddresses()[0];
        var connectOptions = new PeerConnectOptions { Identity = clientIdentity, Remote = PeerAddress.FromMultiaddr(address) };
        await using (var client = await MessagePeer.ConnectAsync(connectOptions, MessageCodec.Text).WaitAsync(Timeout))
        {
            Assert.Equal(serverIdentity.PeerId, client.RemotePeer);
            await client.SendAsync("hi");
            await client.FlushAsync();
            Assert.Equal($"{clientIdentity.PeerId.ToString()[..8]} said hi", await client.ReceiveAsync().AsTask().WaitAsync(Timeout));
        }

        // Without a PeerId the address cannot be authenticated: refused unless trust on first use is asked for.
        var withoutId = PeerAddress.Parse(address.ToString()[..address.ToString().IndexOf("/p2p/", StringComparison.Ordinal)]);
        await Assert.ThrowsAsync<ArgumentException>(() => MessagePeer.ConnectAsync(new PeerConnectOptions { Identity = clientIdentity, Remote = withoutId }, MessageCodec.Text));
        await using var tofu = await MessagePeer.ConnectAsync(new PeerConnectOptions { Identity = clientIdentity, Remote = withoutId, TrustOnFirstUse = true }, MessageCodec.Text).WaitAsync(Timeout);
        Assert.Equal(serverIdentity.PeerId, tofu.RemotePeer);
    }

    [Fact]
    public async Task Receiving_after_the_peer_closed_says_so()
    {
        var (a, b) = MemoryNetwork.CreatePair(new PeerConnectionOptions { Identity = NodeIdentity.Generate() }, new PeerConnectionOptions { Identity = NodeIdentity.Generate() });
        var startA = MessagePeer.StartAsync(a, MessageCodec.Int32);
        var startB = MessagePeer.StartAsync(b, MessageCodec.Int32);
        var left = await startA.WaitAsync(Timeout);
        await using var right = await startB.WaitAsync(Timeout);
        await left.SendAsync(5);
        await left.DisposeAsync();
        Assert.Equal(5, await right.ReceiveAsync().AsTask().WaitAsync(Timeout));
        await Assert.ThrowsAnyAsync<Exception>(async () => await right.ReceiveAsync().AsTask().WaitAsync(Timeout));
    }
}
