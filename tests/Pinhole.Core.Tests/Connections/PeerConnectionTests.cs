using System.Security.Cryptography;
using Pinhole.Core.Tests.Support;

namespace Pinhole.Core.Tests.Connections;

public sealed class PeerConnectionTests : IDisposable
{
    private readonly NodeIdentity _alice = NodeIdentity.Generate();
    private readonly NodeIdentity _bob = NodeIdentity.Generate();
    private readonly NodeIdentity _mallory = NodeIdentity.Generate();

    public void Dispose()
    {
        _alice.Dispose();
        _bob.Dispose();
        _mallory.Dispose();
    }

    [Fact]
    public async Task BothSidesSeeVerifiedPeerIds()
    {
        await using var listener = await TestNodes.ListenAsync(_bob);
        var (client, server) = await TestNodes.ConnectAsync(_alice, listener);
        await using (client)
        await using (server)
        {
            Assert.Equal(_bob.PeerId, client.RemotePeer);
            Assert.Equal(_alice.PeerId, server.RemotePeer);
            Assert.Equal(_alice.PeerId, client.LocalPeer);
            Assert.False(client.IsInbound);
            Assert.True(server.IsInbound);
            Assert.False(client.TrustedOnFirstUse);
            Assert.Equal(_bob.PublicKey, client.RemotePublicKey);
        }
    }

    [Fact]
    public async Task StreamsFlowInBothDirectionsWithHalfClose()
    {
        await using var listener = await TestNodes.ListenAsync(_bob);
        var (client, server) = await TestNodes.ConnectAsync(_alice, listener);
        await using (client)
        await using (server)
        {
            foreach (var (opener, acceptor) in new[] { (client, server), (server, client) })
            {
                var payload = RandomNumberGenerator.GetBytes(300_000);
                await using var outbound = await opener.OpenStreamAsync("/test/echo/1.0.0", TestNodes.Bounded());
                await using var inbound = await acceptor.AcceptStreamAsync(TestNodes.Bounded());
                Assert.Equal("/test/echo/1.0.0", inbound.Protocol);
                // More than the 256 KiB window: the write completes only as the reader drains it.
                var write = Task.Run(async () =>
                {
                    await outbound.WriteAsync(payload, TestNodes.Bounded());
                    outbound.CompleteWrites();
                });
                Assert.Equal(payload, await TestNodes.ReadAllAsync(inbound, TestNodes.Bounded()));
                await write;
                // The other half is still open after the first half-closed.
                await inbound.WriteAsync("reply"u8.ToArray(), TestNodes.Bounded());
                inbound.CompleteWrites();
                Assert.Equal("reply"u8.ToArray(), await TestNodes.ReadAllAsync(outbound, TestNodes.Bounded()));
            }
        }
    }

    [Fact]
    public async Task WrongKeyAtTheRightAddressIsRefusedInBothDirections()
    {
        await using var aliceListener = await TestNodes.ListenAsync(_alice);
        await using var bobListener = await TestNodes.ListenAsync(_bob);
        foreach (var (dialer, listener) in new[] { (_alice, bobListener), (_bob, aliceListener) })
        {
            var e = await Assert.ThrowsAsync<PeerException>(() => PeerConnection.ConnectAsync(TestNodes.Dial(dialer, listener, _mallory.PeerId), TestNodes.Bounded()).AsTask());
            Assert.Equal(PeerError.PeerMismatch, e.Error);
            Assert.Contains(_mallory.PeerId.ToString(), e.Message, StringComparison.Ordinal);
            Assert.Contains(listener.LocalPeer.ToString(), e.Message, StringComparison.Ordinal);
        }
        // The listeners keep serving the right dialers.
        var (client, server) = await TestNodes.ConnectAsync(_alice, bobListener);
        await client.DisposeAsync();
        await server.DisposeAsync();
    }

    [Fact]
    public async Task TrustOnFirstUseMustBeAskedForByName()
    {
        await using var listener = await TestNodes.ListenAsync(_bob);
        var anonymous = new PeerAddress(null, [TestNodes.Address(listener)]);
        var refused = Assert.Throws<ArgumentException>(() => new PeerConnectOptions { Identity = _alice, Remote = anonymous }.Validate());
        Assert.Contains(nameof(PeerConnectOptions.TrustOnFirstUse), refused.Message, StringComparison.Ordinal);
        await using var client = await PeerConnection.ConnectAsync(new PeerConnectOptions { Identity = _alice, Remote = anonymous, TrustOnFirstUse = true }, TestNodes.Bounded());
        Assert.True(client.TrustedOnFirstUse);
        Assert.Equal(_bob.PeerId, client.RemotePeer);
        await using var server = await listener.AcceptAsync(TestNodes.Bounded());
    }

    [Fact]
    public async Task PingAndIdentifyWork()
    {
        await using var listener = await TestNodes.ListenAsync(_bob);
        var (client, server) = await TestNodes.ConnectAsync(_alice, listener);
        await using (client)
        await using (server)
        {
            Assert.True(await client.PingAsync(TestNodes.Bounded()) > TimeSpan.Zero);
            Assert.True(await server.PingAsync(TestNodes.Bounded()) > TimeSpan.Zero);
            var id = await client.IdentifyAsync(TestNodes.Bounded());
            Assert.Equal(PeerConnection.AgentVersion, id.AgentVersion);
            Assert.Equal(_bob.PublicKey.Encoded.ToArray(), id.PublicKey);
            Assert.Contains("/ipfs/ping/1.0.0", id.Protocols);
            Assert.Equal(client.LocalAddress, id.ObservedAddr);
            Assert.Contains(id.ListenAddrs, a => a.ToString().Contains(listener.ListenAddresses[0].ToString(), StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task UnsupportedProtocolIsRefusedWithAClearError()
    {
        await using var listener = await TestNodes.ListenAsync(_bob, o => o.Protocols.Add("/only/this"));
        var (client, server) = await TestNodes.ConnectAsync(_alice, listener);
        await using (client)
        await using (server)
        {
            var e = await Assert.ThrowsAsync<PeerException>(() => client.OpenStreamAsync("/not/that", TestNodes.Bounded()).AsTask());
            Assert.Equal(PeerError.Refused, e.Error);
            Assert.Contains("/not/that", e.Message, StringComparison.Ordinal);
            await using var ok = await client.OpenStreamAsync("/only/this", TestNodes.Bounded());
            await using var accepted = await server.AcceptStreamAsync(TestNodes.Bounded());
            Assert.Equal("/only/this", accepted.Protocol);
        }
    }

    [Fact]
    public async Task SlowReaderKeepsDataIntactAndBoundsTheSender()
    {
        await using var listener = await TestNodes.ListenAsync(_bob);
        var (client, server) = await TestNodes.ConnectAsync(_alice, listener);
        await using (client)
        await using (server)
        {
            var payload = RandomNumberGenerator.GetBytes(48 * 1024 * 1024);
            await using var outbound = await client.OpenStreamAsync("/test/bulk", TestNodes.Bounded());
            var writer = Task.Run(async () =>
            {
                await outbound.WriteAsync(payload, TestNodes.Bounded());
                outbound.CompleteWrites();
            });
            await using var inbound = await server.AcceptStreamAsync(TestNodes.Bounded());
            // Nobody reads yet: the sender must stop at the flow-control window (at most 16 MiB), not buffer 48 MiB.
            await Task.Delay(500);
            Assert.False(writer.IsCompleted, "the writer finished although the reader has not read: no back-pressure");
            using var received = new MemoryStream();
            var buffer = new byte[7000];
            int n;
            while ((n = await inbound.ReadAsync(buffer, TestNodes.Bounded())) > 0)
            {
                received.Write(buffer, 0, n);
            }
            await writer;
            Assert.True(payload.AsSpan().SequenceEqual(received.GetBuffer().AsSpan(0, (int)received.Length)));
        }
    }

    [Fact]
    public async Task Ed25519AndEcdsaNodesAuthenticateEachOther()
    {
        using var ed = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        await using var listener = await TestNodes.ListenAsync(ed);
        var (client, server) = await TestNodes.ConnectAsync(_alice, listener);
        await using (client)
        await using (server)
        {
            Assert.Equal(ed.PeerId, client.RemotePeer);
            Assert.Equal(_alice.PeerId, server.RemotePeer);
            Assert.True(await server.PingAsync(TestNodes.Bounded()) > TimeSpan.Zero);
        }
    }
}
