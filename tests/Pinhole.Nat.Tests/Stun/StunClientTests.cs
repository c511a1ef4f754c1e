using System.Net;
using Microsoft.Extensions.Time.Testing;
using Pinhole.Dtls;

namespace Pinhole.Nat.Tests.Stun;

public sealed class StunClientTests
{
    private static readonly IPEndPoint Server = new(IPAddress.Parse("203.0.113.10"), 3478);

    private sealed class RecordingSender
    {
        public List<(EndPoint To, byte[] Data, TimeSpan At)> Sent { get; } = [];
        public required FakeTimeProvider Clock { get; init; }
        public DateTimeOffset Start { get; init; }

        public ValueTask Send(EndPoint to, ReadOnlyMemory<byte> data, CancellationToken _)
        {
            lock (Sent)
            {
                Sent.Add((to, data.ToArray(), Clock.GetUtcNow() - Start));
            }
            return ValueTask.CompletedTask;
        }
    }

    [Fact]
    public async Task Retransmits_on_the_rfc_schedule_then_times_out()
    {
        var clock = new FakeTimeProvider();
        var sender = new RecordingSender { Clock = clock, Start = clock.GetUtcNow() };
        var options = new StunClientOptions { TimeProvider = clock };
        await using var client = new StunClient(sender.Send, options);
        Task<StunResponse> pending = client.BindingAsync(Server);
        // RFC 8489 §6.2.1: sends at 0, 500, 1500, 3500, 7500, 15500, 31500 ms; fails at 39500 ms.
        foreach (int step in new[] { 500, 1000, 2000, 4000, 8000, 16000 })
        {
            clock.Advance(TimeSpan.FromMilliseconds(step - 1));
            Assert.False(pending.IsCompleted);
            clock.Advance(TimeSpan.FromMilliseconds(1));
        }
        Assert.Equal([0, 500, 1500, 3500, 7500, 15500, 31500], sender.Sent.Select(s => (int)s.At.TotalMilliseconds));
        clock.Advance(TimeSpan.FromMilliseconds(7999));
        Assert.False(pending.IsCompleted);
        clock.Advance(TimeSpan.FromMilliseconds(1));
        PeerException e = await Assert.ThrowsAsync<PeerException>(() => pending);
        Assert.Equal(PeerError.Timeout, e.Error);
        Assert.Equal(TimeSpan.FromMilliseconds(39500), options.TransactionTimeout);
        Assert.Equal(0, client.PendingCount);
        // Every retransmission is the same request.
        Assert.All(sender.Sent, s => Assert.Equal(sender.Sent[0].Data, s.Data));
    }

    [Fact]
    public async Task A_response_completes_the_transaction_and_stops_retransmissions()
    {
        var clock = new FakeTimeProvider();
        var sender = new RecordingSender { Clock = clock, Start = clock.GetUtcNow() };
        await using var client = new StunClient(sender.Send, new StunClientOptions { TimeProvider = clock });
        Task<StunResponse> pending = client.BindingAsync(Server);
        clock.Advance(TimeSpan.FromMilliseconds(500));
        clock.Advance(TimeSpan.FromMilliseconds(100));
        StunMessage request = StunMessage.Parse(sender.Sent[0].Data);
        var mapped = new IPEndPoint(IPAddress.Parse("198.51.100.7"), 61000);
        byte[] response = new StunMessageBuilder(StunMethod.Binding, StunClass.SuccessResponse, request.TransactionId)
            .AddXorAddress(StunAttributeType.XorMappedAddress, mapped).AddFingerprint().ToArray();
        clock.Advance(TimeSpan.FromMilliseconds(40));
        Assert.True(client.TryHandleResponse(Server, response));
        StunResponse result = await pending;
        Assert.Equal(mapped, result.Message.XorMappedAddress);
        Assert.Equal(TimeSpan.FromMilliseconds(140), result.RoundTripTime);
        clock.Advance(TimeSpan.FromSeconds(60));
        Assert.Equal(2, sender.Sent.Count);
        Assert.False(client.TryHandleResponse(Server, response));
    }

    [Fact]
    public async Task Responses_with_unknown_ids_bad_fingerprints_or_garbage_are_ignored()
    {
        var clock = new FakeTimeProvider();
        var sender = new RecordingSender { Clock = clock, Start = clock.GetUtcNow() };
        await using var client = new StunClient(sender.Send, new StunClientOptions { TimeProvider = clock });
        Task<StunResponse> pending = client.BindingAsync(Server);
        StunMessage request = StunMessage.Parse(sender.Sent[0].Data);
        byte[] other = new StunMessageBuilder(StunMethod.Binding, StunClass.SuccessResponse, StunTransactionId.NewRandom())
            .AddXorAddress(StunAttributeType.XorMappedAddress, Server).ToArray();
        byte[] badFingerprint = new StunMessageBuilder(StunMethod.Binding, StunClass.SuccessResponse, request.TransactionId)
            .AddXorAddress(StunAttributeType.XorMappedAddress, Server).AddFingerprint().ToArray();
        badFingerprint[^1] ^= 0xFF;
        Assert.False(client.TryHandleResponse(Server, other));
        Assert.False(client.TryHandleResponse(Server, badFingerprint));
        Assert.False(client.TryHandleResponse(Server, [1, 2, 3]));
        Assert.False(client.TryHandleResponse(Server, sender.Sent[0].Data)); // our own request reflected back
        Assert.False(pending.IsCompleted);
    }

    [Fact]
    public async Task An_error_response_is_refused_with_its_code()
    {
        var clock = new FakeTimeProvider();
        var sender = new RecordingSender { Clock = clock, Start = clock.GetUtcNow() };
        await using var client = new StunClient(sender.Send, new StunClientOptions { TimeProvider = clock });
        Task<StunResponse> pending = client.BindingAsync(Server);
        StunMessage request = StunMessage.Parse(sender.Sent[0].Data);
        byte[] error = new StunMessageBuilder(StunMethod.Binding, StunClass.ErrorResponse, request.TransactionId)
            .AddErrorCode(420, "Unknown Attribute").ToArray();
        Assert.True(client.TryHandleResponse(Server, error));
        PeerException e = await Assert.ThrowsAsync<PeerException>(() => pending);
        Assert.Equal(PeerError.Refused, e.Error);
        Assert.Contains("420 Unknown Attribute", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cancellation_and_disposal_end_pending_requests()
    {
        var clock = new FakeTimeProvider();
        var sender = new RecordingSender { Clock = clock, Start = clock.GetUtcNow() };
        var client = new StunClient(sender.Send, new StunClientOptions { TimeProvider = clock });
        using var cts = new CancellationTokenSource();
        Task<StunResponse> cancelled = client.BindingAsync(Server, cancellationToken: cts.Token);
        Task<StunResponse> disposed = client.BindingAsync(Server);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        await client.DisposeAsync();
        PeerException e = await Assert.ThrowsAsync<PeerException>(() => disposed);
        Assert.Equal(PeerError.ConnectionClosed, e.Error);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => client.BindingAsync(Server));
    }

    [Fact]
    public async Task Too_many_pending_requests_are_refused()
    {
        var clock = new FakeTimeProvider();
        var sender = new RecordingSender { Clock = clock, Start = clock.GetUtcNow() };
        await using var client = new StunClient(sender.Send, new StunClientOptions { TimeProvider = clock, MaxPendingTransactions = 2 });
        _ = client.BindingAsync(Server);
        _ = client.BindingAsync(Server);
        PeerException e = await Assert.ThrowsAsync<PeerException>(() => client.BindingAsync(Server));
        Assert.Equal(PeerError.LimitExceeded, e.Error);
    }

    [Fact]
    public void Options_are_validated()
    {
        var net = new MemoryDatagramNetwork();
        IDatagramBind bind = net.CreateBind(new IPEndPoint(IPAddress.Loopback, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => StunClient.Create(bind, new StunClientOptions { MaxSends = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => StunClient.Create(bind, new StunClientOptions { InitialRetransmitTimeout = TimeSpan.Zero }));
        Assert.Throws<ArgumentOutOfRangeException>(() => StunClient.Create(bind, new StunClientOptions { FinalWaitMultiplier = 0 }));
    }
}
