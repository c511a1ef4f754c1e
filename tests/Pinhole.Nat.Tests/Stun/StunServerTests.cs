using System.Net;
using Pinhole.Dtls;

namespace Pinhole.Nat.Tests.Stun;

public sealed class StunServerTests
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(20);
    private static readonly IPAddress A1 = IPAddress.Parse("203.0.113.10");
    private static readonly IPAddress A2 = IPAddress.Parse("203.0.113.11");

    private static (MemoryDatagramNetwork Net, StunServer Server) Rfc5780Server()
    {
        var net = new MemoryDatagramNetwork();
        var server = StunServer.Start(new StunServerOptions
        {
            Binds =
            [
                net.CreateBind(new IPEndPoint(A1, 3478)), net.CreateBind(new IPEndPoint(A1, 3479)),
                net.CreateBind(new IPEndPoint(A2, 3478)), net.CreateBind(new IPEndPoint(A2, 3479)),
            ],
        });
        return (net, server);
    }

    [Theory]
    [InlineData(false, false, "203.0.113.10:3478")]
    [InlineData(false, true, "203.0.113.10:3479")]
    [InlineData(true, false, "203.0.113.11:3478")]
    [InlineData(true, true, "203.0.113.11:3479")]
    public async Task Change_requests_are_answered_from_the_other_address_and_port(bool changeIp, bool changePort, string expectedOrigin)
    {
        var (net, server) = Rfc5780Server();
        await using var _ = server;
        var clientAddress = new IPEndPoint(IPAddress.Parse("10.0.0.2"), 40000);
        await using StunClient client = StunClient.Create(net.CreateBind(clientAddress), new StunClientOptions { InitialRetransmitTimeout = TimeSpan.FromMilliseconds(200) });
        using var guard = new CancellationTokenSource(HangGuard);
        StunResponse response = await client.BindingAsync(new IPEndPoint(A1, 3478), changeIp, changePort, guard.Token);
        Assert.Equal(clientAddress, response.Message.XorMappedAddress);
        Assert.Equal(IPEndPoint.Parse(expectedOrigin), response.Source);
        Assert.Equal(IPEndPoint.Parse(expectedOrigin), response.Message.ResponseOrigin);
        Assert.Equal(new IPEndPoint(A2, 3479), response.Message.OtherAddress);
        Assert.Equal("pinhole", response.Message.Software);
        Assert.True(response.Message.HasValidFingerprint());
        Assert.True(server.SupportsBehaviorDiscovery);
        Assert.True(server.RequestsServed >= 1);
    }

    [Fact]
    public void A_single_address_server_refuses_change_requests_with_420()
    {
        var request = StunMessageBuilder.Request(StunMethod.Binding).AddChangeRequest(true, false).AddFingerprint();
        byte[]? reply = StunServer.CreateResponse(request.AsSpan(), new IPEndPoint(A2, 1), new IPEndPoint(A1, 3478), null, "pinhole", out int change);
        StunMessage m = StunMessage.Parse(reply!);
        Assert.Equal(StunClass.ErrorResponse, m.Class);
        Assert.Equal(420, m.ErrorCode!.Value.Code);
        Assert.Equal([StunAttributeType.ChangeRequest], m.UnknownAttributes);
        Assert.Equal(0, change);
        Assert.True(m.HasValidFingerprint());
    }

    [Fact]
    public void A_plain_binding_gets_the_source_address_without_other_address()
    {
        var source = new IPEndPoint(IPAddress.Parse("198.51.100.2"), 5555);
        var request = StunMessageBuilder.Request(StunMethod.Binding);
        StunMessage m = StunMessage.Parse(StunServer.CreateResponse(request.AsSpan(), source, new IPEndPoint(A1, 3478), null, null, out _)!);
        Assert.Equal(StunClass.SuccessResponse, m.Class);
        Assert.Equal(request.TransactionId, m.TransactionId);
        Assert.Equal(source, m.XorMappedAddress);
        Assert.Null(m.OtherAddress);
        Assert.Null(m.Software);
        Assert.False(m.HasFingerprint);
    }

    [Fact]
    public void Unknown_comprehension_required_attributes_get_420_listing_them()
    {
        var request = StunMessageBuilder.Request(StunMethod.Binding).Add(0x7777, [0, 0, 0, 0]);
        StunMessage m = StunMessage.Parse(StunServer.CreateResponse(request.AsSpan(), new IPEndPoint(A2, 1), new IPEndPoint(A1, 3478), null, null, out _)!);
        Assert.Equal(420, m.ErrorCode!.Value.Code);
        Assert.Equal([(ushort)0x7777], m.UnknownAttributes);
    }

    [Fact]
    public void Other_methods_get_400_and_non_requests_get_nothing()
    {
        var local = new IPEndPoint(A1, 3478);
        var source = new IPEndPoint(A2, 1);
        StunMessage m = StunMessage.Parse(StunServer.CreateResponse(StunMessageBuilder.Request(StunMethod.Allocate).AsSpan(), source, local, null, null, out _)!);
        Assert.Equal(400, m.ErrorCode!.Value.Code);
        Assert.Null(StunServer.CreateResponse(new StunMessageBuilder(StunMethod.Binding, StunClass.Indication, StunTransactionId.NewRandom()).AsSpan(), source, local, null, null, out _));
        Assert.Null(StunServer.CreateResponse(new StunMessageBuilder(StunMethod.Binding, StunClass.SuccessResponse, StunTransactionId.NewRandom()).AsSpan(), source, local, null, null, out _));
        Assert.Null(StunServer.CreateResponse([0, 1, 2], source, local, null, null, out _));
        byte[] bad = StunMessageBuilder.Request(StunMethod.Binding).AddFingerprint().ToArray();
        bad[^1] ^= 1;
        Assert.Null(StunServer.CreateResponse(bad, source, local, null, null, out _));
    }

    [Fact]
    public void Options_are_checked()
    {
        var net = new MemoryDatagramNetwork();
        Assert.Throws<ArgumentException>(() => StunServer.Start(new StunServerOptions()));
        Assert.Throws<ArgumentException>(() => StunServer.Start(new StunServerOptions
        {
            Binds = [net.CreateBind(new IPEndPoint(A1, 1)), net.CreateBind(new IPEndPoint(A1, 2))],
        }));
        Assert.Throws<ArgumentException>(() => StunServer.Start(new StunServerOptions
        {
            Binds = [net.CreateBind(new IPEndPoint(A1, 11)), net.CreateBind(new IPEndPoint(A1, 12)), net.CreateBind(new IPEndPoint(A1, 13)), net.CreateBind(new IPEndPoint(A1, 14))],
        }));
    }

    [Fact]
    public async Task Real_udp_sockets_on_loopback_serve_bindings()
    {
        await using StunServer server = StunServer.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        await using StunClient client = StunClient.Create(UdpDatagramBind.Bind(new IPEndPoint(IPAddress.Loopback, 0)), new StunClientOptions { InitialRetransmitTimeout = TimeSpan.FromMilliseconds(200) });
        using var guard = new CancellationTokenSource(HangGuard);
        StunResponse response = await client.BindingAsync(server.LocalEndPoints[0], cancellationToken: guard.Token);
        Assert.Equal(IPAddress.Loopback, response.Message.XorMappedAddress!.Address);
    }
}
