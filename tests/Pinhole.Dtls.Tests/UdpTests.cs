using System.Net;
using System.Net.Sockets;

namespace Pinhole.Dtls.Tests;

public class UdpTests
{
    [Fact]
    public async Task Loopback_IPv4_ExchangesPacketsBothWays_AndVerifiesPeers()
    {
        await using Pair pair = Pair.Udp(IPAddress.Loopback);
        (DtlsConnection client, DtlsConnection server) = await pair.ConnectAsync();
        await AssertExchangeAsync(pair, client, server);
    }

    [Fact]
    public async Task Loopback_IPv6_ExchangesPackets()
    {
        if (!Socket.OSSupportsIPv6)
        {
            return; // no IPv6 on this machine: nothing to test
        }
        Pair pair;
        try
        {
            pair = Pair.Udp(IPAddress.IPv6Loopback);
        }
        catch (SocketException)
        {
            return; // ::1 not configured
        }
        await using (pair)
        {
            (DtlsConnection client, DtlsConnection server) = await pair.ConnectAsync();
            await AssertExchangeAsync(pair, client, server);
        }
    }

    [Fact]
    public async Task DualModeSocket_AcceptsIPv4Client()
    {
        var serverBind = UdpDatagramBind.Bind(new IPEndPoint(IPAddress.IPv6Any, 0));
        int port = ((IPEndPoint)serverBind.LocalEndPoint).Port;
        await using Pair pair = Pair.Create(serverBind, UdpDatagramBind.Bind(new IPEndPoint(IPAddress.Loopback, 0)));
        using var cts = new CancellationTokenSource(Pair.Patience);
        Task<DtlsConnection> accept = pair.Listener.AcceptAsync(cts.Token).AsTask();
        await using DtlsConnection client = await pair.Client.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), pair.ServerIdentity.PeerId, cts.Token);
        await using DtlsConnection server = await accept;
        Assert.Equal(IPAddress.Loopback, ((IPEndPoint)server.RemoteEndPoint).Address);
        await client.SendAsync(new byte[] { 1, 2, 3 }, cts.Token);
        Assert.Equal(new byte[] { 1, 2, 3 }, await server.ReceiveAsync(cts.Token));
    }

    internal static async Task AssertExchangeAsync(Pair pair, DtlsConnection client, DtlsConnection server)
    {
        using var cts = new CancellationTokenSource(Pair.Patience);
        Assert.Equal(pair.ServerIdentity.PeerId, client.RemotePeer);
        Assert.Equal(pair.ClientIdentity.PeerId, server.RemotePeer);
        Assert.True(client.IsClient);
        Assert.False(server.IsClient);
        Assert.StartsWith("ECDHE-ECDSA-", client.CipherSuite);

        byte[] ping = new byte[1400];
        Random.Shared.NextBytes(ping);
        await client.SendAsync(ping, cts.Token);
        Assert.Equal(ping, await server.ReceiveAsync(cts.Token));
        await server.SendAsync(new byte[] { 42 }, cts.Token);
        byte[] buffer = new byte[client.MaxPacketSize];
        int n = await client.ReceiveAsync(buffer, cts.Token);
        Assert.Equal(new byte[] { 42 }, buffer[..n]);

        // close_notify reaches the other side, which reports a graceful close.
        await client.CloseAsync();
        PeerException closed = await Assert.ThrowsAsync<PeerException>(async () => await server.ReceiveAsync(cts.Token));
        Assert.Equal(PeerError.ConnectionClosed, closed.Error);
        await server.Closed.WaitAsync(cts.Token);
    }
}

public class UdpFloodTests
{
    [Fact]
    public async Task ClientHelloFloodFromManySourcePorts_AllocatesNoSessionState()
    {
        // Capture a genuine ClientHello (no cookie) on the in-memory network.
        var network = new MemoryDatagramNetwork();
        byte[]? hello = null;
        network.Observer = (from, to, data) => hello ??= data.ToArray();
        var target = new IPEndPoint(IPAddress.Parse("10.4.0.1"), 1);
        await using (network.CreateBind(target))
        {
            using NodeIdentity id = NodeIdentity.Generate();
            await using DtlsEndpoint dialer = DtlsEndpoint.Create(new DtlsEndpointOptions { Identity = id, Bind = network.CreateBind(new IPEndPoint(IPAddress.Parse("10.4.0.2"), 1)) });
            _ = dialer.ConnectAsync(target, id.PeerId);
            using var wait = new CancellationTokenSource(Pair.Patience);
            while (hello is null)
            {
                await Task.Delay(5, wait.Token);
            }
        }

        await using Pair pair = Pair.Udp(IPAddress.Loopback);
        long created = pair.Server.NativeSessionsCreated;
        const int sockets = 64, perSocket = 16;
        var senders = new List<Socket>();
        try
        {
            for (int i = 0; i < sockets; i++)
            {
                var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
                senders.Add(s);
            }
            for (int round = 0; round < perSocket; round++)
            {
                foreach (Socket s in senders)
                {
                    await s.SendToAsync(hello, SocketFlags.None, pair.Server.LocalEndPoint);
                }
            }
            using var cts = new CancellationTokenSource(Pair.Patience);
            // Every ClientHello is answered with a HelloVerifyRequest (some may be lost to the socket buffer).
            var reply = new byte[2048];
            int got = await senders[^1].ReceiveAsync(reply, cts.Token);
            Assert.Equal(22, reply[0]);
            Assert.Equal(3, reply[13]); // hello_verify_request
            while (pair.Server.Stateless!.HelloVerifyRequests < sockets * perSocket / 2)
            {
                await Task.Delay(10, cts.Token);
            }
            Assert.Equal(0, pair.Server.SessionCount);
            Assert.Equal(created, pair.Server.NativeSessionsCreated);
            Assert.Equal(0, pair.Server.Stateless.RateLimiterEntries);

            (DtlsConnection client, DtlsConnection server) = await pair.ConnectAsync();
            await client.SendAsync(new byte[] { 1 }, cts.Token);
            Assert.Equal(new byte[] { 1 }, await server.ReceiveAsync(cts.Token));
        }
        finally
        {
            senders.ForEach(s => s.Dispose());
        }
    }
}

public class ListenAsyncTests
{
    [Fact]
    public async Task ListenAsync_OwnsItsEndpoint_AndAcceptsVerifiedPeers()
    {
        using NodeIdentity serverId = NodeIdentity.Generate();
        using NodeIdentity clientId = NodeIdentity.Generate();
        DtlsListener listener = await DtlsListener.ListenAsync(new DtlsEndpointOptions { Identity = serverId, Bind = UdpDatagramBind.Bind(new IPEndPoint(IPAddress.Loopback, 0)) });
        await using DtlsEndpoint client = DtlsEndpoint.Create(new DtlsEndpointOptions { Identity = clientId, Bind = UdpDatagramBind.Bind(new IPEndPoint(IPAddress.Loopback, 0)) });
        using var cts = new CancellationTokenSource(Pair.Patience);
        Task<DtlsConnection> accept = listener.AcceptAsync(cts.Token).AsTask();
        DtlsConnection c = await client.ConnectAsync(listener.LocalEndPoint, serverId.PeerId, cts.Token);
        DtlsConnection s = await accept;
        Assert.Equal(clientId.PeerId, s.RemotePeer);
        await listener.DisposeAsync();
        // The owned endpoint closed its sessions with close_notify.
        await c.Closed.WaitAsync(cts.Token);
        Assert.Equal(PeerError.ConnectionClosed, c.CloseReason!.Error);
        Assert.Equal(0, listener.Endpoint.SessionCount);
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await listener.AcceptAsync(cts.Token));
    }
}
