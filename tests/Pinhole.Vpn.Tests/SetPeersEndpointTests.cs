using System.Buffers.Binary;
using System.Net;
using Pinhole.Vpn.Routing;
using static Pinhole.Vpn.Tests.TestPackets;

namespace Pinhole.Vpn.Tests;

/// <summary>
/// Coordinator mode replaces the peer set on every membership change: a kept peer takes a newly announced endpoint
/// (field 7 of a new record) but keeps where it roamed to when the same announcement comes again (a NATed member
/// announces its private address; its reachable one is learned from its authentic records).
/// </summary>
public class SetPeersEndpointTests
{
    private static readonly IPEndPoint A = new(VpnPair.A, 1000);
    private static readonly IPEndPoint B = new(VpnPair.B, 2000);

    private static byte[] Numbered(IPEndPoint from, IPEndPoint to, int n)
    {
        byte[] packet = Udp(from, to, 64);
        BinaryPrimitives.WriteInt32BigEndian(packet.AsSpan(28), n);
        FixTransportChecksum(packet);
        return packet;
    }

    private static int Number(byte[] packet) => BinaryPrimitives.ReadInt32BigEndian(packet.AsSpan(28));

    private static VpnPeerOptions PeerA(VpnPair pair, IPEndPoint? announced) =>
        new() { PeerId = pair.IdentityA.PeerId, Name = "a", AllowedPrefixes = { IpPrefix.Parse("10.7.0.1/32"), IpPrefix.Parse("fd07::1/128") }, Endpoint = announced };

    private static IPEndPoint? EndpointOfA(VpnPair pair) => pair.VpnB.GetStatus().Peers.Single().Endpoint;

    [Fact]
    public async Task ANewAnnouncementMovesTheEndpoint_TheSameOneKeepsTheRoamedOne()
    {
        await using var pair = await VpnPair.StartAsync(); // B knows no endpoint for A
        Assert.Null(EndpointOfA(pair));

        // A's record now names its data plane: B takes it, and can send first.
        pair.VpnB.SetPeers([PeerA(pair, pair.TransportA.LocalEndPoint)]);
        Assert.Equal(pair.TransportA.LocalEndPoint, EndpointOfA(pair));
        pair.TunB.Inject(Numbered(B, A, 1));
        Assert.Equal(1, Number(await pair.TunA.NextDeliveredAsync(VpnPair.Patience)));

        // A moves (as behind a NAT): B follows its first authentic record...
        var moved = IPEndPoint.Parse("198.51.100.7:40000");
        pair.Network.Move(pair.TransportA, moved);
        pair.TunA.Inject(Numbered(A, B, 2));
        Assert.Equal(2, Number(await pair.TunB.NextDeliveredAsync(VpnPair.Patience)));
        Assert.Equal(moved, EndpointOfA(pair));

        // ... and an unrelated membership change (the same announcement again) does not send it back to the old address.
        pair.VpnB.SetPeers([PeerA(pair, IPEndPoint.Parse("192.0.2.1:51820"))]); // A's first address, as announced before
        Assert.Equal(moved, EndpointOfA(pair));
        // Neither does a record without field 7.
        pair.VpnB.SetPeers([PeerA(pair, null)]);
        Assert.Equal(moved, EndpointOfA(pair));
        pair.TunB.Inject(Numbered(B, A, 3));
        Assert.Equal(3, Number(await pair.TunA.NextDeliveredAsync(VpnPair.Patience)));

        // A new announcement does move it, on the same peer (its session and counters are kept, not replaced).
        var announced = IPEndPoint.Parse("203.0.113.7:51820");
        pair.VpnB.SetPeers([PeerA(pair, announced)]);
        Assert.Equal(announced, EndpointOfA(pair));
        var kept = pair.VpnB.GetStatus().Peers.Single();
        Assert.True(kept.RxBytes > 0 && kept.LastHandshake is not null, "the peer was replaced rather than kept");
    }
}
