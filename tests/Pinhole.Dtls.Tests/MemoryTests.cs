using System.Net;


namespace Pinhole.Dtls.Tests;

public class MemoryTests
{
    private static readonly IPEndPoint ServerAddress = new(IPAddress.Parse("10.0.0.1"), 4000);
    private static readonly IPEndPoint ClientAddress = new(IPAddress.Parse("10.0.0.2"), 5000);

    private static Pair MemoryPair(MemoryDatagramNetwork network, Action<DtlsEndpointOptions>? configure = null, NodeIdentity? server = null, NodeIdentity? client = null)
        => Pair.Create(network.CreateBind(ServerAddress), network.CreateBind(ClientAddress), o =>
        {
            o.InitialRetransmitTimeout = TimeSpan.FromMilliseconds(50);
            o.MaxRetransmitTimeout = TimeSpan.FromMilliseconds(400);
            configure?.Invoke(o);
        }, server, client);

    [Fact]
    public async Task LossyNetwork_HandshakeCompletes_PacketsAuthenticAndNeverDuplicated()
    {
        var network = new MemoryDatagramNetwork(new MemoryDatagramNetworkOptions { LossRate = 0.05, ReorderRate = 0.1, DuplicateRate = 0.1, Seed = 7 });
        await using Pair pair = MemoryPair(network);
        (DtlsConnection client, DtlsConnection server) = await pair.ConnectAsync();

        const int count = 500;
        for (int i = 0; i < count; i++)
        {
            byte[] packet = new byte[100];
            BitConverter.TryWriteBytes(packet, i);
            packet.AsSpan(4).Fill((byte)i);
            await client.SendAsync(packet);
        }
        byte[] end = [0xFF, 0xFF, 0xFF, 0x7F];
        var seen = new HashSet<int>();
        using var cts = new CancellationTokenSource(Pair.Patience);
        // The end marker may itself be lost: resend it until it arrives.
        using var marker = new Timer(_ => _ = client.SendAsync(end).AsTask(), null, TimeSpan.Zero, TimeSpan.FromMilliseconds(100));
        while (true)
        {
            byte[] packet = await server.ReceiveAsync(cts.Token);
            int id = BitConverter.ToInt32(packet);
            if (id == int.MaxValue)
            {
                break;
            }
            Assert.Equal(100, packet.Length);
            Assert.All(packet[4..], b => Assert.Equal((byte)id, b));
            Assert.True(seen.Add(id), $"packet {id} was delivered twice");
        }
        Assert.InRange(seen.Count, count * 80 / 100, count);
    }

    [Fact]
    public async Task HeavyLoss_HandshakeCompletesByRetransmission()
    {
        var network = new MemoryDatagramNetwork(new MemoryDatagramNetworkOptions { LossRate = 0.3, Seed = 5 });
        await using Pair pair = MemoryPair(network, o => o.HandshakeTimeout = TimeSpan.FromSeconds(15));
        (DtlsConnection client, DtlsConnection server) = await pair.ConnectAsync();
        Assert.Equal(pair.ServerIdentity.PeerId, client.RemotePeer);
        Assert.True(network.Dropped > 0, "the seed should have dropped some handshake datagrams");
        network.Options.LossRate = 0;
        await client.SendAsync(new byte[] { 1 });
        using var cts = new CancellationTokenSource(Pair.Patience);
        Assert.Equal(new byte[] { 1 }, await server.ReceiveAsync(cts.Token));
    }

    [Fact]
    public async Task EveryDatagramDuplicated_EachPacketDeliveredOnce()
    {
        var network = new MemoryDatagramNetwork(new MemoryDatagramNetworkOptions { DuplicateRate = 1.0 });
        await using Pair pair = MemoryPair(network);
        (DtlsConnection client, DtlsConnection server) = await pair.ConnectAsync();
        using var cts = new CancellationTokenSource(Pair.Patience);
        for (int i = 0; i < 100; i++)
        {
            await client.SendAsync(new[] { (byte)i });
        }
        for (int i = 0; i < 100; i++)
        {
            Assert.Equal(new[] { (byte)i }, await server.ReceiveAsync(cts.Token));
        }
        await client.SendAsync(new byte[] { 200, 200 });
        Assert.Equal(new byte[] { 200, 200 }, await server.ReceiveAsync(cts.Token));
    }

    [Fact]
    public async Task ReplayedRecord_IsNotDeliveredAgain()
    {
        var network = new MemoryDatagramNetwork();
        await using Pair pair = MemoryPair(network);
        (DtlsConnection client, DtlsConnection server) = await pair.ConnectAsync();
        var captured = new List<byte[]>();
        network.Observer = (from, to, data) => { if (from.Equals(ClientAddress)) { lock (captured) { captured.Add(data.ToArray()); } } };
        using var cts = new CancellationTokenSource(Pair.Patience);
        await client.SendAsync(new byte[] { 1 });
        Assert.Equal(new byte[] { 1 }, await server.ReceiveAsync(cts.Token));
        network.Observer = null;
        byte[] record = Assert.Single(captured);
        for (int i = 0; i < 5; i++)
        {
            network.Inject(ClientAddress, ServerAddress, record);
        }
        await client.SendAsync(new byte[] { 2 });
        Assert.Equal(new byte[] { 2 }, await server.ReceiveAsync(cts.Token));
    }

    [Fact]
    public async Task MalformedRecords_AreDropped_LiveSessionUnharmed()
    {
        var network = new MemoryDatagramNetwork();
        await using Pair pair = MemoryPair(network);
        (DtlsConnection client, DtlsConnection server) = await pair.ConnectAsync();
        byte[]? appRecord = null;
        network.Observer = (from, to, data) => { if (from.Equals(ClientAddress)) { appRecord = data.ToArray(); } };
        using var cts = new CancellationTokenSource(Pair.Patience);
        await client.SendAsync(new byte[] { 9, 9, 9 });
        Assert.Equal(new byte[] { 9, 9, 9 }, await server.ReceiveAsync(cts.Token));
        network.Observer = null;
        Assert.NotNull(appRecord);

        var random = new Random(3);
        var junk = new List<byte[]>
        {
            Array.Empty<byte>(),
            new byte[] { 23 },
            new byte[] { 23, 0xFE, 0xFD, 0, 1, 0, 0, 0, 0, 0, 9, 0xFF, 0xFF }, // claims 65535 bytes
            new byte[] { 22, 0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1 },    // epoch-0 handshake, truncated ClientHello
            new byte[] { 21, 0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 40 }, // plaintext fatal alert
        };
        for (int i = 0; i < 50; i++)
        {
            byte[] noise = new byte[random.Next(1, 1500)];
            random.NextBytes(noise);
            junk.Add(noise);
            byte[] flipped = (byte[])appRecord!.Clone();
            flipped[random.Next(13, flipped.Length)] ^= (byte)(1 << random.Next(8));
            junk.Add(flipped);
            byte[] truncated = appRecord[..random.Next(1, appRecord.Length)];
            junk.Add(truncated);
        }
        foreach (byte[] datagram in junk)
        {
            network.Inject(ClientAddress, ServerAddress, datagram);      // spoofed as the live peer
            network.Inject(new IPEndPoint(IPAddress.Parse("10.9.9.9"), 1), ServerAddress, datagram); // unknown source
            network.Inject(ServerAddress, ClientAddress, datagram);      // and the other way
        }

        await client.SendAsync(new byte[] { 7 });
        Assert.Equal(new byte[] { 7 }, await server.ReceiveAsync(cts.Token));
        await server.SendAsync(new byte[] { 8 });
        Assert.Equal(new byte[] { 8 }, await client.ReceiveAsync(cts.Token));
        Assert.Equal(1, pair.Server.SessionCount);
        Assert.Null(server.CloseReason);
    }

    [Fact]
    public async Task SpoofedClientHelloFlood_AllocatesNoSessionState()
    {
        var network = new MemoryDatagramNetwork();
        await using Pair pair = MemoryPair(network);
        var hellos = new List<byte[]>();
        network.Observer = (from, to, data) => { if (from.Equals(ClientAddress)) { lock (hellos) { hellos.Add(data.ToArray()); } } };
        (DtlsConnection client, DtlsConnection server) = await pair.ConnectAsync();
        network.Observer = null;
        await client.CloseAsync();
        await server.Closed.WaitAsync(Pair.Patience);
        // hellos[0]: ClientHello without cookie; hellos[1]: ClientHello echoing the cookie issued to ClientAddress.
        byte[] first = hellos[0];
        byte[] withCookie = hellos[1];
        Assert.True(Internal.DtlsRecord.IsClientHello(first));
        Assert.True(Internal.DtlsRecord.IsClientHello(withCookie));

        long created = pair.Server.NativeSessionsCreated;
        long hvrBefore = pair.Server.Stateless!.HelloVerifyRequests;
        const int flood = 3000;
        for (int i = 0; i < flood; i++)
        {
            var spoofed = new IPEndPoint(IPAddress.Parse($"10.1.{i / 250}.{i % 250 + 1}"), 1024 + i);
            network.Inject(spoofed, ServerAddress, i % 2 == 0 ? first : withCookie);
        }
        // Let the receive loop work through the flood, then check it left nothing behind.
        using var cts = new CancellationTokenSource(Pair.Patience);
        while (pair.Server.Stateless!.HelloVerifyRequests - hvrBefore < flood)
        {
            await Task.Delay(10, cts.Token);
        }
        Assert.Equal(0, pair.Server.SessionCount);
        Assert.Equal(created, pair.Server.NativeSessionsCreated);
        Assert.Equal(1, pair.Server.Stateless.RateLimiterEntries); // only the real client, which proved its address

        // A real client still gets in.
        await using DtlsEndpoint late = DtlsEndpoint.Create(new DtlsEndpointOptions
        {
            Identity = pair.ClientIdentity,
            Bind = network.CreateBind(new IPEndPoint(IPAddress.Parse("10.0.0.3"), 6000)),
        });
        Task<DtlsConnection> accept = pair.Listener.AcceptAsync(cts.Token).AsTask();
        await using DtlsConnection again = await late.ConnectAsync(ServerAddress, pair.ServerIdentity.PeerId, cts.Token);
        Assert.Equal(pair.ClientIdentity.PeerId, (await accept).RemotePeer);
    }

    [Fact]
    public async Task AcceptPeerRefuses_DialFailsInsideTheHandshake_AndNothingIsAccepted()
    {
        var network = new MemoryDatagramNetwork();
        using NodeIdentity admitted = NodeIdentity.Generate();
        var asked = new List<(PeerId Peer, System.Net.EndPoint From)>();
        await using Pair pair = MemoryPair(network, o =>
        {
            if (o.Bind!.LocalEndPoint.Equals(ServerAddress))
            {
                o.AcceptPeer = (peer, from) => { lock (asked) { asked.Add((peer, from)); } return peer.Equals(admitted.PeerId); };
            }
        });
        using var cts = new CancellationTokenSource(Pair.Patience);
        Task<DtlsConnection> accept = pair.Listener.AcceptAsync(cts.Token).AsTask();

        PeerException e = await Assert.ThrowsAsync<PeerException>(() => pair.Client.ConnectAsync(ServerAddress, pair.ServerIdentity.PeerId, cts.Token));
        Assert.NotEqual(PeerError.Timeout, e.Error); // refused by an alert, not left to time out
        lock (asked)
        {
            (PeerId peer, System.Net.EndPoint from) = Assert.Single(asked);
            Assert.Equal(pair.ClientIdentity.PeerId, peer);
            Assert.Equal(ClientAddress, from);
        }
        Assert.False(accept.IsCompleted);

        // The admitted peer, from another address, gets in; it is the first connection the listener yields.
        await using DtlsEndpoint friend = DtlsEndpoint.Create(new DtlsEndpointOptions
        {
            Identity = admitted,
            Bind = network.CreateBind(new IPEndPoint(IPAddress.Parse("10.0.0.3"), 6000)),
        });
        await using DtlsConnection connection = await friend.ConnectAsync(ServerAddress, pair.ServerIdentity.PeerId, cts.Token);
        await using DtlsConnection accepted = await accept.WaitAsync(cts.Token);
        Assert.Equal(admitted.PeerId, accepted.RemotePeer);
    }

    [Fact]
    public async Task AcceptPeerThatThrows_Refuses()
    {
        var network = new MemoryDatagramNetwork();
        await using Pair pair = MemoryPair(network, o =>
        {
            if (o.Bind!.LocalEndPoint.Equals(ServerAddress))
            {
                o.AcceptPeer = (_, _) => throw new InvalidOperationException("policy store unavailable");
            }
        });
        using var cts = new CancellationTokenSource(Pair.Patience);
        Task<DtlsConnection> accept = pair.Listener.AcceptAsync(cts.Token).AsTask();
        await Assert.ThrowsAsync<PeerException>(() => pair.Client.ConnectAsync(ServerAddress, pair.ServerIdentity.PeerId, cts.Token));
        Assert.False(accept.IsCompleted);
    }

    [Fact]
    public async Task WrongPeerAtAddress_ClientRefuses_NamingBothIds()
    {
        var network = new MemoryDatagramNetwork();
        await using Pair pair = MemoryPair(network);
        using NodeIdentity expected = NodeIdentity.Generate();
        using var cts = new CancellationTokenSource(Pair.Patience);
        PeerException e = await Assert.ThrowsAsync<PeerException>(() => pair.Client.ConnectAsync(ServerAddress, expected.PeerId, cts.Token));
        Assert.Equal(PeerError.PeerMismatch, e.Error);
        Assert.Contains(expected.PeerId.ToString(), e.Message);
        Assert.Contains(pair.ServerIdentity.PeerId.ToString(), e.Message);
        Assert.Equal(0, pair.Client.SessionCount);
    }

    [Fact]
    public async Task BindAdvertisesOtherKey_RefusedBeforeHandshake()
    {
        var network = new MemoryDatagramNetwork();
        await using Pair pair = MemoryPair(network);
        using NodeIdentity other = NodeIdentity.Generate();
        network.AdvertiseKey(ServerAddress, other.PublicKey);
        long before = pair.Client.NativeSessionsCreated;
        PeerException e = await Assert.ThrowsAsync<PeerException>(() => pair.Client.ConnectAsync(ServerAddress, pair.ServerIdentity.PeerId));
        Assert.Equal(PeerError.PeerMismatch, e.Error);
        Assert.Equal(before, pair.Client.NativeSessionsCreated);

        network.AdvertiseKey(ServerAddress, pair.ServerIdentity.PublicKey);
        (DtlsConnection client, _) = await pair.ConnectAsync();
        Assert.Equal(pair.ServerIdentity.PeerId, client.RemotePeer);
    }

    [Fact]
    public async Task ServerWithForgedCertificate_ClientRefuses()
    {
        var network = new MemoryDatagramNetwork();
        using NodeIdentity victim = NodeIdentity.Generate();
        await using Pair pair = MemoryPair(network, o => { if (o.Bind!.LocalEndPoint.Equals(ServerAddress)) { o.CertificateOverride = Forgery.StolenExtension(victim); } });
        PeerException e = await Assert.ThrowsAsync<PeerException>(() => pair.Client.ConnectAsync(ServerAddress, victim.PeerId));
        Assert.Equal(PeerError.InvalidCertificate, e.Error);
    }

    [Fact]
    public async Task ClientWithForgedCertificate_ServerRefuses()
    {
        var network = new MemoryDatagramNetwork();
        using NodeIdentity victim = NodeIdentity.Generate();
        await using Pair pair = MemoryPair(network, o =>
        {
            o.HandshakeTimeout = TimeSpan.FromSeconds(2);
            if (o.Bind!.LocalEndPoint.Equals(ClientAddress))
            {
                o.CertificateOverride = Forgery.StolenExtension(victim);
            }
        });
        PeerException e = await Assert.ThrowsAsync<PeerException>(() => pair.Client.ConnectAsync(ServerAddress, pair.ServerIdentity.PeerId));
        Assert.Contains(e.Error, new[] { PeerError.HandshakeFailed, PeerError.Timeout });
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await pair.Listener.AcceptAsync(cts.Token));
        Assert.Equal(0, pair.Server.SessionCount);
    }

    [Fact]
    public async Task OversizedPacket_Refused_NeverTruncated()
    {
        var network = new MemoryDatagramNetwork();
        await using Pair pair = MemoryPair(network);
        (DtlsConnection client, DtlsConnection server) = await pair.ConnectAsync();
        Assert.InRange(client.MaxPacketSize, 1400, 1452 - 13);
        PeerException e = await Assert.ThrowsAsync<PeerException>(async () => await client.SendAsync(new byte[client.MaxPacketSize + 1]));
        Assert.Equal(PeerError.LimitExceeded, e.Error);
        Assert.Contains($"{client.MaxPacketSize + 1}-byte", e.Message);
        byte[] largest = new byte[client.MaxPacketSize];
        Random.Shared.NextBytes(largest);
        await client.SendAsync(largest);
        using var cts = new CancellationTokenSource(Pair.Patience);
        Assert.Equal(largest, await server.ReceiveAsync(cts.Token));
        await Assert.ThrowsAsync<ArgumentException>(async () => await client.SendAsync(ReadOnlyMemory<byte>.Empty));
    }

    [Fact]
    public async Task SmallMtu_HandshakeFragments_NoDatagramExceedsIt()
    {
        var network = new MemoryDatagramNetwork();
        int largest = 0;
        network.Observer = (_, _, data) => { int n = data.Length; int seen; while (n > (seen = Volatile.Read(ref largest)) && Interlocked.CompareExchange(ref largest, n, seen) != seen) { } };
        await using Pair pair = MemoryPair(network, o => o.MaxDatagramSize = DtlsEndpointOptions.MinDatagramSize);
        (DtlsConnection client, DtlsConnection server) = await pair.ConnectAsync();
        Assert.InRange(largest, 200, DtlsEndpointOptions.MinDatagramSize);
        Assert.InRange(client.MaxPacketSize, 150, DtlsEndpointOptions.MinDatagramSize - 29);
        byte[] packet = new byte[client.MaxPacketSize];
        Random.Shared.NextBytes(packet);
        await client.SendAsync(packet);
        using var cts = new CancellationTokenSource(Pair.Patience);
        Assert.Equal(packet, await server.ReceiveAsync(cts.Token));
        Assert.InRange(largest, 200, DtlsEndpointOptions.MinDatagramSize);
    }

    [Fact]
    public async Task SendAfterPeerClosed_ThrowsConnectionClosed()
    {
        var network = new MemoryDatagramNetwork();
        await using Pair pair = MemoryPair(network);
        (DtlsConnection client, DtlsConnection server) = await pair.ConnectAsync();
        await server.CloseAsync();
        await client.Closed.WaitAsync(Pair.Patience);
        PeerException e = await Assert.ThrowsAsync<PeerException>(async () => await client.SendAsync(new byte[] { 1 }));
        Assert.Equal(PeerError.ConnectionClosed, e.Error);
        Assert.Equal(0, pair.Client.SessionCount);
        Assert.Equal(0, pair.Server.SessionCount);
    }

    [Fact]
    public async Task PacketHandler_ReceivesPacketsWithoutQueue()
    {
        var network = new MemoryDatagramNetwork();
        await using Pair pair = MemoryPair(network);
        (DtlsConnection client, DtlsConnection server) = await pair.ConnectAsync();
        var got = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        server.SetPacketHandler((c, packet) => got.TrySetResult(packet.ToArray()));
        await client.SendAsync(new byte[] { 5, 6 });
        Assert.Equal(new byte[] { 5, 6 }, await got.Task.WaitAsync(Pair.Patience));
    }

    [Fact]
    public async Task HandshakeRateLimit_PerSourceAddress()
    {
        var network = new MemoryDatagramNetwork();
        using NodeIdentity serverIdentity = NodeIdentity.Generate();
        await using DtlsEndpoint server = DtlsEndpoint.Create(new DtlsEndpointOptions
        {
            Identity = serverIdentity,
            Bind = network.CreateBind(ServerAddress),
            HandshakeBurstPerAddress = 2,
            HandshakesPerSecondPerAddress = 0.001,
        });
        await using DtlsListener listener = server.Listen();
        var outcomes = new List<bool>();
        for (int i = 0; i < 3; i++)
        {
            using NodeIdentity id = NodeIdentity.Generate();
            await using DtlsEndpoint client = DtlsEndpoint.Create(new DtlsEndpointOptions
            {
                Identity = id,
                Bind = network.CreateBind(new IPEndPoint(IPAddress.Parse("10.0.0.7"), 7000 + i)),
                HandshakeTimeout = TimeSpan.FromSeconds(1),
                InitialRetransmitTimeout = TimeSpan.FromMilliseconds(100),
            });
            try
            {
                await using DtlsConnection c = await client.ConnectAsync(ServerAddress, serverIdentity.PeerId);
                outcomes.Add(true);
            }
            catch (PeerException e) when (e.Error == PeerError.Timeout)
            {
                outcomes.Add(false);
            }
        }
        Assert.Equal(new[] { true, true, false }, outcomes);
    }

    [Fact]
    public async Task SessionCap_RefusesBeyondMaxSessions()
    {
        var network = new MemoryDatagramNetwork();
        await using Pair pair = MemoryPair(network, o => o.MaxSessions = 1);
        (DtlsConnection client, DtlsConnection server) = await pair.ConnectAsync();
        using NodeIdentity id = NodeIdentity.Generate();
        await using DtlsEndpoint extra = DtlsEndpoint.Create(new DtlsEndpointOptions
        {
            Identity = id,
            Bind = network.CreateBind(new IPEndPoint(IPAddress.Parse("10.0.0.8"), 8000)),
            HandshakeTimeout = TimeSpan.FromSeconds(1),
        });
        PeerException e = await Assert.ThrowsAsync<PeerException>(() => extra.ConnectAsync(ServerAddress, pair.ServerIdentity.PeerId));
        Assert.Equal(PeerError.Timeout, e.Error);
        Assert.Equal(1, pair.Server.SessionCount);
        // The client side's own cap: a second dial is refused locally.
        PeerException local = await Assert.ThrowsAsync<PeerException>(() => pair.Client.ConnectAsync(new IPEndPoint(IPAddress.Parse("10.0.0.9"), 1), pair.ServerIdentity.PeerId));
        Assert.Equal(PeerError.LimitExceeded, local.Error);
    }

    [Fact]
    public async Task IdleTimeout_ClosesSession_DrivenByTimeProvider()
    {
        var network = new MemoryDatagramNetwork();
        var time = Clocks.StartingNow();
        await using Pair pair = MemoryPair(network, o => { o.TimeProvider = time; o.IdleTimeout = TimeSpan.FromSeconds(30); });
        (DtlsConnection client, DtlsConnection server) = await pair.ConnectAsync();
        time.Advance(TimeSpan.FromSeconds(31));
        using var cts = new CancellationTokenSource(Pair.Patience);
        PeerException e = await Assert.ThrowsAsync<PeerException>(async () => await server.ReceiveAsync(cts.Token));
        Assert.Equal(PeerError.IdleTimeout, e.Error);
        await client.Closed.WaitAsync(cts.Token);
        Assert.NotNull(client.CloseReason);
    }
}

public class RestartTests
{
    private static readonly IPEndPoint ServerAddress = new(IPAddress.Parse("10.3.0.1"), 4000);
    private static readonly IPEndPoint ClientAddress = new(IPAddress.Parse("10.3.0.2"), 5000);

    [Fact]
    public async Task PeerRestartingOnSameAddress_ReplacesOldSession_DuplicatesDoNot()
    {
        var network = new MemoryDatagramNetwork();
        var hellos = new List<byte[]>();
        network.Observer = (from, to, data) => { if (from.Equals(ClientAddress) && Internal.DtlsRecord.IsClientHello(data.Span)) { lock (hellos) { hellos.Add(data.ToArray()); } } };
        await using Pair pair = Pair.Create(network.CreateBind(ServerAddress), network.CreateBind(ClientAddress));
        (DtlsConnection client, DtlsConnection server) = await pair.ConnectAsync();
        using var cts = new CancellationTokenSource(Pair.Patience);

        // Late duplicates of the ClientHellos that opened the session change nothing.
        foreach (byte[] hello in hellos.ToArray())
        {
            network.Inject(ClientAddress, ServerAddress, hello);
        }
        await client.SendAsync(new byte[] { 1 }, cts.Token);
        Assert.Equal(new byte[] { 1 }, await server.ReceiveAsync(cts.Token));
        Assert.Null(server.CloseReason);

        // The client "crashes": its endpoint goes away without close_notify reaching the server.
        network.Options.LossRate = 1;
        await pair.Client.DisposeAsync();
        network.Options.LossRate = 0;

        await using DtlsEndpoint restarted = DtlsEndpoint.Create(new DtlsEndpointOptions { Identity = pair.ClientIdentity, Bind = network.CreateBind(ClientAddress) });
        Task<DtlsConnection> accept = pair.Listener.AcceptAsync(cts.Token).AsTask();
        await using DtlsConnection again = await restarted.ConnectAsync(ServerAddress, pair.ServerIdentity.PeerId, cts.Token);
        DtlsConnection replaced = await accept;
        Assert.NotSame(server, replaced);
        Assert.Equal(PeerError.ConnectionClosed, server.CloseReason?.Error);
        await again.SendAsync(new byte[] { 2 }, cts.Token);
        Assert.Equal(new byte[] { 2 }, await replaced.ReceiveAsync(cts.Token));
    }
}
