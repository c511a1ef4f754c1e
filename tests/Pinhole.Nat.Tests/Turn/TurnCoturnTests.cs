using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Pinhole.Dtls;
using Pinhole.Nat.Tests.Support;
using Pinhole.Testing;

namespace Pinhole.Nat.Tests.Turn;

/// <summary>
/// The TURN client against a real coturn on 127.0.0.1 (started per test at a free port, killed by PID): every
/// RFC 8656 exchange, coturn's refusals with their codes, a restart that forgets the allocation, and DTLS end to
/// end through two allocations with the relayed bytes read on the way.
/// </summary>
public sealed class TurnCoturnTests
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(60);

    private static UdpMux Mux(IDatagramBind? bind = null) => UdpMux.Create(bind ?? UdpDatagramBind.Bind(new IPEndPoint(IPAddress.Loopback, 0)), new UdpMuxOptions
    {
        StunClient = new StunClientOptions { InitialRetransmitTimeout = TimeSpan.FromMilliseconds(200), MaxSends = 7, FinalWaitMultiplier = 16 },
    });

    [ToolFact("turnserver")]
    public async Task Allocates_refreshes_and_relays_both_framings_through_coturn()
    {
        await using Coturn coturn = await Coturn.StartAsync();
        await using UdpMux mux = Mux();
        using var guard = new CancellationTokenSource(HangGuard);
        await using TurnAllocation allocation = await TurnAllocation.AllocateAsync(mux, coturn.Options(), guard.Token);

        Assert.Equal(IPAddress.Loopback, allocation.RelayedAddress.Address);
        Assert.NotEqual(coturn.Port, allocation.RelayedAddress.Port);
        Assert.Equal(mux.LocalEndPoint, allocation.MappedAddress);
        Assert.Equal(Coturn.ServerRealm, allocation.Realm);
        Assert.Equal(TimeSpan.FromSeconds(600), allocation.Lifetime);
        Assert.Equal(TimeSpan.FromSeconds(600), await allocation.RefreshAsync(guard.Token));

        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        peer.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var peerAddress = (IPEndPoint)peer.LocalEndPoint!;
        var received = Channel.CreateUnbounded<(TurnPeerEndPoint From, byte[] Data)>();
        allocation.SetDataHandler((from, data) => received.Writer.TryWrite((from, data.ToArray())));

        // Without a permission coturn drops a peer's datagram. It is sent from an address that never gets one (permissions
        // are per IP address: from 127.0.0.1 the datagram could reach coturn after the permission for it and be relayed
        // before our client saw the permission's answer); with a permission, Send and Data indications carry data.
        using (var stranger = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
        {
            stranger.Bind(new IPEndPoint(IPAddress.Parse("127.0.0.2"), 0));
            await stranger.SendToAsync("too early"u8.ToArray(), SocketFlags.None, allocation.RelayedAddress, guard.Token);
        }
        await allocation.CreatePermissionAsync(peerAddress, guard.Token);
        await allocation.SendAsync(peerAddress, "send indication"u8.ToArray(), guard.Token);
        (byte[] atPeer, IPEndPoint from) = await ReceiveAsync(peer, guard.Token);
        Assert.Equal("send indication"u8.ToArray(), atPeer);
        Assert.Equal(allocation.RelayedAddress, from);
        await peer.SendToAsync("data indication"u8.ToArray(), SocketFlags.None, allocation.RelayedAddress, guard.Token);
        (TurnPeerEndPoint source, byte[] data) = await received.Reader.ReadAsync(guard.Token);
        Assert.Equal("data indication"u8.ToArray(), data);
        Assert.Equal(peerAddress, source.Peer);

        // With a channel: ChannelData both ways, 4 bytes of framing.
        TurnPeerEndPoint bound = await allocation.BindChannelAsync(peerAddress, guard.Token);
        Assert.Same(source, bound);
        await bound.SendAsync("channel data"u8.ToArray(), guard.Token);
        (atPeer, from) = await ReceiveAsync(peer, guard.Token);
        Assert.Equal("channel data"u8.ToArray(), atPeer);
        Assert.Equal(allocation.RelayedAddress, from);
        await peer.SendToAsync("back on the channel"u8.ToArray(), SocketFlags.None, allocation.RelayedAddress, guard.Token);
        (source, data) = await received.Reader.ReadAsync(guard.Token);
        Assert.Equal("back on the channel"u8.ToArray(), data);
        Assert.Same(bound, source);
        Assert.False(received.Reader.TryRead(out _));   // "too early" never came
        Assert.Equal((2L, 2L, 0L), allocation.Statistics);

        // Refreshing permissions and channels is accepted by coturn as is.
        await allocation.RefreshPermissionsAsync(guard.Token);
        await allocation.RefreshChannelsAsync(guard.Token);
    }

    [ToolFact("turnserver")]
    public async Task Coturn_refuses_with_precise_codes()
    {
        await using Coturn coturn = await Coturn.StartAsync("--user-quota=1", "--denied-peer-ip=127.0.0.77");
        using var guard = new CancellationTokenSource(HangGuard);

        await using (UdpMux wrong = Mux())
        {
            TurnException e = await Assert.ThrowsAsync<TurnException>(() => TurnAllocation.AllocateAsync(wrong, coturn.Options(password: "not the password"), guard.Token));
            Assert.Equal(PeerError.Refused, e.Error);
            Assert.Equal(StunErrorCode.Unauthenticated, e.ErrorCode);
            Assert.Contains($"credentials of '{Coturn.User}'", e.Message, StringComparison.Ordinal);
        }

        await using UdpMux first = Mux();
        await using TurnAllocation allocation = await TurnAllocation.AllocateAsync(first, coturn.Options(), guard.Token);

        // 403 for a peer coturn forbids.
        TurnException denied = await Assert.ThrowsAsync<TurnException>(() => allocation.CreatePermissionAsync(new IPEndPoint(IPAddress.Parse("127.0.0.77"), 9), guard.Token));
        Assert.Equal(StunErrorCode.Forbidden, denied.ErrorCode);
        Assert.Equal(PeerError.Refused, denied.Error);
        Assert.True(allocation.IsActive);

        // 486 for a second allocation of the same user.
        await using UdpMux second = Mux();
        TurnException quota = await Assert.ThrowsAsync<TurnException>(() => TurnAllocation.AllocateAsync(second, coturn.Options(), guard.Token));
        Assert.Equal(StunErrorCode.AllocationQuotaReached, quota.ErrorCode);
        Assert.Equal(PeerError.LimitExceeded, quota.Error);

        // Disposing deletes the allocation on coturn (Refresh with LIFETIME 0), which frees the user's quota.
        await allocation.DisposeAsync();
        // coturn releases the quota when its next timer tick tears the session down (about a second after it
        // answered the delete): until then it keeps answering 486, so ask again (bounded only as a hang guard).
        TurnAllocation? next = null;
        while (next is null)
        {
            try
            {
                next = await TurnAllocation.AllocateAsync(second, coturn.Options(), guard.Token);
            }
            catch (TurnException again) when (again.ErrorCode == StunErrorCode.AllocationQuotaReached)
            {
                await Task.Delay(100, guard.Token);
            }
        }
        await using TurnAllocation freed = next;
        Assert.True(freed.IsActive);
    }

    [ToolFact("turnserver")]
    public async Task A_stale_nonce_is_renewed_and_a_restarted_server_makes_the_allocation_lost()
    {
        await using Coturn coturn = await Coturn.StartAsync("--stale-nonce=2");
        var bind = RecordingBind.Udp(new IPEndPoint(IPAddress.Loopback, 0));
        await using UdpMux mux = Mux(bind);
        using var guard = new CancellationTokenSource(HangGuard);
        await using TurnAllocation allocation = await TurnAllocation.AllocateAsync(mux, coturn.Options(), guard.Token);
        var lost = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        allocation.Lost += (_, e) => lost.TrySetResult(e.Reason);

        // Past the nonce's 2 s lifetime (by coturn's own clock, which lags on a loaded machine) coturn answers 438
        // and the refresh succeeds with the new nonce: refresh every second until that has happened.
        bool Stale() => bind.Received.Any(d => StunMessage.TryParse(d.Data, out StunMessage? m, out _) && m.ErrorCode?.Code == StunErrorCode.StaleNonce);
        while (!Stale())
        {
            await Task.Delay(TimeSpan.FromSeconds(1), guard.Token);
            await allocation.RefreshAsync(guard.Token);
        }
        Assert.True(allocation.IsActive);

        // A restarted coturn knows neither the nonce nor the allocation: 437 after the new challenge, and the allocation is lost.
        await coturn.RestartAsync();
        TurnException e = await Assert.ThrowsAsync<TurnException>(() => allocation.RefreshAsync(guard.Token));
        Assert.Equal(StunErrorCode.AllocationMismatch, e.ErrorCode);
        Assert.Equal(PeerError.ConnectionClosed, e.Error);
        Assert.Contains("437", await lost.Task.WaitAsync(guard.Token), StringComparison.Ordinal);
        Assert.False(allocation.IsActive);
        TurnException closed = await Assert.ThrowsAsync<TurnException>(() => allocation.BindChannelAsync(new IPEndPoint(IPAddress.Loopback, 9), guard.Token));
        Assert.Equal(PeerError.ConnectionClosed, closed.Error);
    }

    [ToolFact("turnserver")]
    public async Task Dtls_runs_end_to_end_through_two_allocations_and_coturn_relays_ciphertext_only()
    {
        await using Coturn coturn = await Coturn.StartAsync();
        using var guard = new CancellationTokenSource(HangGuard);
        var bindA = RecordingBind.Udp(new IPEndPoint(IPAddress.Loopback, 0));
        var bindB = RecordingBind.Udp(new IPEndPoint(IPAddress.Loopback, 0));
        await using UdpMux muxA = Mux(bindA);
        await using UdpMux muxB = Mux(bindB);
        await using TurnAllocation turnA = await TurnAllocation.AllocateAsync(muxA, coturn.Options(), guard.Token);
        await using TurnAllocation turnB = await TurnAllocation.AllocateAsync(muxB, coturn.Options(), guard.Token);

        // Each side learned the other's relay candidate over signalling; each binds a channel to it.
        TurnPeerEndPoint bToA = await turnB.BindChannelAsync(turnA.RelayedAddress, guard.Token);
        TurnPeerEndPoint aToB = await turnA.BindChannelAsync(turnB.RelayedAddress, guard.Token);

        byte[] secret = "the relay must never read this sentence"u8.ToArray();
        byte[] reply = "nor this answer, going the other way"u8.ToArray();
        await DtlsExchange.RunAsync(muxA, aToB, muxB, bToA, secret, reply, guard.Token);

        // Everything the peers got from coturn was ChannelData wrapping DTLS records, none holding the plaintext.
        foreach (RecordingBind bind in new[] { bindA, bindB })
        {
            byte[][] relayed = [.. bind.Received.Where(d => DatagramClassifier.Classify(d.Data) == DatagramKind.ChannelData).Select(d => d.Data)];
            Assert.NotEmpty(relayed);
            foreach (byte[] datagram in relayed)
            {
                TurnChannelData.Parse(datagram, out ReadOnlySpan<byte> payload);
                Assert.Equal(DatagramKind.Dtls, DatagramClassifier.Classify(payload));
                Assert.Equal(-1, datagram.AsSpan().IndexOf(secret));
                Assert.Equal(-1, datagram.AsSpan().IndexOf(reply));
            }
        }
        Assert.Equal(0, turnA.Statistics.Dropped + turnB.Statistics.Dropped);
    }

    private static async Task<(byte[] Data, IPEndPoint From)> ReceiveAsync(Socket socket, CancellationToken cancellationToken)
    {
        var buffer = new byte[2048];
        SocketReceiveFromResult r = await socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), cancellationToken);
        return (buffer[..r.ReceivedBytes], (IPEndPoint)r.RemoteEndPoint);
    }
}
