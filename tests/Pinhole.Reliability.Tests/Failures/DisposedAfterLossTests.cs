using Pinhole.Connections;
using Pinhole.Messaging;
using Pinhole.Messaging.MessagePack;
using Pinhole.Reliability.Tests.Support;

namespace Pinhole.Reliability.Tests.Failures;

/// <summary>
/// Regression tests for the races found by the failure-path audit: an object disposed by one owner after the
/// connection was lost must still tell another caller why (the loss), not <see cref="ObjectDisposedException"/>.
/// </summary>
public sealed class DisposedAfterLossTests : IDisposable
{
    private readonly NodeIdentity _left = NodeIdentity.Generate();
    private readonly NodeIdentity _right = NodeIdentity.Generate();

    public void Dispose()
    {
        _left.Dispose();
        _right.Dispose();
    }

    private (PeerConnection Left, PeerConnection Right, KillableStream Wire) Pair()
    {
        var (a, b) = DuplexPipeStream.CreatePair();
        var wire = new KillableStream(a);
        var lo = new PeerConnectionOptions { Identity = _left };
        var ro = new PeerConnectionOptions { Identity = _right };
        return (new PeerConnection(ConnectionUpgrader.StartSession(wire, true, lo), _right.PublicKey, lo, false, "memory", null, null),
            new PeerConnection(ConnectionUpgrader.StartSession(b, false, ro), _left.PublicKey, ro, true, "memory", null, null),
            wire);
    }

    [Fact]
    public async Task A_stream_disposed_after_connection_loss_reports_the_loss_on_write_and_read()
    {
        var (left, right, wire) = Pair();
        var stream = await left.OpenStreamAsync("/x", Dialer.Bounded());
        wire.Kill();
        await Assert.ThrowsAnyAsync<PeerException>(() => left.Completion.WaitAsync(Dialer.Timeout));
        await stream.DisposeAsync(); // another owner (a channel's pump) cleans up after the loss
        var write = await Assert.ThrowsAsync<PeerException>(async () => await stream.WriteAsync(new byte[10]));
        Assert.Equal(PeerError.ConnectionClosed, write.Error);
        var read = await Assert.ThrowsAsync<PeerException>(async () => await stream.ReadExactlyAsync(new byte[10]));
        Assert.Equal(PeerError.ConnectionClosed, read.Error);
        await left.DisposeAsync();
        await right.DisposeAsync();
    }

    [Fact]
    public async Task A_stream_disposed_while_healthy_still_throws_ObjectDisposedException()
    {
        var (left, right, _) = Pair();
        var stream = await left.OpenStreamAsync("/x", Dialer.Bounded());
        await stream.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await stream.WriteAsync(new byte[10]));
        await left.DisposeAsync();
        await right.DisposeAsync();
    }

    [Fact]
    public async Task Opening_a_stream_on_a_disposed_connection_is_a_PeerException()
    {
        var (left, right, _) = Pair();
        await left.DisposeAsync();
        var e = await Assert.ThrowsAsync<PeerException>(async () => await left.OpenStreamAsync("/x"));
        Assert.Equal(PeerError.ConnectionClosed, e.Error);
        await right.DisposeAsync();
    }

    [Fact]
    public async Task A_message_session_can_be_disposed_twice_and_fails_later_calls_with_IOException()
    {
        var (left, right, _) = Pair();
        var session = MessageSession.Start(left, ownsConnection: true);
        await session.DisposeAsync();
        await session.DisposeAsync();
        await Assert.ThrowsAnyAsync<IOException>(async () => await session.OpenSenderAsync(MessageCodec.Int32));
        await Assert.ThrowsAnyAsync<IOException>(async () => await session.AcceptReceiverAsync(MessageCodec.Int32));
        await right.DisposeAsync();
    }
}
