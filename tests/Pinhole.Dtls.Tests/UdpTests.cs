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
