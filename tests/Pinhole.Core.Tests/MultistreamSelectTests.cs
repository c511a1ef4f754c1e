using System.Text;
using Pinhole.Core.Tests.Support;
using Pinhole.Transport.Multistream;

namespace Pinhole.Core.Tests;

public class MultistreamSelectTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private static CancellationToken TestToken() => new CancellationTokenSource(Timeout).Token;

    private static byte[] Msg(params string[] messages) => MultistreamMessage.Encode(messages);

    [Fact]
    public async Task Dialer_and_listener_agree_and_pipelined_data_stays_intact()
    {
        var (dialer, listener) = InMemoryDuplexStream.CreatePair();
        var ct = TestToken();
        var listen = Task.Run(async () =>
        {
            var p = await MultistreamSelect.NegotiateAsync(listener, id => id == "/yamux/1.0.0", ct);
            await listener.WriteAsync("from-listener"u8.ToArray(), ct);
            return p;
        });
        var selected = await MultistreamSelect.SelectAsync(dialer, ["/yamux/1.0.0"], ct);
        await dialer.WriteAsync("from-dialer"u8.ToArray(), ct);
        Assert.Equal("/yamux/1.0.0", selected);
        Assert.Equal("/yamux/1.0.0", await listen.WaitAsync(Timeout));
        Assert.Equal(1, dialer.WriteCount - 1); // header + proposal in one write, then the app write

        var buffer = new byte[64];
        await dialer.ReadExactlyAsync(buffer.AsMemory(0, 13), ct);
        Assert.Equal("from-listener", Encoding.ASCII.GetString(buffer, 0, 13));
        await listener.ReadExactlyAsync(buffer.AsMemory(0, 11), ct);
        Assert.Equal("from-dialer", Encoding.ASCII.GetString(buffer, 0, 11));
    }

    [Fact]
    public async Task Transcript_matches_docs_connection_upgrade()
    {
        var (dialer, listener) = InMemoryDuplexStream.CreatePair();
        var ct = TestToken();
        var listen = MultistreamSelect.NegotiateAsync(listener, id => id == "/tls/1.0.0", ct);
        Assert.Equal("/tls/1.0.0", await MultistreamSelect.SelectAsync(dialer, ["/noise", "/tls/1.0.0"], ct));
        await listen.WaitAsync(Timeout);
        Assert.Equal("132f6d756c746973747265616d2f312e302e300a" + "072f6e6f6973650a" + "0b2f746c732f312e302e300a", Convert.ToHexStringLower(dialer.WrittenBytes));
        Assert.Equal("132f6d756c746973747265616d2f312e302e300a" + "036e610a" + "0b2f746c732f312e302e300a", Convert.ToHexStringLower(listener.WrittenBytes));
    }

    [Fact]
    public async Task Listener_does_not_read_past_the_negotiation()
    {
        var (dialer, listener) = InMemoryDuplexStream.CreatePair();
        var ct = TestToken();
        // A lazy dialer's first packet: header, proposal and the first bytes of TLS, all at once.
        var tls = new byte[] { 0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5 };
        await dialer.WriteAsync(Msg(MultistreamMessage.Header, "/tls/1.0.0").Concat(tls).ToArray(), ct);
        var selected = await MultistreamSelect.NegotiateAsync(listener, _ => true, ct);
        Assert.Equal("/tls/1.0.0", selected);
        Assert.Equal(tls.Length, listener.Available);
        var rest = new byte[tls.Length];
        await listener.ReadExactlyAsync(rest, ct);
        Assert.Equal(tls, rest);
        // The listener answered exactly: its header, then the echo.
        var answer = new byte[dialer.Available];
        await dialer.ReadExactlyAsync(answer, ct);
        Assert.Equal(Msg(MultistreamMessage.Header, "/tls/1.0.0"), answer);
    }

    [Fact]
    public async Task Dialer_does_not_read_past_the_negotiation()
    {
        var (dialer, listener) = InMemoryDuplexStream.CreatePair();
        var ct = TestToken();
        await listener.WriteAsync(Msg(MultistreamMessage.Header, "na", "/b").Concat("app"u8.ToArray()).ToArray(), ct);
        var selected = await MultistreamSelect.SelectAsync(dialer, ["/a", "/b"], ct);
        Assert.Equal("/b", selected);
        Assert.Equal(3, dialer.Available);
        var sent = new byte[listener.Available];
        await listener.ReadExactlyAsync(sent, ct);
        Assert.Equal(Msg(MultistreamMessage.Header, "/a", "/b"), sent);
    }

    [Fact]
    public async Task Unknown_protocol_gets_na_and_the_next_one_is_tried()
    {
        var (dialer, listener) = InMemoryDuplexStream.CreatePair();
        var ct = TestToken();
        var listen = MultistreamSelect.NegotiateAsync(listener, id => id == "/c", ct);
        var selected = await MultistreamSelect.SelectAsync(dialer, ["/a", "/b", "/c"], ct);
        Assert.Equal("/c", selected);
        Assert.Equal("/c", await listen.WaitAsync(Timeout));
        Assert.Equal(0, dialer.Available);
        Assert.Equal(0, listener.Available);
    }

    [Fact]
    public async Task No_common_protocol_is_refused_naming_the_protocols()
    {
        var (dialer, listener) = InMemoryDuplexStream.CreatePair();
        var ct = TestToken();
        var listen = MultistreamSelect.NegotiateAsync(listener, _ => false, ct);
        var e = await Assert.ThrowsAsync<PeerException>(() => MultistreamSelect.SelectAsync(dialer, ["/a/1", "/b/2"], ct));
        Assert.Equal(PeerError.Refused, e.Error);
        Assert.Contains("/a/1, /b/2", e.Message, StringComparison.Ordinal);
        dialer.Dispose();
        var closed = await Assert.ThrowsAsync<PeerException>(() => listen.WaitAsync(Timeout));
        Assert.Equal(PeerError.ConnectionClosed, closed.Error);
    }

    [Fact]
    public async Task Listener_answers_ls_with_na()
    {
        var (dialer, listener) = InMemoryDuplexStream.CreatePair();
        var ct = TestToken();
        await dialer.WriteAsync(Msg(MultistreamMessage.Header, "ls", "/x"), ct);
        Assert.Equal("/x", await MultistreamSelect.NegotiateAsync(listener, _ => true, ct));
        var answer = new byte[dialer.Available];
        await dialer.ReadExactlyAsync(answer, ct);
        Assert.Equal(Msg(MultistreamMessage.Header, "na", "/x"), answer);
    }

    [Fact]
    public async Task Listener_gives_up_after_the_attempt_limit()
    {
        var (dialer, listener) = InMemoryDuplexStream.CreatePair();
        var ct = TestToken();
        var proposals = Enumerable.Range(0, 20).Select(i => $"/p{i}").ToArray();
        await dialer.WriteAsync(Msg([MultistreamMessage.Header, .. proposals]), ct);
        var e = await Assert.ThrowsAsync<PeerException>(() => MultistreamSelect.NegotiateAsync(listener, _ => false, ct));
        Assert.Equal(PeerError.LimitExceeded, e.Error);
        Assert.Contains("16", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0e2f6d756c746973747265616d2f0a", PeerError.ProtocolViolation, "Expected the multistream-select header")]
    [InlineData("8108", PeerError.ProtocolViolation, "exceeds the limit of 1024")]
    [InlineData("132f6d756c7469", PeerError.ProtocolViolation, "ended inside a 19-byte")]
    [InlineData("", PeerError.ConnectionClosed, "ended during multistream-select")]
    [InlineData("80", PeerError.ProtocolViolation, "ended inside a multistream-select length prefix")]
    [InlineData("474554202f20485454502f312e310d0a", PeerError.ProtocolViolation, "")] // "GET / HTTP/1.1"
    public async Task Listener_rejects_bad_input_precisely_without_hanging(string hex, PeerError error, string expected)
    {
        var (dialer, listener) = InMemoryDuplexStream.CreatePair();
        var ct = TestToken();
        await dialer.WriteAsync(Convert.FromHexString(hex), ct);
        dialer.CompleteWrites();
        var e = await Assert.ThrowsAsync<PeerException>(() => MultistreamSelect.NegotiateAsync(listener, _ => true, ct));
        Assert.Equal(error, e.Error);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Oversized_prefix_is_rejected_before_reading_the_body()
    {
        var (dialer, listener) = InMemoryDuplexStream.CreatePair();
        var ct = TestToken();
        await dialer.WriteAsync(new byte[] { 0xff, 0xff, 0x03 }.Concat(new byte[5000]).ToArray(), ct);
        var e = await Assert.ThrowsAsync<PeerException>(() => MultistreamSelect.NegotiateAsync(listener, _ => true, ct));
        Assert.Equal(PeerError.ProtocolViolation, e.Error);
        Assert.Equal(2, listener.BytesRead);
    }

    [Theory]
    [InlineData("/other", "Peer answered \"/other\" to the proposal \"/a\"")]
    [InlineData("/multistream/1.0.0", "Peer answered \"/multistream/1.0.0\"")]
    public async Task Dialer_rejects_a_wrong_answer(string answer, string expected)
    {
        var (dialer, listener) = InMemoryDuplexStream.CreatePair();
        var ct = TestToken();
        await listener.WriteAsync(Msg(MultistreamMessage.Header, answer), ct);
        var e = await Assert.ThrowsAsync<PeerException>(() => MultistreamSelect.SelectAsync(dialer, ["/a"], ct));
        Assert.Equal(PeerError.ProtocolViolation, e.Error);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dialer_rejects_a_wrong_header()
    {
        var (dialer, listener) = InMemoryDuplexStream.CreatePair();
        var ct = TestToken();
        await listener.WriteAsync(Msg("/multistream/2.0.0", "/a"), ct);
        var e = await Assert.ThrowsAsync<PeerException>(() => MultistreamSelect.SelectAsync(dialer, ["/a"], ct));
        Assert.Equal(PeerError.ProtocolViolation, e.Error);
        Assert.Contains("got \"/multistream/2.0.0\"", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Silent_peer_times_out_through_the_token()
    {
        var (dialer, listener) = InMemoryDuplexStream.CreatePair();
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => MultistreamSelect.NegotiateAsync(listener, _ => true, cts.Token));
        using var cts2 = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => MultistreamSelect.SelectAsync(dialer, ["/a"], cts2.Token));
    }

    [Fact]
    public async Task Reserved_or_invalid_proposals_are_argument_errors()
    {
        var (dialer, _) = InMemoryDuplexStream.CreatePair();
        var ct = TestToken();
        await Assert.ThrowsAsync<ArgumentException>(() => MultistreamSelect.SelectAsync(dialer, [], ct));
        await Assert.ThrowsAsync<ArgumentException>(() => MultistreamSelect.SelectAsync(dialer, ["na"], ct));
        await Assert.ThrowsAsync<ArgumentException>(() => MultistreamSelect.SelectAsync(dialer, ["/a\n"], ct));
        await Assert.ThrowsAsync<ArgumentException>(() => MultistreamSelect.SelectLazyAsync(dialer, "", ct));
        Assert.Equal(0, dialer.WriteCount);
    }

    [Fact]
    public async Task Lazy_dialer_sends_before_the_listener_answers()
    {
        var (dialer, listener) = InMemoryDuplexStream.CreatePair();
        var ct = TestToken();
        // No listener is running yet: the lazy select must not wait for it.
        await using var lazy = await MultistreamSelect.SelectLazyAsync(dialer, "/ipfs/ping/1.0.0", ct);
        Assert.False(lazy.IsConfirmed);
        await lazy.WriteAsync("ping"u8.ToArray(), ct);
        Assert.Equal(1, dialer.WriteCount - 1);

        var selected = await MultistreamSelect.NegotiateAsync(listener, _ => true, ct);
        Assert.Equal("/ipfs/ping/1.0.0", selected);
        var buffer = new byte[4];
        await listener.ReadExactlyAsync(buffer, ct);
        Assert.Equal("ping", Encoding.ASCII.GetString(buffer));
        await listener.WriteAsync("pong"u8.ToArray(), ct);

        await lazy.ReadExactlyAsync(buffer, ct);
        Assert.Equal("pong", Encoding.ASCII.GetString(buffer));
        Assert.True(lazy.IsConfirmed);
    }

    [Fact]
    public async Task Lazy_dialer_fails_reads_when_refused()
    {
        var (dialer, listener) = InMemoryDuplexStream.CreatePair();
        var ct = TestToken();
        var lazy = await MultistreamSelect.SelectLazyAsync(dialer, "/nope/1.0.0", ct);
        await listener.WriteAsync(Msg(MultistreamMessage.Header, "na"), ct);
        var buffer = new byte[8];
        var e = await Assert.ThrowsAsync<PeerException>(async () => _ = await lazy.ReadAsync(buffer, ct));
        Assert.Equal(PeerError.Refused, e.Error);
        Assert.Contains("/nope/1.0.0", e.Message, StringComparison.Ordinal);
        var again = await Assert.ThrowsAsync<PeerException>(async () => _ = await lazy.ReadAsync(buffer, ct));
        Assert.Equal(PeerError.Refused, again.Error);
        Assert.Throws<PeerException>(() => _ = lazy.Read(buffer, 0, 8));
    }

    [Fact]
    public async Task Lazy_dialer_checks_the_answer_and_keeps_following_bytes()
    {
        var (dialer, listener) = InMemoryDuplexStream.CreatePair();
        var ct = TestToken();
        var lazy = await MultistreamSelect.SelectLazyAsync(dialer, "/p", ct, leaveOpen: true);
        await listener.WriteAsync(Msg(MultistreamMessage.Header, "/p").Concat("xyz"u8.ToArray()).ToArray(), ct);
        await lazy.ConfirmAsync(ct);
        Assert.Equal(3, dialer.Available);
        var buffer = new byte[3];
        Assert.Equal(3, lazy.Read(buffer, 0, 3));
        Assert.Equal("xyz", Encoding.ASCII.GetString(buffer));
        await lazy.DisposeAsync();
        await dialer.WriteAsync(new byte[1], ct); // leaveOpen: the inner stream still works
    }

    [Fact]
    public async Task Lazy_dialer_rejects_a_wrong_echo()
    {
        var (dialer, listener) = InMemoryDuplexStream.CreatePair();
        var ct = TestToken();
        var lazy = await MultistreamSelect.SelectLazyAsync(dialer, "/p", ct);
        await listener.WriteAsync(Msg(MultistreamMessage.Header, "/q"), ct);
        var e = await Assert.ThrowsAsync<PeerException>(() => lazy.ConfirmAsync(ct));
        Assert.Equal(PeerError.ProtocolViolation, e.Error);
    }

    [Fact]
    public async Task Random_input_never_hangs_or_crashes_the_listener()
    {
        var random = new Random(42);
        for (var i = 0; i < 300; i++)
        {
            var (dialer, listener) = InMemoryDuplexStream.CreatePair();
            var bytes = new byte[random.Next(0, 64)];
            random.NextBytes(bytes);
            if (i % 2 == 0)
            {
                bytes = [.. Msg(MultistreamMessage.Header), .. bytes];
            }
            await dialer.WriteAsync(bytes);
            dialer.CompleteWrites();
            try
            {
                await MultistreamSelect.NegotiateAsync(listener, _ => true, TestToken());
            }
            catch (PeerException)
            {
            }
        }
    }
}
