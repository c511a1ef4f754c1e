using System.Text;
using Pinhole.Core.Tests.Support;
using Pinhole.Transport.Multistream;

namespace Pinhole.Core.Tests;

/// <summary><see cref="OptimisticSelectStream"/>: the dialer's /tls/1.0.0 proposal travelling with the ClientHello.</summary>
public sealed class OptimisticSelectStreamTests
{
    private const string Tls = "/tls/1.0.0";

    private static readonly byte[] Proposal = MultistreamMessage.Encode(MultistreamMessage.Header, Tls);

    private static byte[] Msg(params string[] messages) => MultistreamMessage.Encode(messages);

    [Fact]
    public async Task Proposal_and_first_write_leave_in_one_write_and_the_listener_reads_them_in_order()
    {
        var (dialer, listener) = InMemoryDuplexStream.CreatePair();
        var ct = TestNodes.Bounded();
        await using var stream = new OptimisticSelectStream(dialer, Tls);
        Assert.Equal(0, dialer.WriteCount); // nothing before the upper layer writes
        await stream.WriteAsync("hello"u8.ToArray(), ct);
        await stream.WriteAsync("again"u8.ToArray(), ct);
        Assert.Equal(2, dialer.WriteCount);
        Assert.Equal([.. Proposal, .. "helloagain"u8], dialer.WrittenBytes);

        Assert.Equal(Tls, await MultistreamSelect.NegotiateAsync(listener, p => p == Tls, ct));
        var buffer = new byte[10];
        await listener.ReadExactlyAsync(buffer, ct);
        Assert.Equal("helloagain", Encoding.ASCII.GetString(buffer));
    }

    [Fact]
    public async Task Bytes_that_arrive_with_the_answer_are_served_first_then_the_stream_passes_through()
    {
        var (dialer, listener) = InMemoryDuplexStream.CreatePair();
        var ct = TestNodes.Bounded();
        await using var stream = new OptimisticSelectStream(dialer, Tls);
        await stream.WriteAsync("x"u8.ToArray(), ct);
        await listener.WriteAsync((byte[])[.. Msg(MultistreamMessage.Header, Tls), .. "server-hello"u8], ct);
        var buffer = new byte[6];
        Assert.Equal(6, await stream.ReadAsync(buffer, ct));
        Assert.True(stream.IsConfirmed);
        Assert.Equal("server", Encoding.ASCII.GetString(buffer));
        Assert.Equal(6, stream.Read(buffer, 0, 6));
        Assert.Equal("-hello", Encoding.ASCII.GetString(buffer));
        await listener.WriteAsync("later"u8.ToArray(), ct);
        Assert.Equal(5, await stream.ReadAsync(buffer, ct));
        Assert.Equal("later", Encoding.ASCII.GetString(buffer, 0, 5));
        Assert.Null(stream.Failure);
        Assert.Null(await stream.ExplainFailureAsync(TimeProvider.System, ct));
    }

    [Fact]
    public async Task An_answer_split_into_single_bytes_is_still_read()
    {
        var (dialer, listener) = InMemoryDuplexStream.CreatePair();
        var ct = TestNodes.Bounded();
        await using var stream = new OptimisticSelectStream(dialer, Tls);
        await stream.WriteAsync("x"u8.ToArray(), ct);
        var read = stream.ReadAsync(new byte[1], ct).AsTask();
        foreach (var b in Msg(MultistreamMessage.Header, Tls).Append((byte)'!'))
        {
            await listener.WriteAsync(new[] { b }, ct);
        }
        Assert.Equal(1, await read.WaitAsync(TestNodes.Timeout));
        Assert.True(stream.IsConfirmed);
    }

    [Fact]
    public async Task A_read_before_any_write_sends_the_proposal_first()
    {
        var (dialer, listener) = InMemoryDuplexStream.CreatePair();
        var ct = TestNodes.Bounded();
        await using var stream = new OptimisticSelectStream(dialer, Tls);
        var read = stream.ReadAsync(new byte[4], ct).AsTask();
        Assert.Equal(Tls, await MultistreamSelect.NegotiateAsync(listener, p => p == Tls, ct));
        await listener.WriteAsync("data"u8.ToArray(), ct);
        Assert.Equal(4, await read.WaitAsync(TestNodes.Timeout));
        Assert.Equal(Proposal, dialer.WrittenBytes);
    }

    [Fact]
    public async Task Na_fails_every_read_with_Refused_and_is_kept_as_the_failure()
    {
        var (dialer, listener) = InMemoryDuplexStream.CreatePair();
        var ct = TestNodes.Bounded();
        await using var stream = new OptimisticSelectStream(dialer, Tls);
        await stream.WriteAsync("x"u8.ToArray(), ct);
        await listener.WriteAsync(Msg(MultistreamMessage.Header, MultistreamMessage.NotAvailable), ct);
        listener.CompleteWrites();
        var e = await Assert.ThrowsAsync<PeerException>(async () => _ = await stream.ReadAsync(new byte[8], ct));
        Assert.Equal(PeerError.Refused, e.Error);
        Assert.Contains(Tls, e.Message, StringComparison.Ordinal);
        Assert.Same(e, stream.Failure);
        Assert.Same(e, await stream.ExplainFailureAsync(TimeProvider.System, ct));
        Assert.Equal(PeerError.Refused, Assert.Throws<PeerException>(() => stream.Read(new byte[8], 0, 8)).Error);
    }

    [Fact]
    public async Task A_failure_before_anything_was_sent_is_not_explained_and_sends_nothing()
    {
        // The layer above failed on its own (bad options, say) before its first write: the listener has nothing to say.
        var (dialer, _) = InMemoryDuplexStream.CreatePair();
        await using var stream = new OptimisticSelectStream(dialer, Tls);
        Assert.Null(await stream.ExplainFailureAsync(TimeProvider.System, TestNodes.Bounded()));
        Assert.Empty(dialer.WrittenBytes);
    }

    [Fact]
    public async Task A_silent_listener_does_not_hold_the_explanation_past_its_bound()
    {
        var (dialer, _) = InMemoryDuplexStream.CreatePair();
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        await using var stream = new OptimisticSelectStream(dialer, Tls);
        await stream.WriteAsync("x"u8.ToArray(), TestNodes.Bounded());
        var explaining = stream.ExplainFailureAsync(clock, CancellationToken.None);
        Assert.False(explaining.IsCompleted);
        clock.Advance(OptimisticSelectStream.ExplainTimeout);
        Assert.Null(await explaining.WaitAsync(TestNodes.Timeout));
    }

    [Fact]
    public async Task Explaining_a_failure_before_any_read_reads_the_answer()
    {
        // The upper layer failed before it read (e.g. its first write broke): the listener's answer is still there.
        var (dialer, listener) = InMemoryDuplexStream.CreatePair();
        var ct = TestNodes.Bounded();
        await using var stream = new OptimisticSelectStream(dialer, Tls);
        await stream.WriteAsync("x"u8.ToArray(), ct);
        await listener.WriteAsync(Msg(MultistreamMessage.Header, MultistreamMessage.NotAvailable), ct);
        var answer = await stream.ExplainFailureAsync(TimeProvider.System, ct);
        Assert.Equal(PeerError.Refused, answer?.Error);
    }

    [Theory]
    [InlineData("wrong header", "0b2f746c732f312e302e300a", PeerError.ProtocolViolation, "header")]
    [InlineData("another protocol", "132f6d756c746973747265616d2f312e302e300a0b2f746c732f392e392e390a", PeerError.ProtocolViolation, "/tls/9.9.9")]
    [InlineData("no newline", "132f6d756c746973747265616d2f312e302e300a0b2f746c732f312e302e3021", PeerError.ProtocolViolation, "newline")]
    [InlineData("oversized answer", "132f6d756c746973747265616d2f312e302e300aff7f", PeerError.ProtocolViolation, "limit")]
    [InlineData("HTTP", "485454502f312e3120343030204261642052657175657374", PeerError.ProtocolViolation, "ended inside")]
    [InlineData("closed before answering", "", PeerError.ConnectionClosed, "closed the connection")]
    [InlineData("closed after the header", "132f6d756c746973747265616d2f312e302e300a", PeerError.ConnectionClosed, "closed the connection")]
    [InlineData("closed inside the answer", "132f6d756c746973747265616d2f312e302e300a0b2f746c73", PeerError.ProtocolViolation, "ended inside")]
    public async Task Bad_answers_fail_precisely(string what, string hex, PeerError error, string expected)
    {
        var (dialer, listener) = InMemoryDuplexStream.CreatePair();
        var ct = TestNodes.Bounded();
        await using var stream = new OptimisticSelectStream(dialer, Tls);
        await stream.WriteAsync("x"u8.ToArray(), ct);
        await listener.WriteAsync(Convert.FromHexString(hex), ct);
        listener.CompleteWrites();
        var e = await Assert.ThrowsAsync<PeerException>(async () => _ = await stream.ReadAsync(new byte[8], ct));
        Assert.True(error == e.Error, $"{what}: {e}");
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.Same(e, stream.Failure);
    }

    [Fact]
    public void The_parser_needs_the_whole_answer_and_counts_exactly_what_it_used()
    {
        var answer = Msg(MultistreamMessage.Header, Tls);
        byte[] input = [.. answer, 0x16, 0x03, 0x03];
        for (var cut = 0; cut < answer.Length; cut++)
        {
            Assert.False(OptimisticSelectStream.TryReadAnswer(input.AsSpan(0, cut), Tls, out _), $"cut at {cut}");
        }
        Assert.True(OptimisticSelectStream.TryReadAnswer(input, Tls, out var consumed));
        Assert.Equal(answer.Length, consumed);
    }

    [Fact]
    public void Random_input_never_crashes_the_parser()
    {
        var random = new Random(12);
        for (var i = 0; i < 2000; i++)
        {
            var bytes = new byte[random.Next(0, 80)];
            random.NextBytes(bytes);
            if (i % 2 == 0)
            {
                bytes = [.. Msg(MultistreamMessage.Header), .. bytes];
            }
            try
            {
                if (OptimisticSelectStream.TryReadAnswer(bytes, Tls, out var consumed))
                {
                    Assert.InRange(consumed, 1, bytes.Length);
                }
            }
            catch (PeerException e)
            {
                Assert.True(e.Error is PeerError.ProtocolViolation or PeerError.Refused, e.ToString());
            }
        }
    }

    [Fact]
    public async Task Disposing_disposes_the_inner_stream()
    {
        var (dialer, listener) = InMemoryDuplexStream.CreatePair();
        var stream = new OptimisticSelectStream(dialer, Tls);
        await stream.DisposeAsync();
        await stream.DisposeAsync();
        Assert.Equal(0, await listener.ReadAsync(new byte[1], TestNodes.Bounded()));
    }
}
