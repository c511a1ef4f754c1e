using System.Buffers.Binary;
using System.Net;
using Pinhole.Vpn.DataPlane;
using static Pinhole.Vpn.Tests.TestPackets;

namespace Pinhole.Vpn.Tests;

/// <summary>Two interfaces end to end over in-memory doubles: handshake, order, cryptokey routing, roaming.</summary>
public class PipelineTests
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

    [Fact]
    public async Task PacketsArriveInOrder_AcrossTheHandshake_BothWays()
    {
        await using var pair = await VpnPair.StartAsync();
        // The first packets are queued while A dials (up to 128); none may be lost or overtaken.
        for (int i = 0; i < 100; i++)
        {
            pair.TunA.Inject(Numbered(A, B, i));
        }
        for (int i = 0; i < 100; i++)
        {
            byte[] got = await pair.TunB.NextDeliveredAsync(VpnPair.Patience);
            Assert.Equal(i, Number(got));
        }
        for (int i = 100; i < 300; i++)
        {
            pair.TunA.Inject(Numbered(A, B, i));
        }
        for (int i = 100; i < 300; i++)
        {
            byte[] got = await pair.TunB.NextDeliveredAsync(VpnPair.Patience);
            Assert.Equal(i, Number(got));
            Assert.True(TransportChecksumValid(got));
        }
        for (int i = 0; i < 50; i++)
        {
            pair.TunB.Inject(Numbered(B, A, i));
        }
        for (int i = 0; i < 50; i++)
        {
            Assert.Equal(i, Number(await pair.TunA.NextDeliveredAsync(VpnPair.Patience)));
        }
        var status = pair.VpnA.GetStatus().Peers.Single();
        Assert.Equal(pair.IdentityB.PeerId, status.PeerId);
        Assert.Equal(300, status.TxPackets);
        Assert.True(status.RxPackets >= 50);
        Assert.NotNull(status.LastHandshake);
        Assert.Equal(1, status.Handshakes);
        var statusB = pair.VpnB.GetStatus().Peers.Single();
        Assert.Equal(pair.TransportA.LocalEndPoint, statusB.Endpoint); // learned from the handshake
    }

    [Fact]
    public async Task WrongInnerSource_IsDroppedByTheReceiver()
    {
        await using var pair = await VpnPair.StartAsync();
        pair.TunA.Inject(Numbered(A, B, 1));
        Assert.Equal(1, Number(await pair.TunB.NextDeliveredAsync(VpnPair.Patience)));

        // A's routing sends it to B (destination is B's), but B only accepts A's own address as source.
        pair.TunA.Inject(Numbered(new IPEndPoint(IPAddress.Parse("10.7.0.99"), 1), B, 2));
        pair.TunA.Inject(Numbered(new IPEndPoint(IPAddress.Parse("10.7.0.2"), 1), B, 3)); // B's own address, spoofed by A
        pair.TunA.Inject(Numbered(A, B, 4));
        Assert.Equal(4, Number(await pair.TunB.NextDeliveredAsync(VpnPair.Patience)));
        Assert.Equal(2, pair.VpnB.FindPeer(pair.IdentityA.PeerId)!.DroppedSource);
        Assert.False(pair.TunB.Delivered.TryRead(out _));
    }

    [Fact]
    public async Task PacketsWithoutRoute_AreDropped_AndOthersFlow()
    {
        await using var pair = await VpnPair.StartAsync();
        pair.TunA.Inject(Numbered(A, new IPEndPoint(IPAddress.Parse("10.9.9.9"), 1), 1));
        pair.TunA.Inject(Numbered(A, B, 2));
        Assert.Equal(2, Number(await pair.TunB.NextDeliveredAsync(VpnPair.Patience)));
        Assert.Equal(1, pair.VpnA.Drops.NoRoute);
    }

    [Fact]
    public async Task Roaming_EndpointMovesAfterOneAuthenticRecord_WithoutANewHandshake()
    {
        await using var pair = await VpnPair.StartAsync();
        pair.TunA.Inject(Numbered(A, B, 1));
        await pair.TunB.NextDeliveredAsync(VpnPair.Patience);
        pair.TunB.Inject(Numbered(B, A, 2));
        await pair.TunA.NextDeliveredAsync(VpnPair.Patience);

        // A moves (new address and port). B keeps sending to the old address until A's first record arrives.
        var moved = IPEndPoint.Parse("198.51.100.7:40000");
        pair.Network.Move(pair.TransportA, moved);
        // A forged datagram from the new address does not move B's endpoint: only authentic records do.
        pair.Network.Send(UdpAddress.Create(IPEndPoint.Parse("203.0.113.9:1")), UdpAddress.Create(pair.TransportB.LocalEndPoint), new byte[64]);
        pair.TunA.Inject(Numbered(A, B, 3));
        Assert.Equal(3, Number(await pair.TunB.NextDeliveredAsync(VpnPair.Patience)));
        var peerA = pair.VpnB.GetStatus().Peers.Single();
        Assert.Equal(moved, peerA.Endpoint);
        pair.TunB.Inject(Numbered(B, A, 4));
        Assert.Equal(4, Number(await pair.TunA.NextDeliveredAsync(VpnPair.Patience)));
        Assert.Equal(1, pair.VpnA.GetStatus().Peers.Single().Handshakes);
        Assert.Equal(1, pair.VpnB.GetStatus().Peers.Single().Handshakes);
    }

    [Fact]
    public async Task ReplayedAndForgedRecords_AreNotDelivered()
    {
        var captured = new List<(UdpAddress From, byte[] Datagram)>();
        var network = new MemoryTransportNetwork();
        network.Filter = (from, to, datagram) =>
        {
            if (datagram[0] == WireFormat.Data && datagram.Length > 60)
            {
                lock (captured)
                {
                    captured.Add((from, datagram.ToArray()));
                }
            }
            return true;
        };
        await using var pair = await VpnPair.StartAsync(network: network);
        pair.TunA.Inject(Numbered(A, B, 1));
        Assert.Equal(1, Number(await pair.TunB.NextDeliveredAsync(VpnPair.Patience)));
        var from = UdpAddress.Create(pair.TransportA.LocalEndPoint);
        var to = UdpAddress.Create(pair.TransportB.LocalEndPoint);
        byte[] record;
        lock (captured)
        {
            // A's record to B: B's own records (replies, probes) carry A's receiver index and would be "unknown" at B.
            record = captured.Last(c => c.From.Equals(from)).Datagram;
        }
        for (int i = 0; i < 5; i++)
        {
            network.Send(from, to, record); // replay
        }
        byte[] flipped = record.ToArray();
        flipped[40] ^= 1;
        network.Send(from, to, flipped); // tampered, and its counter already seen: refused before decrypting
        byte[] forged = record.ToArray();
        forged[12] ^= 0x40;
        network.Send(from, to, forged); // a fresh counter: fails authentication
        byte[] truncated = record[..20];
        network.Send(from, to, truncated);
        pair.TunA.Inject(Numbered(A, B, 2));
        Assert.Equal(2, Number(await pair.TunB.NextDeliveredAsync(VpnPair.Patience)));
        Assert.False(pair.TunB.Delivered.TryRead(out _));
        await VpnPair.WaitUntilAsync(() => pair.VpnB.Drops.AuthFailures >= 1, "the forged record counted as an authentication failure");
    }

    [Fact]
    public async Task SimultaneousDial_BothSidesEndUpWorking()
    {
        await using var pair = await VpnPair.StartAsync(bothDial: true);
        pair.TunA.Inject(Numbered(A, B, 1));
        pair.TunB.Inject(Numbered(B, A, 2));
        Assert.Equal(1, Number(await pair.TunB.NextDeliveredAsync(VpnPair.Patience)));
        Assert.Equal(2, Number(await pair.TunA.NextDeliveredAsync(VpnPair.Patience)));
        for (int i = 10; i < 20; i++)
        {
            pair.TunA.Inject(Numbered(A, B, i));
            pair.TunB.Inject(Numbered(B, A, i));
        }
        for (int i = 10; i < 20; i++)
        {
            Assert.Equal(i, Number(await pair.TunB.NextDeliveredAsync(VpnPair.Patience)));
            Assert.Equal(i, Number(await pair.TunA.NextDeliveredAsync(VpnPair.Patience)));
        }
    }

    [Fact]
    public async Task UnknownPeer_IsRefused()
    {
        var network = new MemoryTransportNetwork();
        await using var pair = await VpnPair.StartAsync(network: network);
        using var stranger = NodeIdentity.Generate();
        var transport = network.Create(IPEndPoint.Parse("192.0.2.66:1"));
        var options = new VpnInterfaceOptions { Identity = stranger, InterfaceName = "s0" };
        options.Peers.Add(new VpnPeerOptions { PeerId = pair.IdentityB.PeerId, AllowedPrefixes = { Routing.IpPrefix.Parse("10.7.0.2/32") }, Endpoint = pair.TransportB.LocalEndPoint });
        using var tun = new Tun.MemoryTun("s0");
        await using var vpn = await VpnInterface.StartOverAsync(options, tun, transport);
        tun.Inject(Numbered(new IPEndPoint(IPAddress.Parse("10.7.0.1"), 1), B, 9));
        var peer = vpn.FindPeer(pair.IdentityB.PeerId)!;
        await VpnPair.WaitUntilAsync(() => peer.LastHandshakeError is not null, "the stranger's handshake to fail");
        Assert.Equal(0, peer.Handshakes);
        Assert.False(pair.TunB.Delivered.TryRead(out _));
    }
}
