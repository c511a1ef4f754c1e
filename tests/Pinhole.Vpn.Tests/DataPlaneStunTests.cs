using System.Net;
using Pinhole.Nat;
using Pinhole.Vpn.DataPlane;

namespace Pinhole.Vpn.Tests;

/// <summary>
/// The data plane learns its own public mapping: STUN Binding requests go out of the data-plane socket and their
/// responses share it (RFC 7983: STUN's first byte is 0–3, the VPN's types are 4–6).
/// </summary>
public class DataPlaneStunTests
{
    private static readonly IPEndPoint Server = IPEndPoint.Parse("192.0.2.53:3478");
    private static readonly IPEndPoint Mapped = IPEndPoint.Parse("198.51.100.9:40001");

    [Fact]
    public void TypeBytes_AreOutsideStunsRange()
    {
        Assert.All(new[] { WireFormat.HandshakeToListener, WireFormat.HandshakeToDialer, WireFormat.Data }, t => Assert.InRange(t, 4, 15));
        Assert.All(new byte[] { 0, 1, 2, 3 }, b => Assert.True(WireFormat.IsStun(b)));
        Assert.False(WireFormat.IsStun(WireFormat.Data));
    }

    [Fact]
    public async Task BindingRequest_FromTheDataPlaneSocket_ReturnsTheMappedAddress_AfterALostRequest()
    {
        await using var pair = await VpnPair.StartAsync();
        var requests = new List<StunMessage>();
        pair.Network.Filter = (from, to, datagram) =>
        {
            if (!to.EndPoint.Equals(Server))
            {
                return true;
            }
            StunMessage request = StunMessage.Parse(datagram);
            lock (requests)
            {
                requests.Add(request);
                if (requests.Count == 1)
                {
                    return false; // the first request is lost: the client retransmits
                }
            }
            // A stray answer first (another transaction), then the real one, as a server behind a NAT would see A.
            pair.Network.Send(UdpAddress.Create(Server), from, new StunMessageBuilder(StunMethod.Binding, StunClass.SuccessResponse, StunTransactionId.NewRandom())
                .AddXorAddress(StunAttributeType.XorMappedAddress, IPEndPoint.Parse("203.0.113.66:1")).AsSpan());
            pair.Network.Send(UdpAddress.Create(Server), from, new StunMessageBuilder(StunMethod.Binding, StunClass.SuccessResponse, request.TransactionId)
                .AddXorAddress(StunAttributeType.XorMappedAddress, Mapped).AddFingerprint().AsSpan());
            return false;
        };
        IPEndPoint? mapped = await pair.VpnA.QueryMappedAddressAsync(Server, VpnPair.Patience);
        Assert.Equal(Mapped, mapped);
        lock (requests)
        {
            Assert.True(requests.Count >= 2, "no retransmission");
            Assert.All(requests, r => Assert.Equal(StunMethod.Binding, r.Method));
            Assert.All(requests, r => Assert.Equal(StunClass.Request, r.Class));
            Assert.Single(requests.Select(r => r.TransactionId).Distinct()); // one transaction, retransmitted
        }
        Assert.True(pair.VpnA.Drops.Invalid >= 1, "the stray answer was not dropped");
    }

    [Fact]
    public async Task NoServer_IsNullAfterTheTimeout_AndTheTunnelStillWorks()
    {
        await using var pair = await VpnPair.StartAsync();
        Assert.Null(await pair.VpnA.QueryMappedAddressAsync(Server, TimeSpan.FromSeconds(1)));
        // A STUN-looking datagram from anyone is dropped, never taken for a handshake or a record.
        pair.Network.Send(UdpAddress.Create(Server), UdpAddress.Create(pair.TransportA.LocalEndPoint),
            new StunMessageBuilder(StunMethod.Binding, StunClass.SuccessResponse, StunTransactionId.NewRandom()).AddXorAddress(StunAttributeType.XorMappedAddress, Mapped).AsSpan());
        await VpnPair.WaitUntilAsync(() => pair.VpnA.Drops.Invalid >= 1, "the unsolicited STUN answer was dropped");
    }

    [Fact]
    public async Task Only_the_servers_own_answer_naming_a_unicast_address_is_taken()
    {
        await using var pair = await VpnPair.StartAsync();
        var other = UdpAddress.Create(IPEndPoint.Parse("192.0.2.99:3478"));
        var step = 0;
        pair.Network.Filter = (from, to, datagram) =>
        {
            if (!to.EndPoint.Equals(Server))
            {
                return true;
            }
            StunMessage request = StunMessage.Parse(datagram);
            byte[] Answer(IPEndPoint mapped) => new StunMessageBuilder(StunMethod.Binding, StunClass.SuccessResponse, request.TransactionId)
                .AddXorAddress(StunAttributeType.XorMappedAddress, mapped).AddFingerprint().ToArray();
            switch (Interlocked.Increment(ref step))
            {
                case 1:
                    // Someone who saw the request answers first, from elsewhere; then the server names a multicast address.
                    pair.Network.Send(other, from, Answer(IPEndPoint.Parse("203.0.113.66:1")));
                    pair.Network.Send(UdpAddress.Create(Server), from, Answer(IPEndPoint.Parse("239.1.2.3:40001")));
                    break;
                default:
                    pair.Network.Send(UdpAddress.Create(Server), from, Answer(Mapped));
                    break;
            }
            return false;
        };
        Assert.Equal(Mapped, await pair.VpnA.QueryMappedAddressAsync(Server, VpnPair.Patience));
        Assert.True(pair.VpnA.Drops.Invalid >= 2, $"dropped {pair.VpnA.Drops.Invalid}");
    }
}
