using Pinhole.Core.Tests.Support;
using Pinhole.Protocols;

namespace Pinhole.Core.Tests;

public class PingProtocolTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private static CancellationToken TestToken() => new CancellationTokenSource(Timeout).Token;

    [Fact]
    public async Task Ping_round_trips_several_times_on_one_stream()
    {
        var (dialer, listener) = InMemoryDuplexStream.CreatePair();
        var ct = TestToken();
        var serve = PingProtocol.ServeAsync(listener, ct);
        for (var i = 0; i < 3; i++)
        {
            var rtt = await PingProtocol.PingAsync(dialer, TimeProvider.System, ct);
            Assert.True(rtt >= TimeSpan.Zero);
        }
        dialer.CompleteWrites();
        await serve.WaitAsync(Timeout); // clean end of stream: returns without error
        Assert.Equal(3 * 32, listener.BytesRead);
    }

    [Fact]
    public async Task Rtt_comes_from_the_time_provider()
    {
        var (dialer, listener) = InMemoryDuplexStream.CreatePair();
        var ct = TestToken();
        var time = new SteppingTimeProvider(TimeSpan.FromMilliseconds(7));
        var serve = PingProtocol.ServeAsync(listener, ct);
        var rtt = await PingProtocol.PingAsync(dialer, time, ct);
        Assert.Equal(TimeSpan.FromMilliseconds(7), rtt);
        dialer.CompleteWrites();
        await serve.WaitAsync(Timeout);
    }

    [Fact]
    public async Task Wrong_echo_is_a_protocol_violation()
    {
        var (dialer, listener) = InMemoryDuplexStream.CreatePair();
        var ct = TestToken();
        await listener.WriteAsync(new byte[32], ct); // zeros, not the random payload
        var e = await Assert.ThrowsAsync<PeerException>(() => PingProtocol.PingAsync(dialer, TimeProvider.System, ct));
        Assert.Equal(PeerError.ProtocolViolation, e.Error);
    }

    [Fact]
    public async Task Short_echo_is_reported()
    {
        var (dialer, listener) = InMemoryDuplexStream.CreatePair();
        var ct = TestToken();
        await listener.WriteAsync(new byte[10], ct);
        listener.CompleteWrites();
        var e = await Assert.ThrowsAsync<PeerException>(() => PingProtocol.PingAsync(dialer, TimeProvider.System, ct));
        Assert.Equal(PeerError.ConnectionClosed, e.Error);
        Assert.Contains("10 of 32", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Server_echoes_exact_blocks_and_rejects_a_partial_one()
    {
        var (dialer, listener) = InMemoryDuplexStream.CreatePair();
        var ct = TestToken();
        var payload = Enumerable.Range(0, 40).Select(i => (byte)i).ToArray();
        await dialer.WriteAsync(payload, ct);
        dialer.CompleteWrites();
        var e = await Assert.ThrowsAsync<PeerException>(() => PingProtocol.ServeAsync(listener, ct));
        Assert.Equal(PeerError.ProtocolViolation, e.Error);
        Assert.Contains("8 of 32", e.Message, StringComparison.Ordinal);
        var echo = new byte[32];
        await dialer.ReadExactlyAsync(echo, ct);
        Assert.Equal(payload[..32], echo);
    }

    [Fact]
    public async Task Silent_server_is_bounded_by_the_token()
    {
        var (dialer, _) = InMemoryDuplexStream.CreatePair();
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => PingProtocol.PingAsync(dialer, TimeProvider.System, cts.Token));
    }

    /// <summary>Each timestamp read advances by a fixed step, so a measured interval is exactly one step.</summary>
    private sealed class SteppingTimeProvider(TimeSpan step) : TimeProvider
    {
        private long _ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp()
        {
            var now = _ticks;
            _ticks += step.Ticks;
            return now;
        }
    }
}
