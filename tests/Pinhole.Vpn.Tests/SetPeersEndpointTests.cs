using System.Buffers.Binary;
using System.Net;
using Pinhole.Vpn.DataPlane;
using Pinhole.Vpn.Routing;
using static Pinhole.Vpn.Tests.TestPackets;

namespace Pinhole.Vpn.Tests;

/// <summary>
/// Coordinator mode replaces the peer set on every membership change: a kept peer takes a newly announced endpoint
/// (field 7 of a new record) but keeps where it roamed to when the same announcement comes again (a NATed member
/// announces its private address; its reachable one is learned from its authentic records). A new announcement
/// does not replace an endpoint that an authentic record proved within DirectHold; it is where the dead-peer
/// handshake looks once that endpoint falls silent.
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

    // Short dead-peer detection (KeepaliveTimeout + RekeyTimeout = 2 s) for the fallback; no pings (a pong would answer).
    private static readonly VpnTimings Short = new() { KeepaliveTimeout = TimeSpan.FromSeconds(1), RekeyTimeout = TimeSpan.FromSeconds(1), PingInterval = TimeSpan.MaxValue, ProbePathMtu = false };

    private sealed class DropDataFromA
    {
        public volatile bool Drop;
        public volatile MemoryTransport? A;

        public bool Filter(UdpAddress from, UdpAddress to, byte[] datagram) =>
            !(Drop && A is { } a && from.EndPoint.Equals(a.LocalEndPoint) && datagram.Length > 0 && datagram[0] == WireFormat.Data);
    }

    [Fact]
    public async Task ANewAnnouncementMovesTheEndpoint_TheSameOneKeepsTheRoamedOne_AProvenOneWinsUntilItFallsSilent()
    {
        var drop = new DropDataFromA();
        await using var pair = await VpnPair.StartAsync(timings: Short, network: new MemoryTransportNetwork { Filter = drop.Filter }); // B knows no endpoint for A
        drop.A = pair.TransportA;
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

        // A new announcement that comes after A's records proved where it is (as a NATed member's private address does,
        // when its first records beat its announcement) leaves the proven endpoint in place, on the same peer.
        var announced = IPEndPoint.Parse("203.0.113.7:51820");
        pair.VpnB.SetPeers([PeerA(pair, announced)]);
        Assert.Equal(moved, EndpointOfA(pair));
        var kept = pair.VpnB.GetStatus().Peers.Single();
        Assert.True(kept.RxBytes > 0 && kept.LastHandshake is not null, "the peer was replaced rather than kept");

        // A is now at the announced address, and B cannot roam by A's records (they are dropped): once the proven endpoint
        // stays silent, B's dead-peer handshake goes to the announced address, and B's packets reach A there.
        drop.Drop = true;
        pair.Network.Move(pair.TransportA, announced);
        var deadline = DateTime.UtcNow + VpnPair.Patience;
        for (int n = 4; ; n++)
        {
            pair.TunB.Inject(Numbered(B, A, n));
            try
            {
                Assert.True(Number(await pair.TunA.NextDeliveredAsync(TimeSpan.FromMilliseconds(500))) >= 4);
                break;
            }
            catch (OperationCanceledException) when (DateTime.UtcNow < deadline)
            {
            }
        }
        Assert.Equal(announced, EndpointOfA(pair));
    }

    [Fact]
    public async Task ANewAnnouncementMovesAnEndpointNotProvenWithinDirectHold()
    {
        // No pings or path-MTU probes: a record from A after the announcement would move B back to A by roaming.
        await using var pair = await VpnPair.StartAsync(timings: new VpnTimings { DirectHold = TimeSpan.Zero, PingInterval = TimeSpan.MaxValue, ProbePathMtu = false });
        pair.TunA.Inject(Numbered(A, B, 1)); // B learns A's endpoint from the handshake and the record
        Assert.Equal(1, Number(await pair.TunB.NextDeliveredAsync(VpnPair.Patience)));
        Assert.Equal(pair.TransportA.LocalEndPoint, EndpointOfA(pair));

        var announced = IPEndPoint.Parse("203.0.113.7:51820");
        pair.VpnB.SetPeers([PeerA(pair, announced)]);
        Assert.Equal(announced, EndpointOfA(pair));
        var kept = pair.VpnB.GetStatus().Peers.Single();
        Assert.True(kept.RxBytes > 0 && kept.LastHandshake is not null, "the peer was replaced rather than kept");
    }
}
