using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Time.Testing;
using Pinhole.Nat.Mapping;

namespace Pinhole.Nat.Tests.PortMapping;

/// <summary>
/// The port mapper's life cycle against a scripted NAT-PMP gateway on loopback, on a fake clock: renewal exactly
/// at half-life, epoch resets, moved and lost mappings, delete on dispose, and the naive CGNAT router that
/// reports a 100.64 address (miniupnpd refuses to, so the lab cannot show that case).
/// </summary>
public sealed class PortMapperBehaviourTests
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Renews_at_half_of_the_granted_lifetime_and_deletes_on_dispose()
    {
        var clock = new FakeTimeProvider();
        await using var gateway = new ScriptedNatPmpGateway(clock) { GrantedLifetime = 3600 };
        PortMapper mapper = PortMapper.Create(gateway.Options(4000));
        using var guard = new CancellationTokenSource(HangGuard);
        global::Pinhole.Nat.PortMapping mapping = (await mapper.MapAsync(guard.Token))!;
        Assert.Equal(new IPEndPoint(ScriptedNatPmpGateway.PublicAddress, 4000), mapping.External);
        Assert.Equal(TimeSpan.FromHours(1), mapping.Lifetime);
        Assert.Equal(clock.GetUtcNow() + TimeSpan.FromHours(1), mapping.Expires);

        var changes = new Changes(mapper);
        clock.Advance(TimeSpan.FromMinutes(30) - TimeSpan.FromSeconds(1));
        Assert.Equal(0, mapper.RenewalsStarted);
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, mapper.RenewalsStarted);
        PortMappingChangedEventArgs renewed = await changes.NextAsync(guard.Token);
        Assert.Equal(PortMappingChange.Renewed, renewed.Change);
        Assert.Equal(clock.GetUtcNow() + TimeSpan.FromHours(1), renewed.Mapping!.Expires);
        // The renewal suggests the port we hold, for the same internal port.
        Assert.Equal((4000, 4000, 7200u), gateway.MapRequests[^1]);

        // And again half a lease later.
        clock.Advance(TimeSpan.FromMinutes(30));
        Assert.Equal(PortMappingChange.Renewed, (await changes.NextAsync(guard.Token)).Change);

        await mapper.DisposeAsync();
        Assert.Equal(PortMappingChange.Deleted, (await changes.NextAsync(guard.Token)).Change);
        // RFC 6886 §3.4: delete = lifetime 0, suggested external port 0.
        Assert.Equal((4000, 0, 0u), gateway.MapRequests[^1]);
        Assert.Null(mapper.Current);
    }

    [Fact]
    public async Task An_epoch_that_went_back_means_the_gateway_rebooted_and_the_mapping_is_made_again()
    {
        var clock = new FakeTimeProvider();
        await using var gateway = new ScriptedNatPmpGateway(clock) { GrantedLifetime = 600 };
        await using PortMapper mapper = PortMapper.Create(gateway.Options(4001));
        using var guard = new CancellationTokenSource(HangGuard);
        Assert.NotNull(await mapper.MapAsync(guard.Token));
        var changes = new Changes(mapper);

        // A gateway whose epoch keeps pace with our clock has not rebooted.
        clock.Advance(TimeSpan.FromSeconds(300));
        Assert.Equal(PortMappingChange.Renewed, (await changes.NextAsync(guard.Token)).Change);
        Assert.Equal(0, mapper.GatewayResets);

        // It reboots: its epoch starts again from zero (RFC 6886 §3.6).
        gateway.Reboot();
        clock.Advance(TimeSpan.FromSeconds(300));
        PortMappingChangedEventArgs change = await changes.NextAsync(guard.Token);
        Assert.Equal(PortMappingChange.Recreated, change.Change);
        Assert.Equal(1, mapper.GatewayResets);
        Assert.Contains("epoch", change.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_renewal_that_gets_another_port_is_a_move_and_one_that_gets_no_answer_a_loss()
    {
        var clock = new FakeTimeProvider();
        await using var gateway = new ScriptedNatPmpGateway(clock) { GrantedLifetime = 600 };
        await using PortMapper mapper = PortMapper.Create(gateway.Options(4002));
        using var guard = new CancellationTokenSource(HangGuard);
        Assert.NotNull(await mapper.MapAsync(guard.Token));
        var changes = new Changes(mapper);

        gateway.NextExternalPort = 51000;
        clock.Advance(TimeSpan.FromSeconds(300));
        PortMappingChangedEventArgs moved = await changes.NextAsync(guard.Token);
        Assert.Equal(PortMappingChange.Moved, moved.Change);
        Assert.Equal(51000, moved.Mapping!.External.Port);

        gateway.Silent = true;
        clock.Advance(TimeSpan.FromSeconds(300));
        // Each retransmission waits on the fake clock: step it until the mapper gives up (4 sends by default).
        Task<PortMappingChangedEventArgs> lost = changes.NextAsync(guard.Token);
        while (!lost.IsCompleted)
        {
            clock.Advance(TimeSpan.FromSeconds(1));
            await Task.WhenAny(lost, Task.Delay(10, guard.Token));
        }
        PortMappingChangedEventArgs change = await lost;
        Assert.Equal(PortMappingChange.Lost, change.Change);
        Assert.Null(change.Mapping);
        Assert.Null(mapper.Current);
    }

    [Fact]
    public async Task A_naive_router_behind_a_cgnat_maps_on_its_100_64_address_which_is_flagged_as_double_nat()
    {
        var clock = new FakeTimeProvider();
        await using var gateway = new ScriptedNatPmpGateway(clock) { External = IPAddress.Parse("100.64.7.2") };
        await using PortMapper mapper = PortMapper.Create(gateway.Options(4003));
        using var guard = new CancellationTokenSource(HangGuard);
        global::Pinhole.Nat.PortMapping mapping = (await mapper.MapAsync(guard.Token))!;
        Assert.True(mapping.BehindAnotherNat);

        NetcheckPortMapping probe = await PortMapper.ProbeAsync(gateway.Options(4003), guard.Token);
        Assert.Equal("100.64.7.2", probe.ExternalAddress);
        var report = new NetcheckReport { PublicIPv4 = "203.0.113.107:4003", PortMapping = probe };
        Pinhole.Nat.Netcheck.CheckDoubleNat(report);
        Assert.True(report.DoubleNat);
        Assert.Contains(report.Notes, n => n.Contains("100.64.7.2", StringComparison.Ordinal));

        // The same gateway with a public address that STUN confirms is no double NAT.
        var single = new NetcheckReport { PublicIPv4 = "203.0.113.107:4003", PortMapping = new NetcheckPortMapping { ExternalAddress = "203.0.113.107" } };
        Pinhole.Nat.Netcheck.CheckDoubleNat(single);
        Assert.False(single.DoubleNat);
    }

    [Fact]
    public async Task A_gateway_with_no_public_address_answers_network_failure_and_nothing_is_mapped()
    {
        var clock = new FakeTimeProvider();
        await using var gateway = new ScriptedNatPmpGateway(clock) { ExternalAddressResult = NatPmpCodec.ResultNetworkFailure };
        await using PortMapper mapper = PortMapper.Create(gateway.Options(4004));
        using var guard = new CancellationTokenSource(HangGuard);
        Assert.Null(await mapper.MapAsync(guard.Token));
        Assert.True(mapper.GatewayLacksPublicAddress);
        Assert.Empty(gateway.MapRequests);
    }

    /// <summary>Options whose sockets fail with a socket error GatewayUdp does not read as "no answer" once <paramref name="failing"/> says so.</summary>
    private static PortMapperOptions Failing(PortMapperOptions options, Func<bool> failing)
    {
        options.SocketFactory = (family, type, protocol) => failing()
            ? throw new SocketException((int)SocketError.NetworkDown)
            : new Socket(family, type, protocol);
        return options;
    }

    [Fact]
    public async Task A_renewal_that_throws_on_the_timer_publishes_lost_and_stops_renewing()
    {
        var clock = new FakeTimeProvider();
        await using var gateway = new ScriptedNatPmpGateway(clock) { GrantedLifetime = 600 };
        var down = false;
        await using PortMapper mapper = PortMapper.Create(Failing(gateway.Options(4005), () => Volatile.Read(ref down)));
        using var guard = new CancellationTokenSource(HangGuard);
        Assert.NotNull(await mapper.MapAsync(guard.Token));
        var changes = new Changes(mapper);

        Volatile.Write(ref down, true);
        clock.Advance(TimeSpan.FromSeconds(300));
        PortMappingChangedEventArgs lost = await changes.NextAsync(guard.Token);
        Assert.Equal(PortMappingChange.Lost, lost.Change);
        Assert.Contains("NatPmp", lost.Reason, StringComparison.Ordinal);
        Assert.Null(mapper.Current);

        // Nothing is left to renew: no timer fires again.
        clock.Advance(TimeSpan.FromSeconds(600));
        Assert.Equal(1, mapper.RenewalsStarted);
    }

    [Fact]
    public async Task A_renewal_that_throws_when_called_returns_null_after_publishing_lost()
    {
        var clock = new FakeTimeProvider();
        await using var gateway = new ScriptedNatPmpGateway(clock) { GrantedLifetime = 600 };
        var down = false;
        await using PortMapper mapper = PortMapper.Create(Failing(gateway.Options(4006), () => Volatile.Read(ref down)));
        using var guard = new CancellationTokenSource(HangGuard);
        Assert.NotNull(await mapper.MapAsync(guard.Token));
        var changes = new Changes(mapper);

        Volatile.Write(ref down, true);
        Assert.Null(await mapper.RenewAsync(guard.Token));
        Assert.Equal(PortMappingChange.Lost, (await changes.NextAsync(guard.Token)).Change);
        Assert.Null(mapper.Current);
    }

    [Fact]
    public async Task A_change_subscriber_that_throws_at_a_renewal_does_not_end_renewal_silently()
    {
        var clock = new FakeTimeProvider();
        await using var gateway = new ScriptedNatPmpGateway(clock) { GrantedLifetime = 600 };
        await using PortMapper mapper = PortMapper.Create(gateway.Options(4007));
        using var guard = new CancellationTokenSource(HangGuard);
        Assert.NotNull(await mapper.MapAsync(guard.Token));
        var changes = new Changes(mapper);
        mapper.Changed += (_, e) =>
        {
            if (e.Change == PortMappingChange.Renewed)
            {
                throw new InvalidOperationException("subscriber bug");
            }
        };

        clock.Advance(TimeSpan.FromSeconds(300));
        Assert.Equal(PortMappingChange.Renewed, (await changes.NextAsync(guard.Token)).Change);
        PortMappingChangedEventArgs lost = await changes.NextAsync(guard.Token);
        Assert.Equal(PortMappingChange.Lost, lost.Change);
        Assert.Contains("subscriber bug", lost.Reason, StringComparison.Ordinal);
        Assert.Null(mapper.Current);
    }

    [Fact]
    public async Task A_few_second_lease_is_renewed_two_seconds_before_it_ends_not_at_half_life()
    {
        var clock = new FakeTimeProvider();
        await using var gateway = new ScriptedNatPmpGateway(clock) { GrantedLifetime = 10 };
        await using PortMapper mapper = PortMapper.Create(gateway.Options(4008));
        using var guard = new CancellationTokenSource(HangGuard);
        Assert.Equal(TimeSpan.FromSeconds(10), (await mapper.MapAsync(guard.Token))!.Lifetime);
        clock.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(0, mapper.RenewalsStarted);
        clock.Advance(TimeSpan.FromSeconds(3) - TimeSpan.FromMilliseconds(1));
        Assert.Equal(0, mapper.RenewalsStarted);
        clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(1, mapper.RenewalsStarted);
    }

    [Theory]
    [InlineData(7200, 3600)]
    [InlineData(60, 30)]
    [InlineData(40, 30)]
    [InlineData(10, 8)]
    [InlineData(4, 2)]
    [InlineData(2, 1)]
    [InlineData(1, 1)]
    public void The_renewal_delay_is_half_life_floored_for_short_leases(int lifetimeSeconds, int expectedSeconds) =>
        Assert.Equal(TimeSpan.FromSeconds(expectedSeconds), PortMapper.RenewalDelay(TimeSpan.FromSeconds(lifetimeSeconds)));

    /// <summary>The mapper's change events, one at a time.</summary>
    private sealed class Changes
    {
        private readonly System.Threading.Channels.Channel<PortMappingChangedEventArgs> _events = System.Threading.Channels.Channel.CreateUnbounded<PortMappingChangedEventArgs>();

        public Changes(PortMapper mapper) => mapper.Changed += (_, e) => _events.Writer.TryWrite(e);

        public Task<PortMappingChangedEventArgs> NextAsync(CancellationToken cancellationToken) => _events.Reader.ReadAsync(cancellationToken).AsTask();
    }
}

/// <summary>A NAT-PMP gateway on 127.0.0.1 (port 0) that answers as scripted; its epoch runs on the given clock.</summary>
internal sealed class ScriptedNatPmpGateway : IAsyncDisposable
{
    public static readonly IPAddress PublicAddress = IPAddress.Parse("203.0.113.107");

    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    private readonly TimeProvider _clock;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private long _epochStart;

    public ScriptedNatPmpGateway(TimeProvider clock)
    {
        _clock = clock;
        _epochStart = clock.GetTimestamp();
        _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _loop = Task.Run(ServeAsync);
    }

    public IPAddress External { get; set; } = PublicAddress;

    public ushort ExternalAddressResult { get; set; }

    public uint GrantedLifetime { get; set; } = 7200;

    public int? NextExternalPort { get; set; }

    public bool Silent { get; set; }

    /// <summary>(internal port, suggested external port, requested lifetime) of every map request.</summary>
    public List<(int Internal, int Suggested, uint Lifetime)> MapRequests { get; } = [];

    public PortMapperOptions Options(int internalPort) => new()
    {
        Gateway = IPAddress.Loopback,
        LocalAddress = IPAddress.Loopback,
        InternalPort = internalPort,
        Protocols = PortMappingProtocols.NatPmp,
        TimeProvider = _clock,
        PmpPort = ((IPEndPoint)_socket.LocalEndPoint!).Port,
    };

    public void Reboot() => _epochStart = _clock.GetTimestamp();

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _socket.Dispose();
        try
        {
            await _loop;
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }
        _stop.Dispose();
    }

    private uint Epoch => (uint)_clock.GetElapsedTime(_epochStart).TotalSeconds;

    private async Task ServeAsync()
    {
        var buffer = new byte[64];
        while (!_stop.IsCancellationRequested)
        {
            SocketReceiveFromResult r = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), _stop.Token);
            if (Silent || r.ReceivedBytes < 2 || buffer[0] != 0)
            {
                continue;
            }
            byte[] reply;
            if (buffer[1] == NatPmpCodec.OpExternalAddress)
            {
                reply = new byte[12];
                reply[1] = 128;
                BinaryPrimitives.WriteUInt16BigEndian(reply.AsSpan(2), ExternalAddressResult);
                BinaryPrimitives.WriteUInt32BigEndian(reply.AsSpan(4), Epoch);
                External.GetAddressBytes().CopyTo(reply, 8);
            }
            else if (buffer[1] is NatPmpCodec.OpMapUdp or NatPmpCodec.OpMapTcp && r.ReceivedBytes == 12)
            {
                ushort internalPort = BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(4));
                ushort suggested = BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(6));
                uint lifetime = BinaryPrimitives.ReadUInt32BigEndian(buffer.AsSpan(8));
                lock (MapRequests)
                {
                    MapRequests.Add((internalPort, suggested, lifetime));
                }
                reply = new byte[16];
                reply[1] = (byte)(128 + buffer[1]);
                BinaryPrimitives.WriteUInt32BigEndian(reply.AsSpan(4), Epoch);
                BinaryPrimitives.WriteUInt16BigEndian(reply.AsSpan(8), internalPort);
                BinaryPrimitives.WriteUInt16BigEndian(reply.AsSpan(10), lifetime == 0 ? (ushort)0 : (ushort)(NextExternalPort ?? (suggested == 0 ? internalPort : suggested)));
                BinaryPrimitives.WriteUInt32BigEndian(reply.AsSpan(12), lifetime == 0 ? 0 : Math.Min(lifetime, GrantedLifetime));
            }
            else
            {
                continue;
            }
            await _socket.SendToAsync(reply, SocketFlags.None, r.RemoteEndPoint, _stop.Token);
        }
    }
}
