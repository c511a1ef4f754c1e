using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Pinhole.Dtls;
using Pinhole.Ocapn;

namespace Pinhole.Node.Tests;

public sealed class PinholeNodeTests : IAsyncLifetime
{
    private readonly TestNodes _nodes = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _nodes.DisposeAsync();

    [Fact]
    public async Task ListensOnTcpAndUdpWithOnePortNumber()
    {
        var node = await _nodes.StartAsync();

        var tcp = node.ListenAddresses.Single(a => a.ToString().Contains("/tcp/", StringComparison.Ordinal)).ToIPEndPoint();
        var udp = node.ListenAddresses.Single(a => a.ToString().Contains("/udp/", StringComparison.Ordinal)).ToIPEndPoint();
        Assert.NotEqual(0, tcp.Port);
        Assert.Equal(tcp.Port, udp.Port);
        Assert.Equal(NodeState.Running, node.State);
        Assert.All(node.GetDialableAddresses(), a => Assert.EndsWith("/p2p/" + node.LocalPeer, a.ToString(), StringComparison.Ordinal));
        Assert.Contains(node.GetDialableAddresses(), a => a.ToString().StartsWith($"/ip4/127.0.0.1/udp/{udp.Port}/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AFixedPortTakenForUdpFailsTheStartAndReleasesTcp()
    {
        // A port free for TCP too (outside the ephemeral range: a UDP port from bind(0) may be some parallel test's
        // outgoing TCP port, and then the node fails on TCP instead, as one CI run did).
        var port = Pinhole.Testing.FreePort.TcpAndUdp();
        using var taken = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        taken.Bind(new IPEndPoint(IPAddress.Loopback, port));
        var node = _nodes.Build(port: port);

        var error = await Assert.ThrowsAsync<PeerException>(() => node.StartAsync());
        Assert.Contains($"UDP 127.0.0.1:{port}", error.Message, StringComparison.Ordinal);
        Assert.Equal(NodeState.Stopped, node.State);
        using var tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        tcp.Bind(new IPEndPoint(IPAddress.Loopback, port)); // the TCP listener let go of it
    }

    [Fact]
    public void OptionsAreValidatedBeforeAnythingIsBound()
    {
        using var identity = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        Assert.Throws<ArgumentException>(() => PinholeNode.CreateBuilder(new PinholeNodeOptions()).Build());
        Assert.Throws<ArgumentException>(() => PinholeNode.CreateBuilder(new PinholeNodeOptions
        {
            Identity = identity,
            ListenAddresses = [Multiaddr.Parse("/ip4/127.0.0.1/udp/1")],
        }).Build());
        Assert.Throws<ArgumentOutOfRangeException>(() => PinholeNode.CreateBuilder(new PinholeNodeOptions
        {
            Identity = identity,
            Connections = { ReconnectInitialDelay = TimeSpan.FromMinutes(10), ReconnectMaxDelay = TimeSpan.FromMinutes(1) },
        }).Build());
        Assert.Throws<ArgumentException>(() => PinholeNode.CreateBuilder(new PinholeNodeOptions
        {
            Identity = identity,
            Api = new LocalApiOptions { Web = new WebUiOptions { EndPoint = new IPEndPoint(IPAddress.Any, 0) } },
            Home = "/tmp",
        }).Build());
        Assert.Throws<ArgumentOutOfRangeException>(() => PinholeNode.CreateBuilder(new PinholeNodeOptions
        {
            Identity = identity,
            Transport = { MaxInboundConnectionsPerAddress = 0 },
        }).Build());
        Assert.Throws<ArgumentOutOfRangeException>(() => PinholeNode.CreateBuilder(new PinholeNodeOptions
        {
            Identity = identity,
            Transport = { HandshakesPerSecondPerAddress = double.NaN },
        }).Build());
        var builder = PinholeNode.CreateBuilder(new PinholeNodeOptions { Identity = identity });
        Assert.Throws<ArgumentException>(() => builder.Handle("no-slash", (_, _, _) => Task.CompletedTask));
        Assert.Throws<ArgumentException>(() => builder.Handle("/ipfs/ping/1.0.0", (_, _, _) => Task.CompletedTask));
        builder.Handle("/x/1", (_, _, _) => Task.CompletedTask);
        Assert.Throws<ArgumentException>(() => builder.Handle("/x/1", (_, _, _) => Task.CompletedTask));
        builder.Build();
        Assert.Throws<InvalidOperationException>(() => builder.Build());
    }

    [Fact]
    public async Task ThePerAddressLimitOfTheTransportOptionsReachesTheListener()
    {
        var server = await _nodes.StartAsync(b => b.Options.Transport.MaxInboundConnectionsPerAddress = 1);
        var first = await _nodes.StartAsync();
        var second = await _nodes.StartAsync();
        first.Peers.Add(server.LocalPeer, addresses: [TestNodes.TcpAddress(server)]);
        second.Peers.Add(server.LocalPeer, addresses: [TestNodes.TcpAddress(server)]);
        await first.Connections.ConnectAsync(server.LocalPeer);
        await TestNodes.UntilAsync(() => server.Connections.Count == 1, "the server holds the first peer's connection");
        // Both dial from 127.0.0.1: the second is one connection too many for that address.
        await Assert.ThrowsAsync<PeerException>(async () => await second.Connections.ConnectAsync(server.LocalPeer));
        Assert.Equal(1, server.Connections.Count);
    }

    [Fact]
    public async Task RegisteredProtocolsAreServedAdvertisedAndOthersRefused()
    {
        var server = await _nodes.StartAsync(b => b.Handle("/echo/1.0.0", async (connection, stream, ct) =>
        {
            await stream.CopyToAsync(stream, ct);
            stream.CompleteWrites();
        }));
        var client = await _nodes.StartAsync();
        client.Peers.Add(server.LocalPeer, addresses: [TestNodes.TcpAddress(server)]);

        await using var stream = await client.Connections.OpenStreamAsync(server.LocalPeer, "/echo/1.0.0");
        await stream.WriteAsync(Encoding.UTF8.GetBytes("hello"));
        stream.CompleteWrites();
        using var reader = new StreamReader(stream);
        Assert.Equal("hello", await reader.ReadToEndAsync());

        var connection = client.Connections.Get(server.LocalPeer)!;
        var identify = await connection.IdentifyAsync();
        Assert.Contains("/echo/1.0.0", identify.Protocols);
        var refused = await Assert.ThrowsAsync<PeerException>(async () => await connection.OpenStreamAsync("/other/1.0.0"));
        Assert.Equal(PeerError.Refused, refused.Error);
    }

    [Fact]
    public async Task AFailingHandlerResetsItsStreamAndTheNodeGoesOn()
    {
        var server = await _nodes.StartAsync(b => b.Handle("/boom/1.0.0", (_, _, _) => throw new InvalidOperationException("boom")));
        var client = await _nodes.StartAsync();
        client.Peers.Add(server.LocalPeer, addresses: [TestNodes.TcpAddress(server)]);
        for (var i = 0; i < 3; i++)
        {
            // The reset may overtake the negotiation's answer: the open or the first read fails.
            var error = await Assert.ThrowsAsync<PeerException>(async () =>
            {
                await using var stream = await client.Connections.OpenStreamAsync(server.LocalPeer, "/boom/1.0.0");
                await stream.ReadExactlyAsync(new byte[1]);
            });
            Assert.Equal(PeerError.StreamAborted, error.Error);
        }
        Assert.Equal(1, server.Connections.Count);
        await client.Connections.PingAsync(server.LocalPeer);
    }

    [Fact]
    public async Task StopLetsRunningHandlersFinishThenCloses()
    {
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var finished = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // The handler is released by the test, not by the clock: the drain deadline is only a hang guard here,
        // far beyond any stall of a loaded machine (at 10 s a stalled handler could be cancelled mid-test).
        var server = await _nodes.StartAsync(b =>
        {
            b.Options.ShutdownTimeout = TimeSpan.FromMinutes(10);
            b.Handle("/slow/1.0.0", async (_, stream, ct) =>
            {
                entered.SetResult();
                await release.Task;
                await stream.WriteAsync(new byte[] { 42 }, ct);
                stream.CompleteWrites();
                finished.SetResult();
            });
        });
        var client = await _nodes.StartAsync();
        client.Peers.Add(server.LocalPeer, addresses: [TestNodes.TcpAddress(server)]);
        await using var stream = await client.Connections.OpenStreamAsync(server.LocalPeer, "/slow/1.0.0");
        await stream.WriteAsync(new byte[] { 1 });
        await entered.Task.WaitAsync(TestNodes.Wait);

        var stopping = server.StopAsync();
        Assert.False(stopping.IsCompleted);
        Assert.Equal(NodeState.Stopping, server.State);
        release.SetResult();
        await stopping.WaitAsync(TestNodes.Wait);

        Assert.True(finished.Task.IsCompletedSuccessfully);
        var buffer = new byte[1];
        Assert.Equal(1, await stream.ReadAsync(buffer));
        Assert.Equal(42, buffer[0]);
        Assert.Equal(NodeState.Stopped, server.State);
        await server.StopAsync(); // idempotent
        await Assert.ThrowsAsync<InvalidOperationException>(() => server.StartAsync());
    }

    [Fact]
    public async Task ServicesStartInOrderStopInReverseAndShowTheirStatus()
    {
        var log = new List<string>();
        var node = await _nodes.StartAsync(b => b.AddService(new RecordingService("first", log)).AddService(new RecordingService("second", log)));

        Assert.Equal(["start first", "start second"], log);
        Assert.Same(node.Services[1], node.GetService<RecordingService>() is { Name: "first" } ? node.Services[1] : node.Services[1]);
        var status = node.GetStatus();
        Assert.Equal("first", status.Services["first"]!["name"]!.GetValue<string>());
        await node.StopAsync();
        Assert.Equal(["start first", "start second", "stop second", "stop first"], log);
    }

    [Fact]
    public async Task AServiceThatFailsToStartFailsTheNodeAndStopsTheOthers()
    {
        var log = new List<string>();
        var node = _nodes.Build(b => b.AddService(new RecordingService("ok", log)).AddService(new RecordingService("bad", log, fail: true)));

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => node.StartAsync());
        Assert.Equal("bad failed", error.Message);
        Assert.Equal(["start ok", "start bad", "stop ok"], log);
        Assert.Equal(NodeState.Stopped, node.State);
    }

    [Fact]
    public async Task DatagramLayerSitsUnderDtlsAndSessionsReachTheHandler()
    {
        var layers = new CountingLayerFactory();
        var received = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var server = await _nodes.StartAsync(b => b.UseDatagramLayer(layers).HandleDatagrams(async (session, ct) =>
        {
            var packet = await session.ReceiveAsync(ct);
            received.SetResult(Encoding.UTF8.GetString(packet) + " from " + session.RemotePeer);
            await session.SendAsync(Encoding.UTF8.GetBytes("pong"), ct);
            await session.ReceiveAsync(ct); // until the dialler closes
        }));
        var client = await _nodes.StartAsync();
        client.Peers.Add(server.LocalPeer, addresses: [TestNodes.TcpAddress(server)]);

        await using var session = await client.ConnectDatagramsAsync(server.LocalPeer);
        await session.SendAsync(Encoding.UTF8.GetBytes("ping"));

        Assert.Equal("ping from " + client.LocalPeer, await received.Task.WaitAsync(TestNodes.Wait));
        Assert.Equal("pong", Encoding.UTF8.GetString(await session.ReceiveAsync().AsTask().WaitAsync(TestNodes.Wait)));
        Assert.Equal(NodeSocketPurpose.Node, Assert.Single(layers.Created).Purpose);
        Assert.True(layers.Created[0].Received > 0, "DTLS read through the layer");
        await server.StopAsync();
        Assert.True(layers.Created[0].Disposed);
    }

    [Fact]
    public async Task TheGoblinsNetlayerListensWhenEnabled()
    {
        var node = await _nodes.StartAsync(b => b.Options.EnableOcapn = true);
        var locator = node.OcapnLocator!;
        var result = await OcapnTcpTlsNetlayer.PingAsync(OcapnLocator.Parse(locator.ToString().Replace("localhost", "127.0.0.1", StringComparison.Ordinal)));
        Assert.Equal(node.Ocapn!.Designator, result.Designator);
    }

    private sealed class RecordingService(string name, List<string> log, bool fail = false) : INodeService
    {
        public string Name => name;

        public Task StartAsync(PinholeNode node, CancellationToken cancellationToken)
        {
            log.Add("start " + name);
            return fail ? throw new InvalidOperationException(name + " failed") : Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken)
        {
            log.Add("stop " + name);
            return Task.CompletedTask;
        }

        public JsonObject? GetStatus() => new() { ["name"] = name };
    }

    private sealed class CountingLayerFactory : INodeDatagramLayerFactory
    {
        public List<CountingLayer> Created { get; } = [];

        public NodeDatagramLayer Create(IDatagramBind socket, NodeSocketPurpose purpose)
        {
            var layer = new CountingLayer(socket, purpose);
            Created.Add(layer);
            return layer;
        }
    }

    /// <summary>A layer that passes everything through and counts, as a STUN demultiplexer would pass DTLS.</summary>
    private sealed class CountingLayer(IDatagramBind socket, NodeSocketPurpose purpose) : NodeDatagramLayer, IDatagramBind
    {
        private long _received;

        public NodeSocketPurpose Purpose => purpose;

        public long Received => Interlocked.Read(ref _received);

        public bool Disposed { get; private set; }

        public override IDatagramBind DtlsBind => this;

        public EndPoint LocalEndPoint => socket.LocalEndPoint;

        public ValueTask SendPacketAsync(EndPoint remote, ReadOnlyMemory<byte> packet, CancellationToken cancellationToken = default) => socket.SendPacketAsync(remote, packet, cancellationToken);

        public async ValueTask<DatagramReceiveResult> ReceivePacketAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var result = await socket.ReceivePacketAsync(buffer, cancellationToken);
            Interlocked.Increment(ref _received);
            return result;
        }

        public ValueTask<Libp2pPublicKey?> ObtainPublicKeyAsync(EndPoint remote, CancellationToken cancellationToken = default) => socket.ObtainPublicKeyAsync(remote, cancellationToken);

        public override async ValueTask DisposeAsync()
        {
            Disposed = true;
            await base.DisposeAsync();
        }
    }
}
