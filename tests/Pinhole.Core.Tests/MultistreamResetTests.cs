using Pinhole.Transport.Multistream;

namespace Pinhole.Core.Tests;

/// <summary>
/// A listener that turns a protocol down may reset the stream right after its "na", and a yamux reset discards the
/// answers not yet read. The optimistic dialer reports a reset before confirmation as <see cref="PeerError.Refused"/>
/// on reads (as before) and now on writes too, so one stream never says two different things.
/// </summary>
public sealed class MultistreamResetTests
{
    [Fact]
    public async Task Lazy_dialer_reports_a_reset_on_its_first_write_as_refused_and_keeps_saying_so()
    {
        var inner = new ResetStream();
        await using var lazy = new MultistreamLazyPeerStream(inner, "/chat/1.0.0");
        inner.Reset();
        var first = await Assert.ThrowsAsync<PeerException>(async () => await lazy.WriteAsync(new byte[] { 1 }));
        Assert.Equal(PeerError.Refused, first.Error);
        var again = await Assert.ThrowsAsync<PeerException>(async () => await lazy.WriteAsync(new byte[] { 2 }));
        Assert.Equal(PeerError.Refused, again.Error);
        Assert.Equal(PeerError.Refused, (await Assert.ThrowsAsync<PeerException>(async () => await lazy.ReadExactlyAsync(new byte[4]))).Error);
    }

    /// <summary>A multiplexed stream the peer resets: writes succeed until <see cref="Reset"/>, reads always see the reset.</summary>
    private sealed class ResetStream : PeerStream
    {
        private volatile bool _reset;

        public override long Id => 1;

        public override string Protocol => "";

        public override Task ReadsClosed => Task.CompletedTask;

        public override Task WritesClosed => Task.CompletedTask;

        public override bool CanRead => true;

        public override bool CanWrite => true;

        public void Reset() => _reset = true;

        public override void CompleteWrites()
        {
        }

        public override void Abort() => _reset = true;

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw Aborted();

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.FromException<int>(Aborted());

        public override void Write(byte[] buffer, int offset, int count)
        {
            if (_reset)
            {
                throw Aborted();
            }
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
            _reset ? ValueTask.FromException(Aborted()) : ValueTask.CompletedTask;

        private static PeerException Aborted() => new(PeerError.StreamAborted, "yamux stream 1 was reset by the peer.");
    }
}
