using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Time.Testing;

namespace Pinhole.Nat.Tests.Turn;

/// <summary>The TURN client against a scripted server on loopback: the RFC 8656 exchanges, the timers on a fake clock, and hostile replies.</summary>
public sealed class TurnAllocationTests
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(60);

    // Retransmissions span 16 s, so a loaded machine's slow answer still arrives in time (the scripted server
    // answers retransmissions without recording them twice); only the silent-server test wants a short span.
    private static UdpMux Mux(TimeProvider? time = null, bool quickTimeout = false) => UdpMux.Bind(new IPEndPoint(IPAddress.Loopback, 0), new UdpMuxOptions
    {
        TimeProvider = time ?? TimeProvider.System,
        StunClient = quickTimeout
            ? new StunClientOptions { InitialRetransmitTimeout = TimeSpan.FromMilliseconds(100), MaxSends = 3, FinalWaitMultiplier = 4 }
            : new StunClientOptions { InitialRetransmitTimeout = TimeSpan.FromMilliseconds(200), MaxSends = 7, FinalWaitMultiplier = 16 },
    });

    [Fact]
    public async Task Allocates_after_the_401_challenge_with_the_long_term_credential()
    {
        await using var server = new ScriptedTurnServer();
        await using UdpMux mux = Mux();
        using var guard = new CancellationTokenSource(HangGuard);
        await using TurnAllocation allocation = await TurnAllocation.AllocateAsync(mux, server.Options(), guard.Token);

        Assert.Equal(server.Relayed, allocation.RelayedAddress);
        Assert.Equal(mux.LocalEndPoint, allocation.MappedAddress);
        Assert.Equal(TimeSpan.FromSeconds(600), allocation.Lifetime);
        Assert.Equal(ScriptedTurnServer.ServerRealm, allocation.Realm);
        StunMessage[] allocates = [.. server.Received.Where(m => m.Method == StunMethod.Allocate)];
        Assert.Equal(2, allocates.Length);
        Assert.False(allocates[0].HasMessageIntegrity);
        Assert.Equal((byte)17, allocates[0].RequestedTransport);
        Assert.True(allocates[1].VerifyMessageIntegrity(server.Key));
        Assert.Equal(ScriptedTurnServer.User, allocates[1].Username);
        Assert.Equal(server.Nonce, allocates[1].Nonce);
    }

    [Fact]
    public async Task A_stale_nonce_is_retried_with_the_new_one_and_a_server_that_keeps_refusing_is_an_error()
    {
        await using var server = new ScriptedTurnServer();
        await using UdpMux mux = Mux();
        using var guard = new CancellationTokenSource(HangGuard);
        await using TurnAllocation allocation = await TurnAllocation.AllocateAsync(mux, server.Options(), guard.Token);

        server.Nonce = "nonce-2";
        await allocation.RefreshAsync(guard.Token);
        StunMessage[] refreshes = [.. server.Received.Where(m => m.Method == StunMethod.Refresh)];
        Assert.Equal(["nonce-1", "nonce-2"], refreshes.Select(m => m.Nonce));

        // A server that answers 438 every time, nonce after nonce: bounded retries, then the error.
        int n = 2;
        server.Override = m => m.Method == StunMethod.CreatePermission ? server.Error(m, StunErrorCode.StaleNonce, "Stale Nonce", b => b.AddText(StunAttributeType.Nonce, $"nonce-{++n}")) : null;
        TurnException e = await Assert.ThrowsAsync<TurnException>(() => allocation.CreatePermissionAsync(new IPEndPoint(IPAddress.Parse("192.0.2.7"), 9), guard.Token));
        Assert.Equal(StunErrorCode.StaleNonce, e.ErrorCode);
        Assert.Equal(4, server.Count(StunMethod.CreatePermission));

        // A 401 with a fresh nonce is retried once, but not into another realm.
        server.Override = m => m.Method == StunMethod.Refresh
            ? server.Error(m, 401, "Unauthenticated", b => b.AddText(StunAttributeType.Realm, "elsewhere").AddText(StunAttributeType.Nonce, "fresh"))
            : null;
        e = await Assert.ThrowsAsync<TurnException>(() => allocation.RefreshAsync(guard.Token));
        Assert.Equal(PeerError.ProtocolViolation, e.Error);
        Assert.Contains("realm", e.Message, StringComparison.Ordinal);
        Assert.False(allocation.IsActive);
    }

    [Fact]
    public async Task Wrong_credentials_are_refused_with_the_servers_code()
    {
        await using var server = new ScriptedTurnServer();
        await using UdpMux mux = Mux();
        using var guard = new CancellationTokenSource(HangGuard);
        TurnClientOptions options = server.Options();
        options.Password = "not it";
        TurnException e = await Assert.ThrowsAsync<TurnException>(() => TurnAllocation.AllocateAsync(mux, options, guard.Token));
        Assert.Equal(PeerError.Refused, e.Error);
        Assert.Equal(StunErrorCode.Unauthenticated, e.ErrorCode);
        Assert.Contains(ScriptedTurnServer.User, e.Message, StringComparison.Ordinal);
        Assert.Equal(2, server.Count(StunMethod.Allocate));
    }

    public static TheoryData<string, PeerError, int?, string> HostileAllocateReplies => new()
    {
        { "401 without REALM", PeerError.ProtocolViolation, StunErrorCode.Unauthenticated, "REALM" },
        { "401 without NONCE", PeerError.ProtocolViolation, StunErrorCode.Unauthenticated, "NONCE" },
        { "success without MESSAGE-INTEGRITY", PeerError.ProtocolViolation, null, "MESSAGE-INTEGRITY" },
        { "success with another key's MESSAGE-INTEGRITY", PeerError.ProtocolViolation, null, "MESSAGE-INTEGRITY" },
        { "success without XOR-RELAYED-ADDRESS", PeerError.ProtocolViolation, null, "XOR-RELAYED-ADDRESS" },
        { "success without LIFETIME", PeerError.ProtocolViolation, null, "LIFETIME" },
        { "success with a relayed port 0", PeerError.ProtocolViolation, null, "unusable" },
        { "success with an unknown comprehension-required attribute", PeerError.ProtocolViolation, null, "comprehension-required" },
        { "error without ERROR-CODE", PeerError.ProtocolViolation, null, "ERROR-CODE" },
        { "486 quota", PeerError.LimitExceeded, StunErrorCode.AllocationQuotaReached, "486" },
        { "508 capacity", PeerError.LimitExceeded, StunErrorCode.InsufficientCapacity, "508" },
        { "442 transport", PeerError.Refused, StunErrorCode.UnsupportedTransportProtocol, "442" },
        { "300 try alternate", PeerError.Refused, StunErrorCode.TryAlternate, "192.0.2.1:3478" },
        { "401 again with credentials", PeerError.Refused, StunErrorCode.Unauthenticated, "credentials" },
    };

    [Theory]
    [MemberData(nameof(HostileAllocateReplies))]
    public async Task Hostile_allocate_replies_get_precise_errors(string reply, PeerError error, int? code, string mentions)
    {
        await using var server = new ScriptedTurnServer();
        byte[] otherKey = StunCredentials.LongTermKey("mallory", ScriptedTurnServer.ServerRealm, "x");
        server.Override = m =>
        {
            if (m.Method != StunMethod.Allocate)
            {
                return null;
            }
            bool authenticated = m.HasMessageIntegrity;
            StunMessageBuilder ok = server.Success(m);
            return reply switch
            {
                "401 without REALM" => server.Error(m, 401, "Unauthenticated", b => b.AddText(StunAttributeType.Nonce, "n")),
                "401 without NONCE" => server.Error(m, 401, "Unauthenticated", b => b.AddText(StunAttributeType.Realm, "r")),
                "401 again with credentials" => authenticated
                    ? server.Error(m, 401, "Unauthenticated", b => b.AddText(StunAttributeType.Realm, "elsewhere").AddText(StunAttributeType.Nonce, "fresh"))
                    : null,
                _ when !authenticated => null,
                "success without MESSAGE-INTEGRITY" => ok.AddXorAddress(StunAttributeType.XorRelayedAddress, server.Relayed).AddUInt32(StunAttributeType.Lifetime, 600).AddFingerprint().ToArray(),
                "success with another key's MESSAGE-INTEGRITY" => server.Seal(ok.AddXorAddress(StunAttributeType.XorRelayedAddress, server.Relayed).AddUInt32(StunAttributeType.Lifetime, 600), otherKey),
                "success without XOR-RELAYED-ADDRESS" => server.Seal(ok.AddUInt32(StunAttributeType.Lifetime, 600)),
                "success without LIFETIME" => server.Seal(ok.AddXorAddress(StunAttributeType.XorRelayedAddress, server.Relayed)),
                "success with a relayed port 0" => server.Seal(ok.AddXorAddress(StunAttributeType.XorRelayedAddress, new IPEndPoint(server.Relayed.Address, 0)).AddUInt32(StunAttributeType.Lifetime, 600)),
                "success with an unknown comprehension-required attribute" => server.Seal(ok.AddXorAddress(StunAttributeType.XorRelayedAddress, server.Relayed).AddUInt32(StunAttributeType.Lifetime, 600).AddUInt32(0x7F01, 1)),
                "error without ERROR-CODE" => new StunMessageBuilder(m.Method, StunClass.ErrorResponse, m.TransactionId).AddFingerprint().ToArray(),
                "486 quota" => server.Error(m, 486, "Allocation Quota Reached"),
                "508 capacity" => server.Error(m, 508, "Insufficient Capacity"),
                "442 transport" => server.Error(m, 442, "Unsupported Transport Protocol"),
                "300 try alternate" => server.Error(m, 300, "Try Alternate", b => b.AddAddress(StunAttributeType.AlternateServer, new IPEndPoint(IPAddress.Parse("192.0.2.1"), 3478))),
                _ => throw new InvalidOperationException(reply),
            };
        };
        await using UdpMux mux = Mux();
        using var guard = new CancellationTokenSource(HangGuard);
        TurnException e = await Assert.ThrowsAsync<TurnException>(() => TurnAllocation.AllocateAsync(mux, server.Options(), guard.Token));
        Assert.Equal(error, e.Error);
        Assert.Equal(code, e.ErrorCode);
        Assert.Contains(mentions, e.Message, StringComparison.Ordinal);
        // The mux survives and serves the next allocation.
        server.Override = null;
        await using TurnAllocation next = await TurnAllocation.AllocateAsync(mux, server.Options(), guard.Token);
        Assert.True(next.IsActive);
    }

    [Fact]
    public async Task A_response_from_another_address_is_not_the_servers()
    {
        await using var server = new ScriptedTurnServer();
        using var impostor = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        impostor.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        server.Override = m =>
        {
            // Answer the first Allocate from another socket, with the right transaction ID.
            impostor.SendTo(server.Error(m, 401, "Unauthenticated", b => b.AddText(StunAttributeType.Realm, "r").AddText(StunAttributeType.Nonce, "n")), server.Client!);
            return [];
        };
        await using UdpMux mux = Mux();
        using var guard = new CancellationTokenSource(HangGuard);
        TurnException e = await Assert.ThrowsAsync<TurnException>(() => TurnAllocation.AllocateAsync(mux, server.Options(), guard.Token));
        Assert.Equal(PeerError.ProtocolViolation, e.Error);
        Assert.Contains("not the TURN server", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_silent_server_is_a_timeout()
    {
        await using var server = new ScriptedTurnServer { Override = _ => [] };
        await using UdpMux mux = Mux(quickTimeout: true);
        using var guard = new CancellationTokenSource(HangGuard);
        PeerException e = await Assert.ThrowsAnyAsync<PeerException>(() => TurnAllocation.AllocateAsync(mux, server.Options(), guard.Token));
        Assert.Equal(PeerError.Timeout, e.Error);
    }

    [Fact]
    public async Task Permissions_channels_and_data_travel_in_both_framings_and_bad_ones_are_dropped()
    {
        await using var server = new ScriptedTurnServer();
        await using UdpMux mux = Mux();
        using var guard = new CancellationTokenSource(HangGuard);
        await using TurnAllocation allocation = await TurnAllocation.AllocateAsync(mux, server.Options(), guard.Token);
        var peer = new IPEndPoint(IPAddress.Parse("192.0.2.50"), 4242);
        var stranger = new IPEndPoint(IPAddress.Parse("192.0.2.51"), 4242);
        var received = System.Threading.Channels.Channel.CreateUnbounded<(TurnPeerEndPoint, byte[])>();
        allocation.SetDataHandler((p, data) => received.Writer.TryWrite((p, data.ToArray())));

        await allocation.CreatePermissionAsync(peer, guard.Token);
        StunMessage permission = server.Received.Last(m => m.Method == StunMethod.CreatePermission);
        Assert.Equal([peer], permission.XorPeerAddresses);

        // Without a channel: Send indication out, Data indication in.
        await allocation.SendAsync(peer, "via send"u8.ToArray(), guard.Token);
        await Eventually(() => server.Count(StunMethod.Send, StunClass.Indication) == 1, guard.Token);
        StunMessage send = server.Received.Single(m => m.Method == StunMethod.Send);
        Assert.Equal(peer, send.XorPeerAddress);
        Assert.Equal("via send"u8.ToArray(), send.Data!.Value.ToArray());
        await server.SendToClientAsync(DataIndication(stranger, "no permission"u8));
        await server.SendToClientAsync(new StunMessageBuilder(StunMethod.Data, StunClass.Indication, StunTransactionId.NewRandom()).Add(StunAttributeType.Data, "no peer"u8).ToArray());
        await server.SendToClientAsync(DataIndication(peer, "via data"u8));
        (TurnPeerEndPoint from, byte[] bytes) = await received.Reader.ReadAsync(guard.Token);
        Assert.Equal(allocation.GetPeerEndPoint(peer), from);
        Assert.Equal("via data"u8.ToArray(), bytes);
        Assert.Equal(2, allocation.Statistics.Dropped);

        // With a channel: ChannelData both ways; hostile ChannelData is dropped.
        TurnPeerEndPoint bound = await allocation.BindChannelAsync(peer, guard.Token);
        StunMessage bind = server.Received.Last(m => m.Method == StunMethod.ChannelBind);
        ushort channel = bind.ChannelNumber!.Value;
        Assert.Equal(TurnChannelData.MinChannel, channel);
        await bound.SendAsync("via channel"u8.ToArray(), guard.Token);
        await Eventually(() => server.ChannelDataReceived.Count == 1, guard.Token);
        Assert.Equal(channel, TurnChannelData.Parse(server.ChannelDataReceived[0], out ReadOnlySpan<byte> sent));
        Assert.Equal("via channel"u8.ToArray(), sent.ToArray());
        await server.SendToClientAsync([0x40, 0x09, 0, 1, 7]);                 // unbound channel
        await server.SendToClientAsync([(byte)(channel >> 8), (byte)channel, 0, 9, 1, 2]); // length beyond the datagram
        await server.SendToClientAsync(ChannelData(channel, "back on channel"u8));
        (from, bytes) = await received.Reader.ReadAsync(guard.Token);
        Assert.Same(bound, from);
        Assert.Equal("back on channel"u8.ToArray(), bytes);
        Assert.Equal(4, allocation.Statistics.Dropped);
        Assert.Equal(2, allocation.Statistics.Received);
    }

    [Fact]
    public async Task Timers_refresh_before_expiry_reinstall_permissions_rebind_channels_and_keep_the_nat_open()
    {
        var clock = new FakeTimeProvider();
        await using var server = new ScriptedTurnServer { GrantedLifetime = 600 };
        await using UdpMux mux = Mux();
        using var guard = new CancellationTokenSource(HangGuard);
        await using TurnAllocation allocation = await TurnAllocation.AllocateAsync(mux, server.Options(clock), guard.Token);
        var peer = new IPEndPoint(IPAddress.Parse("192.0.2.50"), 4242);
        await allocation.BindChannelAsync(peer, guard.Token);
        int permissions = server.Count(StunMethod.CreatePermission), binds = server.Count(StunMethod.ChannelBind), refreshes = server.Count(StunMethod.Refresh);

        clock.Advance(TimeSpan.FromSeconds(15));
        await Eventually(() => server.Count(StunMethod.Binding, StunClass.Indication) == 1, guard.Token);
        clock.Advance(TimeSpan.FromSeconds(225));   // 240 s: permissions re-installed
        await Eventually(() => server.Count(StunMethod.CreatePermission) == permissions + 1, guard.Token);
        Assert.Equal(peer, server.Received.Last(m => m.Method == StunMethod.CreatePermission).XorPeerAddress);
        Assert.Equal(binds, server.Count(StunMethod.ChannelBind));
        Assert.Equal(refreshes, server.Count(StunMethod.Refresh));

        // 540 s: channels re-bound, and the allocation refreshed (600 s lifetime − 60 s margin); permissions again at 480 s.
        clock.Advance(TimeSpan.FromSeconds(300));
        await Eventually(() => server.Count(StunMethod.ChannelBind) == binds + 1 && server.Count(StunMethod.Refresh) == refreshes + 1
            && server.Count(StunMethod.CreatePermission) == permissions + 2, guard.Token);
        await Eventually(() => allocation.Expires == clock.GetUtcNow() + TimeSpan.FromSeconds(600), guard.Token);
        // A Binding indication every 15 s kept the NAT's mapping to the server open.
        await Eventually(() => server.Count(StunMethod.Binding, StunClass.Indication) == 36, guard.Token);
    }

    [Fact]
    public async Task A_server_that_forgot_the_allocation_makes_it_lost_and_dispose_deletes_a_live_one()
    {
        var clock = new FakeTimeProvider();
        await using var server = new ScriptedTurnServer { GrantedLifetime = 120 };
        await using UdpMux mux = Mux();
        using var guard = new CancellationTokenSource(HangGuard);
        TurnAllocation allocation = await TurnAllocation.AllocateAsync(mux, server.Options(clock), guard.Token);
        var lost = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        allocation.Lost += (_, e) => lost.TrySetResult(e.Reason);
        server.Override = m => m.Method == StunMethod.Refresh ? server.Seal(new StunMessageBuilder(m.Method, StunClass.ErrorResponse, m.TransactionId).AddErrorCode(437, "Allocation Mismatch")) : null;

        clock.Advance(TimeSpan.FromSeconds(60));   // half of a 120 s lifetime (the 60 s margin would be sooner)
        string reason = await lost.Task.WaitAsync(guard.Token);
        Assert.Contains("437", reason, StringComparison.Ordinal);
        Assert.False(allocation.IsActive);
        await allocation.SendAsync(new IPEndPoint(IPAddress.Loopback, 9), new byte[1], guard.Token);
        Assert.Equal(1, allocation.Statistics.Dropped);
        await Assert.ThrowsAsync<TurnException>(() => allocation.CreatePermissionAsync(new IPEndPoint(IPAddress.Loopback, 9), guard.Token));
        int refreshes = server.Count(StunMethod.Refresh);
        await allocation.DisposeAsync();
        Assert.Equal(refreshes, server.Count(StunMethod.Refresh));   // nothing to delete

        server.Override = null;
        TurnAllocation live = await TurnAllocation.AllocateAsync(mux, server.Options(clock), guard.Token);
        await live.DisposeAsync();
        StunMessage delete = server.Received.Last(m => m.Method == StunMethod.Refresh);
        Assert.Equal(TimeSpan.Zero, delete.Lifetime);
        Assert.True(delete.VerifyMessageIntegrity(server.Key));
    }

    private static byte[] DataIndication(IPEndPoint peer, ReadOnlySpan<byte> data) =>
        new StunMessageBuilder(StunMethod.Data, StunClass.Indication, StunTransactionId.NewRandom()).AddXorAddress(StunAttributeType.XorPeerAddress, peer).Add(StunAttributeType.Data, data).ToArray();

    private static byte[] ChannelData(ushort channel, ReadOnlySpan<byte> data)
    {
        var buffer = new byte[4 + data.Length];
        TurnChannelData.Write(channel, data, buffer);
        return buffer;
    }

    private static async Task Eventually(Func<bool> condition, CancellationToken cancellationToken)
    {
        while (!condition())
        {
            await Task.Delay(5, cancellationToken);
        }
    }
}
