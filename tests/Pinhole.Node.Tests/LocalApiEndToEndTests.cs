using System.Net;
using System.Net.Sockets;
using System.Text;
using Pinhole.Nat;
using Pinhole.Node.Api;

namespace Pinhole.Node.Tests;

/// <summary>Two nodes driven only through their local APIs (real Unix sockets, real loopback networking).</summary>
public sealed class LocalApiEndToEndTests : IAsyncLifetime
{
    private readonly TestNodes _nodes = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _nodes.DisposeAsync();

    [Fact]
    public async Task ConnectByPeerIdPingDisconnectAndWatchTheEvents()
    {
        var (a, apiA) = await ApiNodes.StartAsync(_nodes);
        var (b, apiB) = await ApiNodes.StartAsync(_nodes);
        using var clientA = apiA;
        using var clientB = apiB;
        using var watching = new CancellationTokenSource(TestNodes.Wait);
        var events = new List<EventResponse>();
        var sawDisconnect = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var subscribed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var watcher = Task.Run(async () =>
        {
            await foreach (var e in clientA.WatchEventsAsync(cancellationToken: watching.Token))
            {
                lock (events)
                {
                    events.Add(e);
                }
                subscribed.TrySetResult();
                if (e.Type == "peer.disconnected")
                {
                    sawDisconnect.TrySetResult();
                    return;
                }
            }
        });
        await subscribed.Task.WaitAsync(TestNodes.Wait); // the first event is the connections snapshot

        // Connect by PeerId only after adding an address.
        var unknown = await Assert.ThrowsAsync<PinholeApiException>(() => clientA.ConnectAsync(b.LocalPeer.ToString()));
        Assert.Equal(HttpStatusCode.BadGateway, unknown.Status);
        var bStatus = await clientB.GetStatusAsync();
        var bAddress = bStatus.Addresses.First(x => x.Contains("/tcp/", StringComparison.Ordinal));
        await clientA.AddPeerAsync(new AddPeerRequest(b.LocalPeer.ToString(), "bee", [bAddress]));
        var connection = await clientA.ConnectAsync("bee");

        Assert.Equal(b.LocalPeer.ToString(), connection.PeerId);
        Assert.Equal("outbound", connection.Direction);
        Assert.Equal("direct", connection.Path);
        Assert.Equal("tcp", connection.Netlayer);
        var ping = await clientA.PingAsync("bee");
        Assert.True(ping.RttMs > 0);
        var listed = Assert.Single(await clientA.ListConnectionsAsync());
        Assert.True(listed.BytesSent > 0 && listed.BytesReceived > 0);
        Assert.NotNull(listed.RttMs);
        Assert.True((await clientA.GetPeerAsync("bee")).Connected);
        await TestNodes.UntilAsync(() => b.Connections.Count == 1, "b sees the connection");
        Assert.Equal("inbound", Assert.Single(await clientB.ListConnectionsAsync()).Direction);

        await clientA.DisconnectAsync("bee");
        await sawDisconnect.Task.WaitAsync(TestNodes.Wait);
        await watcher;

        lock (events)
        {
            Assert.Equal("connections", events[0].Type);
            var connected = Assert.Single(events, e => e.Type == "peer.connected");
            Assert.Equal(b.LocalPeer.ToString(), connected.PeerId);
            Assert.Equal("outbound", connected.Connection!.Direction);
            Assert.Contains(events, e => e.Type == "dial.failed" && e.PeerId == b.LocalPeer.ToString());
            Assert.Equal("closed by request", events.Single(e => e.Type == "peer.disconnected").Reason);
        }
        var gone = await Assert.ThrowsAsync<PinholeApiException>(() => clientA.DisconnectAsync("bee"));
        Assert.Equal(HttpStatusCode.NotFound, gone.Status);
    }

    [Fact]
    public async Task ConnectByAddressPinsAndStoresIt()
    {
        var (a, apiA) = await ApiNodes.StartAsync(_nodes);
        using var clientA = apiA;
        var b = await _nodes.StartAsync();
        var address = TestNodes.TcpAddress(b).Encapsulate(b.LocalPeer).ToString();

        var connection = await clientA.ConnectAddressAsync(address);

        Assert.Equal(b.LocalPeer.ToString(), connection.PeerId);
        var peer = await clientA.GetPeerAsync(b.LocalPeer.ToString());
        Assert.Equal("pinned", peer.Trust);
        Assert.Equal(TestNodes.TcpAddress(b).ToString(), Assert.Single(peer.Addresses).Address);
        var noId = await Assert.ThrowsAsync<PinholeApiException>(() => clientA.ConnectAddressAsync("127.0.0.1:" + TestNodes.TcpAddress(b).ToIPEndPoint().Port));
        Assert.Equal(HttpStatusCode.BadRequest, noId.Status);
        Assert.Contains("trust on first use", noId.Message, StringComparison.Ordinal);
        Assert.Equal(1, a.Connections.Count);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task SocketsCarryDatagramsBetweenTwoNodesOverDtls(bool withStun)
    {
        // With STUN servers configured, every UDP socket of the nodes is shared by STUN and DTLS (Pinhole.Nat's
        // UdpMux) and learns its public address from the server (on loopback: the address it is bound to).
        await using var stunServer = withStun ? StunServer.Bind(new IPEndPoint(IPAddress.Loopback, 0)) : null;
        void Stun(PinholeNodeBuilder builder)
        {
            if (stunServer is not null)
            {
                builder.Options.StunServers.Add(stunServer.LocalEndPoints[0]);
            }
        }
        var (a, apiA) = await ApiNodes.StartAsync(_nodes, Stun);
        var (b, apiB) = await ApiNodes.StartAsync(_nodes, Stun);
        using var clientA = apiA;
        using var clientB = apiB;
        using var appA = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        using var appB = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));

        var socketA = await clientA.CreateSocketAsync(new CreateSocketRequest("127.0.0.1:0"));
        var socketB = await clientB.CreateSocketAsync(new CreateSocketRequest("127.0.0.1:0", ForwardTo: appB.Client.LocalEndPoint!.ToString()));
        Assert.Equal("bound", socketA.State);
        if (stunServer is null)
        {
            Assert.Null(socketA.PublicAddress); // no NAT traversal layer plugged in
        }
        else
        {
            Assert.Equal(socketA.LocalAddress, socketA.PublicAddress);
            Assert.Equal(socketB.LocalAddress, socketB.PublicAddress);
            Assert.True(stunServer.RequestsServed >= 2);
            // The node's own UDP port answers STUN Binding requests too (peers may ask any node where they are seen).
            await using var probe = UdpMux.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            var nodeUdp = b.ListenAddresses.First(x => x.ToString().Contains("/udp/", StringComparison.Ordinal)).ToIPEndPoint();
            var seen = await probe.Stun.BindingAsync(nodeUdp).WaitAsync(TestNodes.Wait);
            Assert.Equal((IPEndPoint)probe.LocalEndPoint, seen.Message.ReflexiveAddress);
        }
        Assert.NotNull(socketA.ForwardAddress);

        var waiting = await clientB.ConnectSocketAsync(socketB.Id, new SocketPeerRequest(a.LocalPeer.ToString(), Mode: "wait"));
        Assert.Equal("waiting", waiting.State);
        var connected = await clientA.ConnectSocketAsync(socketA.Id, new SocketPeerRequest(b.LocalPeer.ToString(), socketB.LocalAddress));
        Assert.Equal("connected", connected.State);
        await TestNodes.UntilAsync(() => b.Sockets.Find(socketB.Id)!.Snapshot().State == NodeSocketState.Connected, "b's socket took a's session");

        await appA.SendAsync(Encoding.UTF8.GetBytes("hello over dtls"), IPEndPoint.Parse(socketA.ForwardAddress!));
        var atB = await appB.ReceiveAsync().WaitAsync(TestNodes.Wait);
        Assert.Equal("hello over dtls", Encoding.UTF8.GetString(atB.Buffer));
        Assert.Equal(IPEndPoint.Parse(socketB.ForwardAddress!), atB.RemoteEndPoint);

        await appB.SendAsync(Encoding.UTF8.GetBytes("and back"), IPEndPoint.Parse(socketB.ForwardAddress!));
        var atA = await appA.ReceiveAsync().WaitAsync(TestNodes.Wait);
        Assert.Equal("and back", Encoding.UTF8.GetString(atA.Buffer));

        var stats = await clientA.GetSocketAsync(socketA.Id);
        Assert.Equal(1, stats.PacketsSent);
        Assert.Equal(1, stats.PacketsReceived);
        Assert.Equal(b.LocalPeer.ToString(), stats.PeerId);

        var busy = await Assert.ThrowsAsync<PinholeApiException>(() => clientA.ConnectSocketAsync(socketA.Id, new SocketPeerRequest(b.LocalPeer.ToString(), socketB.LocalAddress)));
        Assert.Equal(HttpStatusCode.Conflict, busy.Status);

        await clientA.DeleteSocketAsync(socketA.Id);
        Assert.Empty(await clientA.ListSocketsAsync());
        var deleted = await Assert.ThrowsAsync<PinholeApiException>(() => clientA.GetSocketAsync(socketA.Id));
        Assert.Equal(HttpStatusCode.NotFound, deleted.Status);
        // B's session ends with A's close_notify.
        await TestNodes.UntilAsync(() => b.Sockets.Find(socketB.Id)!.Snapshot().State == NodeSocketState.Failed, "b's session closed");
    }

    [Fact]
    public async Task ASocketConnectToTheWrongKeyFails()
    {
        var (_, apiA) = await ApiNodes.StartAsync(_nodes);
        using var clientA = apiA;
        var b = await _nodes.StartAsync();
        using var someoneElse = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var socket = await clientA.CreateSocketAsync(new CreateSocketRequest("127.0.0.1:0", Forward: false));
        var udp = b.ListenAddresses.First(x => x.ToString().Contains("/udp/", StringComparison.Ordinal)).ToIPEndPoint();

        var error = await Assert.ThrowsAsync<PinholeApiException>(() => clientA.ConnectSocketAsync(socket.Id, new SocketPeerRequest(someoneElse.PeerId.ToString(), udp.ToString())));

        Assert.Equal("urn:pinhole:problem:peer-authentication-failed", error.ProblemType);
        var failed = await clientA.GetSocketAsync(socket.Id);
        Assert.Equal("failed", failed.State);
        Assert.Contains(b.LocalPeer.ToString(), failed.Error, StringComparison.Ordinal);
    }
}
