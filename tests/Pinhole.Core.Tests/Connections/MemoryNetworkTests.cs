using Pinhole.Core.Tests.Support;

namespace Pinhole.Core.Tests.Connections;

public sealed class MemoryNetworkTests : IDisposable
{
    private readonly NodeIdentity _a = NodeIdentity.Generate();
    private readonly NodeIdentity _b = NodeIdentity.Generate();

    public void Dispose()
    {
        _a.Dispose();
        _b.Dispose();
    }

    [Fact]
    public async Task ListenConnectAndExchangeStreams()
    {
        var network = new MemoryNetwork();
        await using var listener = network.Listen("b", new PeerConnectionOptions { Identity = _b });
        await using var client = await network.ConnectAsync("b", _b.PeerId, new PeerConnectionOptions { Identity = _a }, TestNodes.Bounded());
        await using var server = await listener.AcceptAsync(TestNodes.Bounded());
        Assert.Equal(_b.PeerId, client.RemotePeer);
        Assert.Equal(_a.PeerId, server.RemotePeer);
        Assert.Equal("memory", client.Netlayer);
        await using var s = await client.OpenStreamAsync("/x", TestNodes.Bounded());
        await s.WriteAsync("hi"u8.ToArray(), TestNodes.Bounded());
        s.CompleteWrites();
        await using var r = await server.AcceptStreamAsync(TestNodes.Bounded());
        Assert.Equal("hi"u8.ToArray(), await TestNodes.ReadAllAsync(r, TestNodes.Bounded()));
        Assert.True(await client.PingAsync(TestNodes.Bounded()) >= TimeSpan.Zero);
    }

    [Fact]
    public async Task WrongPeerAndUnknownNameAreRefused()
    {
        var network = new MemoryNetwork();
        await using var listener = network.Listen("b", new PeerConnectionOptions { Identity = _b });
        var mismatch = await Assert.ThrowsAsync<PeerException>(() => network.ConnectAsync("b", _a.PeerId, new PeerConnectionOptions { Identity = _a }).AsTask());
        Assert.Equal(PeerError.PeerMismatch, mismatch.Error);
        var missing = await Assert.ThrowsAsync<PeerException>(() => network.ConnectAsync("nobody", null, new PeerConnectionOptions { Identity = _a }).AsTask());
        Assert.Equal(PeerError.Unreachable, missing.Error);
    }

    [Fact]
    public async Task ClosingOneSideFailsPendingOperationsOnTheOther()
    {
        var (client, server) = MemoryNetwork.CreatePair(new PeerConnectionOptions { Identity = _a }, new PeerConnectionOptions { Identity = _b });
        await using (server)
        {
            var pending = server.AcceptStreamAsync(TestNodes.Bounded()).AsTask();
            await client.DisposeAsync();
            var e = await Assert.ThrowsAsync<PeerException>(() => pending);
            Assert.Equal(PeerError.ConnectionClosed, e.Error);
        }
    }
}
