using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Pinhole.Vpn.DataPlane;
using static Pinhole.Vpn.Tests.TestPackets;

namespace Pinhole.Vpn.Tests;

/// <summary>
/// The relay path (/pinhole/vpn-relay/1.0.0) over a loopback TCP pair standing in for the node stream: a peer with no
/// UDP endpoint runs relayed; UDP dying moves the tunnel to the relay; UDP returning moves it back (by the roaming
/// rule); the send queue is bounded; hostile frames end the link, not the interface.
/// </summary>
public partial class RelayPathTests
{
    private static readonly IPEndPoint A = new(VpnPair.A, 1000);
    private static readonly IPEndPoint B = new(VpnPair.B, 2000);

    private static readonly VpnTimings Quick = VpnTimings.Default with
    {
        RekeyTimeout = TimeSpan.FromSeconds(1),
        KeepaliveTimeout = TimeSpan.FromMilliseconds(400),
        DirectProbeInterval = TimeSpan.FromMilliseconds(200),
        DirectHold = TimeSpan.FromSeconds(10), // far above a probe round trip, even on a loaded machine
        PingInterval = TimeSpan.MaxValue,
        ProbePathMtu = false,
        Tick = TimeSpan.FromMilliseconds(20),
    };

    /// <summary>Two connected loopback TCP streams.</summary>
    internal static async Task<(NetworkStream, NetworkStream)> StreamPairAsync()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var client = new TcpClient(AddressFamily.InterNetwork) { NoDelay = true };
        Task<TcpClient> accept = listener.AcceptTcpClientAsync();
        await client.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndpoint).Port);
        TcpClient server = await accept;
        server.NoDelay = true;
        return (client.GetStream(), server.GetStream());
    }

    private static byte[] Numbered(IPEndPoint from, IPEndPoint to, int n)
    {
        byte[] packet = Udp(from, to, 64);
        BinaryPrimitives.WriteInt32BigEndian(packet.AsSpan(28), n);
        FixTransportChecksum(packet);
        return packet;
    }

    private static VpnPeerStatus PeerOf(VpnInterface vpn) => vpn.GetStatus().Peers.Single();

    private static async Task<(Task<string> A, Task<string> B)> AttachAsync(VpnPair pair)
    {
        var (a, b) = await StreamPairAsync();
        return (pair.VpnA.AttachRelay(pair.IdentityB.PeerId, a), pair.VpnB.AttachRelay(pair.IdentityA.PeerId, b));
    }

    /// <summary>Injects numbered packets until one arrives on the other side (bounded): a lossy phase needs retries.</summary>
    private static async Task SendUntilDeliveredAsync(MemoryTunPair tuns, IPEndPoint from, IPEndPoint to, Func<bool> also, string what)
    {
        int n = 0;
        await VpnPair.WaitUntilAsync(() =>
        {
            while (tuns.To.Delivered.TryRead(out _))
            {
                tuns.Delivered = true;
            }
            if (tuns.Delivered && also())
            {
                return true;
            }
            tuns.From.Inject(Numbered(from, to, ++n));
            return false;
        }, what);
    }

    private sealed class MemoryTunPair(Tun.MemoryTun from, Tun.MemoryTun to)
    {
        internal Tun.MemoryTun From { get; } = from;
        internal Tun.MemoryTun To { get; } = to;
        internal bool Delivered { get; set; }
    }

    [Fact]
    public async Task APeerWithoutUdpEndpointsRunsOverTheRelay()
    {
        var network = new MemoryTransportNetwork { Filter = (_, _, _) => false }; // no UDP at all
        await using var pair = await VpnPair.StartAsync(timings: Quick, network: network,
            configure: (a, _) => a.Peers[0].Endpoint = null); // neither side knows a UDP endpoint
        await AttachAsync(pair);

        pair.TunA.Inject(Numbered(A, B, 1));
        byte[] delivered = await pair.TunB.NextDeliveredAsync(VpnPair.Patience);
        Assert.Equal(1, BinaryPrimitives.ReadInt32BigEndian(delivered.AsSpan(28)));
        pair.TunB.Inject(Numbered(B, A, 2));
        Assert.Equal(2, BinaryPrimitives.ReadInt32BigEndian((await pair.TunA.NextDeliveredAsync(VpnPair.Patience)).AsSpan(28)));

        VpnPeerStatus a = PeerOf(pair.VpnA), b = PeerOf(pair.VpnB);
        Assert.Equal("relayed", a.Path);
        Assert.Equal("relayed", b.Path);
        Assert.True(a.HasRelay && b.HasRelay);
        Assert.Null(a.Endpoint); // nothing direct to probe
        Assert.Equal(0, Interlocked.Read(ref network.Delivered));
    }

    [Fact]
    public async Task ANewRelayStreamCarriesARelayedPath()
    {
        // The node re-attaches a relay stream when its connection is replaced (a CI run of
        // DaemonNetworkVpnTests.VpnUpNetwork_BringsTheDaemonsVpnUpAndDown_WhileItRuns lost every ping after that).
        var network = new MemoryTransportNetwork { Filter = (_, _, _) => false }; // no UDP at all
        await using var pair = await VpnPair.StartAsync(timings: Quick, network: network,
            configure: (a, _) => a.Peers[0].Endpoint = null);
        var (firstA, firstB) = await AttachAsync(pair);
        // Until a handshake has run over the relay a packet may be dropped: send until one arrives (bounded).
        await SendUntilDeliveredAsync(new MemoryTunPair(pair.TunA, pair.TunB), A, B, () => true, "A reaches B over the first stream");
        Assert.Equal("relayed", PeerOf(pair.VpnA).Path);

        await AttachAsync(pair); // both sides replace their stream
        Assert.Equal("replaced by a new relay stream", await firstA.WaitAsync(VpnPair.Patience));
        await firstB.WaitAsync(VpnPair.Patience);
        // The session's keys stand, so the new stream carries records at once; before the fix none arrived in time.
        await SendUntilDeliveredAsync(new MemoryTunPair(pair.TunA, pair.TunB), A, B, () => true, "A reaches B over the new stream");
        await SendUntilDeliveredAsync(new MemoryTunPair(pair.TunB, pair.TunA), B, A, () => true, "B reaches A over the new stream");
        Assert.Equal("relayed", PeerOf(pair.VpnA).Path);
        Assert.Equal("relayed", PeerOf(pair.VpnB).Path);
    }

    [Fact]
    public async Task AnAnnouncementWhileRelayedIsProbed_OnlyItsAckMovesThePath()
    {
        bool udp = false;
        var network = new MemoryTransportNetwork { Filter = (_, _, _) => Volatile.Read(ref udp) };
        await using var pair = await VpnPair.StartAsync(timings: Quick, network: network,
            configure: (a, _) => a.Peers[0].Endpoint = null); // relayed from the start
        await AttachAsync(pair);
        await SendUntilDeliveredAsync(new MemoryTunPair(pair.TunB, pair.TunA), B, A, () => true, "B reaches A over the relay");
        Assert.Equal("relayed", PeerOf(pair.VpnB).Path);

        VpnPeerOptions Announcing(IPEndPoint at) => new()
        {
            PeerId = pair.IdentityA.PeerId, Name = "a", AllowedPrefixes = { Routing.IpPrefix.Parse("10.7.0.1/32"), Routing.IpPrefix.Parse("fd07::1/128") }, Endpoint = at,
        };

        // A announces an address nobody answers at (a private one behind its NAT): B stays on the working relay. Taking
        // the claim sent every record into the void until the dead-peer timer gave up on it.
        pair.VpnB.SetPeers([Announcing(IPEndPoint.Parse("198.51.100.9:51820"))]);
        Assert.Equal("relayed", PeerOf(pair.VpnB).Path);
        await SendUntilDeliveredAsync(new MemoryTunPair(pair.TunB, pair.TunA), B, A, () => true, "B still reaches A over the relay");
        Assert.Equal("relayed", PeerOf(pair.VpnB).Path);

        // A announces where it is, and UDP works: B's probe there is answered, and the ack moves B direct.
        Volatile.Write(ref udp, true);
        pair.VpnB.SetPeers([Announcing(pair.TransportA.LocalEndPoint)]);
        await SendUntilDeliveredAsync(new MemoryTunPair(pair.TunB, pair.TunA), B, A, () => PeerOf(pair.VpnB).Path == "direct", "B goes direct on the ack of its probe");
        Assert.Equal(pair.TransportA.LocalEndPoint, PeerOf(pair.VpnB).Endpoint);
    }

    [Fact]
    public async Task UdpDies_TheTunnelMovesToTheRelay_UdpReturns_ItMovesBack()
    {
        await using var pair = await VpnPair.StartAsync(timings: Quick);
        var ab = new MemoryTunPair(pair.TunA, pair.TunB);
        var ba = new MemoryTunPair(pair.TunB, pair.TunA);
        await SendUntilDeliveredAsync(ab, A, B, () => true, "A→B direct");
        // The relay is attached once the direct session is up: without it a handshake slowed past RekeyTimeout by a
        // loaded machine would (rightly) start the tunnel relayed, and this test is about the move, not the start.
        await AttachAsync(pair);
        Assert.Equal("direct", PeerOf(pair.VpnA).Path);
        Assert.True(PeerOf(pair.VpnA).HasRelay);

        // UDP between them is gone (an nft drop rule in the real lab): dead-peer detection, a failed UDP handshake,
        // then the relay. A keeps sending; B follows A's authentic records onto the relay.
        pair.Network.Filter = (_, _, _) => false;
        ab.Delivered = false;
        await SendUntilDeliveredAsync(ab, A, B, () => PeerOf(pair.VpnA).Path == "relayed" && PeerOf(pair.VpnB).Path == "relayed", "A→B over the relay");
        ba.Delivered = false;
        await SendUntilDeliveredAsync(ba, B, A, () => true, "B→A over the relay");
        Assert.Equal(pair.TransportB.LocalEndPoint, PeerOf(pair.VpnA).Endpoint); // the direct endpoint being probed
        Assert.True(PeerOf(pair.VpnA).PathChanges >= 1);

        // UDP is back: A's probe (an authentic record to B's direct endpoint) is acked by B over UDP, which moves A;
        // A's UDP records make B probe in turn, A's ack moves B. Records still queued in the relay move nobody back:
        // exactly one change on each side (the hysteresis, PathPolicyTests).
        long changes = PeerOf(pair.VpnA).PathChanges;
        long changesB = PeerOf(pair.VpnB).PathChanges;
        pair.Network.Filter = null;
        ab.Delivered = false;
        await SendUntilDeliveredAsync(ab, A, B, () => PeerOf(pair.VpnA).Path == "direct" && PeerOf(pair.VpnB).Path == "direct", "back to direct");
        Assert.Equal(pair.TransportB.LocalEndPoint, PeerOf(pair.VpnA).Endpoint);
        // And the tunnel carries data again without a new session being needed.
        ba.Delivered = false;
        await SendUntilDeliveredAsync(ba, B, A, () => true, "B→A direct again");
        for (int i = 0; i < 50; i++) // traffic both ways while the relay drains
        {
            pair.TunA.Inject(Numbered(A, B, 1000 + i));
            pair.TunB.Inject(Numbered(B, A, 2000 + i));
        }
        ab.Delivered = false;
        await SendUntilDeliveredAsync(ab, A, B, () => true, "A→B after the burst");
        Assert.Equal(("direct", "direct"), (PeerOf(pair.VpnA).Path, PeerOf(pair.VpnB).Path));
        Assert.Equal((changes + 1, changesB + 1), (PeerOf(pair.VpnA).PathChanges, PeerOf(pair.VpnB).PathChanges));
    }

    [Fact]
    public async Task HostileFramesEndTheLink_NotTheInterface()
    {
        await using var pair = await VpnPair.StartAsync(timings: Quick);
        var (mine, theirs) = await StreamPairAsync();
        Task<string> closed = pair.VpnA.AttachRelay(pair.IdentityB.PeerId, mine);
        Assert.True(PeerOf(pair.VpnA).HasRelay);

        // A forged data record (valid framing, no valid key) is dropped as any UDP datagram would be: the link stays.
        byte[] forged = new byte[RelayFrame.HeaderLength + 40];
        RelayFrame.Write(forged, [WireFormat.Data, .. new byte[39]]);
        await theirs.WriteAsync(forged);
        // Then a STUN-typed frame: a protocol violation, the link ends with the reason.
        await theirs.WriteAsync(new byte[] { 0, 3, 0x01, 0x01, 0x00 });
        string reason = await closed.WaitAsync(VpnPair.Patience);
        Assert.Contains("type 0x01", reason, StringComparison.Ordinal);
        Assert.False(PeerOf(pair.VpnA).HasRelay);
        Assert.Equal(0, await theirs.ReadAsync(new byte[16]).AsTask().WaitAsync(VpnPair.Patience)); // our side closed it

        // The interface still works over UDP.
        await SendUntilDeliveredAsync(new MemoryTunPair(pair.TunA, pair.TunB), A, B, () => true, "A→B after the hostile link");
        theirs.Dispose();
    }

    [Fact]
    public async Task AnUnknownPeerIsRefused()
    {
        await using var pair = await VpnPair.StartAsync(timings: Quick);
        using var stranger = NodeIdentity.Generate();
        var (mine, theirs) = await StreamPairAsync();
        Assert.Throws<ArgumentException>(() => { _ = pair.VpnA.AttachRelay(stranger.PeerId, mine); });
        mine.Dispose();
        theirs.Dispose();
    }

    [Fact]
    public async Task TheSendQueueIsBounded_AndNeverBlocks()
    {
        var network = new MemoryTransportNetwork();
        using var transport = new RelayTransport(network.Create(IPEndPoint.Parse("192.0.2.9:1")));
        var stuck = new StuckStream();
        UdpAddress relay = transport.Attach(stuck, queueCapacity: 4);
        Assert.True(RelayTransport.IsRelay(relay));
        Assert.True(transport.SendOne(relay, [WireFormat.Data, 0xFF]));
        await VpnPair.WaitUntilAsync(() => stuck.Writing, "the writer holds the first frame");
        int accepted = 0;
        for (int i = 0; i < 10; i++)
        {
            accepted += transport.SendOne(relay, [WireFormat.Data, (byte)i]) ? 1 : 0;
        }
        Assert.Equal(4, accepted); // the writer is stuck on the first frame; four more fit
        Assert.Equal(6, Interlocked.Read(ref transport.DroppedQueueFull));
        // A relay address with no link refuses at once, and a real address still goes to UDP.
        Assert.False(transport.SendOne(UdpAddress.Create(relay.Address + 1, relay.Port), [WireFormat.Data]));
        Assert.False(RelayTransport.IsRelay(UdpAddress.Create(IPEndPoint.Parse("[2001:db8::1]:1"))));
    }

    /// <summary>A stream whose writes never complete (a peer that stopped reading) until disposed.</summary>
    private sealed class StuckStream : Stream
    {
        private readonly TaskCompletionSource _disposed = new(TaskCreationOptions.RunContinuationsAsynchronously);

        internal bool Writing { get; private set; }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await _disposed.Task.WaitAsync(cancellationToken);
            return 0;
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Writing = true;
            await _disposed.Task.WaitAsync(cancellationToken);
            throw new IOException("closed");
        }

        protected override void Dispose(bool disposing)
        {
            _disposed.TrySetResult();
            base.Dispose(disposing);
        }
    }
}
