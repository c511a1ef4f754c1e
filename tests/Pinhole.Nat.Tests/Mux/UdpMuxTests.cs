using System.Net;
using Pinhole.Dtls;

namespace Pinhole.Nat.Tests.Mux;

public sealed class UdpMuxTests
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(30);
    private static readonly IPEndPoint AddressA = new(IPAddress.Parse("10.0.0.1"), 1000);
    private static readonly IPEndPoint AddressB = new(IPAddress.Parse("10.0.0.2"), 2000);

    private static UdpMuxOptions Fast() => new() { StunClient = new StunClientOptions { InitialRetransmitTimeout = TimeSpan.FromMilliseconds(100) } };

    [Fact]
    public async Task Dtls_and_stun_share_one_socket()
    {
        var net = new MemoryDatagramNetwork();
        await using UdpMux a = UdpMux.Create(net.CreateBind(AddressA), Fast());
        await using UdpMux b = UdpMux.Create(net.CreateBind(AddressB), Fast());
        using NodeIdentity idA = NodeIdentity.Generate();
        using NodeIdentity idB = NodeIdentity.Generate();
        await using DtlsEndpoint dtlsA = DtlsEndpoint.Create(new DtlsEndpointOptions { Identity = idA, Bind = a.OpenDtlsBind() });
        await using DtlsEndpoint dtlsB = DtlsEndpoint.Create(new DtlsEndpointOptions { Identity = idB, Bind = b.OpenDtlsBind() });
        await using DtlsListener listener = dtlsB.Listen();
        using var guard = new CancellationTokenSource(HangGuard);

        // A asks B's built-in STUN server for its reflexive address while DTLS handshakes on the same sockets.
        Task<StunResponse> binding = a.Stun.BindingAsync(AddressB, cancellationToken: guard.Token);
        Task<DtlsConnection> dial = dtlsA.ConnectAsync(AddressB, idB.PeerId, guard.Token);
        await using DtlsConnection server = await listener.AcceptAsync(guard.Token);
        await using DtlsConnection client = await dial;
        Assert.Equal(AddressA, (await binding).Message.XorMappedAddress);

        for (int i = 0; i < 50; i++)
        {
            await client.SendAsync(new byte[] { (byte)i, 1, 2, 3 }, guard.Token);
            Task<StunResponse> more = b.Stun.BindingAsync(AddressA, cancellationToken: guard.Token);
            byte[] got = await server.ReceiveAsync(guard.Token);
            Assert.Equal((byte)i, got[0]);
            Assert.Equal(AddressB, (await more).Message.XorMappedAddress);
        }
        Assert.True(b.Statistics.StunAnswered >= 1);
        Assert.True(a.Statistics.StunAnswered >= 50);
    }

    [Fact]
    public async Task Stun_keeps_working_after_the_dtls_endpoint_is_gone()
    {
        var net = new MemoryDatagramNetwork();
        await using UdpMux a = UdpMux.Create(net.CreateBind(AddressA), Fast());
        await using UdpMux b = UdpMux.Create(net.CreateBind(AddressB), Fast());
        using NodeIdentity id = NodeIdentity.Generate();
        using var guard = new CancellationTokenSource(HangGuard);
        DtlsEndpoint dtls = DtlsEndpoint.Create(new DtlsEndpointOptions { Identity = id, Bind = a.OpenDtlsBind() });
        Assert.Equal(AddressB, (await b.Stun.BindingAsync(AddressA, cancellationToken: guard.Token)).Message.XorMappedAddress);
        await dtls.DisposeAsync(); // disposes its view, not the socket
        Assert.Equal(AddressB, (await b.Stun.BindingAsync(AddressA, cancellationToken: guard.Token)).Message.XorMappedAddress);
        Assert.Equal(AddressA, (await a.Stun.BindingAsync(AddressB, cancellationToken: guard.Token)).Message.XorMappedAddress);
        // A new view can be opened once the old one is gone.
        await using DtlsEndpoint again = DtlsEndpoint.Create(new DtlsEndpointOptions { Identity = id, Bind = a.OpenDtlsBind() });
        Assert.Throws<InvalidOperationException>(() => a.OpenDtlsBind());
        Assert.Equal(AddressB, (await b.Stun.BindingAsync(AddressA, cancellationToken: guard.Token)).Message.XorMappedAddress);
    }

    [Fact]
    public async Task Unknown_datagrams_are_dropped_and_channel_data_reaches_its_handler()
    {
        var net = new MemoryDatagramNetwork();
        await using UdpMux a = UdpMux.Create(net.CreateBind(AddressA), Fast());
        await using UdpMux b = UdpMux.Create(net.CreateBind(AddressB), Fast());
        var channelData = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        a.SetChannelDataHandler((source, datagram) => channelData.TrySetResult(datagram.ToArray()));
        using var guard = new CancellationTokenSource(HangGuard);
        await b.SendAsync(AddressA, new byte[] { 200, 1, 2, 3 }, guard.Token);   // RTP range: unknown
        await b.SendAsync(AddressA, new byte[] { 10 }, guard.Token);               // nothing
        await b.SendAsync(AddressA, new byte[] { 0x40, 0x00, 0x00, 0x01, 9 }, guard.Token);
        Assert.Equal(new byte[] { 0x40, 0x00, 0x00, 0x01, 9 }, await channelData.Task.WaitAsync(guard.Token));
        Assert.True(a.Statistics.Dropped >= 2);
    }

    [Fact]
    public async Task Stun_handlers_see_requests_before_the_server_and_may_claim_them()
    {
        var net = new MemoryDatagramNetwork();
        await using UdpMux a = UdpMux.Create(net.CreateBind(AddressA), Fast());
        await using UdpMux b = UdpMux.Create(net.CreateBind(AddressB), Fast());
        var seen = new TaskCompletionSource<StunMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        using IDisposable registration = a.AddStunHandler((source, message) =>
        {
            if (message.Username is "check")
            {
                seen.TrySetResult(message);
                return true;
            }
            return false;
        });
        using var guard = new CancellationTokenSource(HangGuard);
        byte[] check = StunMessageBuilder.Request(StunMethod.Binding).AddText(StunAttributeType.Username, "check").ToArray();
        await b.SendAsync(AddressA, check, guard.Token);
        Assert.Equal("check", (await seen.Task.WaitAsync(guard.Token)).Username);
        // Unclaimed requests still get the server's answer.
        Assert.Equal(AddressB, (await b.Stun.BindingAsync(AddressA, cancellationToken: guard.Token)).Message.XorMappedAddress);
        Assert.Equal(1, a.Statistics.StunAnswered);
    }

    [Fact]
    public async Task A_handler_that_throws_does_not_stop_the_socket()
    {
        var net = new MemoryDatagramNetwork();
        await using UdpMux a = UdpMux.Create(net.CreateBind(AddressA), Fast());
        await using UdpMux b = UdpMux.Create(net.CreateBind(AddressB), Fast());
        using IDisposable registration = a.AddStunHandler((_, _) => throw new InvalidOperationException("bug"));
        using var guard = new CancellationTokenSource(HangGuard);
        Assert.Equal(AddressB, (await b.Stun.BindingAsync(AddressA, cancellationToken: guard.Token)).Message.XorMappedAddress);
    }

    [Fact]
    public async Task Serving_stun_can_be_switched_off()
    {
        var net = new MemoryDatagramNetwork();
        var quiet = Fast();
        quiet.ServeStun = false;
        await using UdpMux a = UdpMux.Create(net.CreateBind(AddressA), quiet);
        var fast = Fast();
        fast.StunClient.MaxSends = 2;
        fast.StunClient.FinalWaitMultiplier = 2;
        await using UdpMux b = UdpMux.Create(net.CreateBind(AddressB), fast);
        PeerException e = await Assert.ThrowsAsync<PeerException>(() => b.Stun.BindingAsync(AddressA));
        Assert.Equal(PeerError.Timeout, e.Error);
    }

    [Theory]
    [InlineData(new byte[] { 0 }, DatagramKind.Stun)]
    [InlineData(new byte[] { 3 }, DatagramKind.Stun)]
    [InlineData(new byte[] { 4 }, DatagramKind.Unknown)]
    [InlineData(new byte[] { 19 }, DatagramKind.Unknown)]
    [InlineData(new byte[] { 20 }, DatagramKind.Dtls)]
    [InlineData(new byte[] { 63 }, DatagramKind.Dtls)]
    [InlineData(new byte[] { 64 }, DatagramKind.ChannelData)]
    [InlineData(new byte[] { 79 }, DatagramKind.ChannelData)]
    [InlineData(new byte[] { 80 }, DatagramKind.Unknown)]
    [InlineData(new byte[] { 128 }, DatagramKind.Unknown)]
    [InlineData(new byte[0], DatagramKind.Unknown)]
    public void First_byte_rules_follow_rfc7983(byte[] datagram, DatagramKind kind) =>
        Assert.Equal(kind, DatagramClassifier.Classify(datagram));

    [Fact]
    public async Task Dtls_over_a_real_udp_socket_with_stun_alongside()
    {
        await using UdpMux a = UdpMux.Bind(new IPEndPoint(IPAddress.Loopback, 0), Fast());
        await using UdpMux b = UdpMux.Bind(new IPEndPoint(IPAddress.Loopback, 0), Fast());
        using NodeIdentity idA = NodeIdentity.Generate();
        using NodeIdentity idB = NodeIdentity.Generate();
        await using DtlsEndpoint dtlsA = DtlsEndpoint.Create(new DtlsEndpointOptions { Identity = idA, Bind = a.OpenDtlsBind() });
        await using DtlsEndpoint dtlsB = DtlsEndpoint.Create(new DtlsEndpointOptions { Identity = idB, Bind = b.OpenDtlsBind() });
        await using DtlsListener listener = dtlsB.Listen();
        using var guard = new CancellationTokenSource(HangGuard);
        Task<DtlsConnection> dial = dtlsA.ConnectAsync(b.LocalEndPoint, idB.PeerId, guard.Token);
        await using DtlsConnection server = await listener.AcceptAsync(guard.Token);
        await using DtlsConnection client = await dial;
        await client.SendAsync("hello"u8.ToArray(), guard.Token);
        Assert.Equal("hello"u8.ToArray(), await server.ReceiveAsync(guard.Token));
        StunResponse r = await a.Stun.BindingAsync(b.LocalEndPoint, cancellationToken: guard.Token);
        Assert.Equal(a.LocalEndPoint, r.Message.XorMappedAddress);
    }
}
