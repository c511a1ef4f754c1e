using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Pinhole.Connections;
using Pinhole.Dtls;
using Pinhole.Reliability.Tests.Support;
using Pinhole.Testing;
using Xunit.Abstractions;

namespace Pinhole.Reliability.Tests.Hostile;

/// <summary>DTLS half-open floods against a real endpoint on loopback UDP; the server's clock is frozen, so only eviction frees state.</summary>
[Collection(nameof(HostileCollection))]
public sealed class DtlsHostileTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Half_open_sessions_from_a_hundred_addresses_do_not_keep_a_real_peer_out()
    {
        using var serverId = NodeIdentity.Generate();
        using var clientId = NodeIdentity.Generate();
        using var attackerId = NodeIdentity.Generate();
        using var evictions = new MetricCollector<long>(null, AdmissionMetrics.MeterName, "pinhole.handshake.failed");
        var clock = Clocks.StartingNow();
        await using var listener = await DtlsListener.ListenAsync(new DtlsEndpointOptions
        {
            Identity = serverId,
            Bind = UdpDatagramBind.Bind(new IPEndPoint(IPAddress.Loopback, 0)),
            TimeProvider = clock,
            HandshakeBurstPerAddress = 64, // the frozen clock never refills: let each attacking address open its share
        });
        using var attack = new HalfOpenDtls(attackerId);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        // 1,024 half-open sessions from 100 addresses: the default MaxSessions, all of them.
        for (var i = 0; i < 1024; i++)
        {
            await attack.OpenAsync(Attack.SourceAddress(i, 100), listener.LocalEndPoint, cts.Token);
        }
        Assert.True(attack.Opened > 900, $"only {attack.Opened} half-open sessions were opened");
        var halfOpen = listener.Endpoint.HalfOpen.Count;

        await using var client = DtlsEndpoint.Create(new DtlsEndpointOptions { Identity = clientId, Bind = UdpDatagramBind.Bind(new IPEndPoint(IPAddress.Loopback, 0)), HandshakeTimeout = Dialer.HandshakeTimeout });
        var watch = Stopwatch.StartNew();
        var accept = listener.AcceptAsync(cts.Token).AsTask();
        await using var connection = await client.ConnectAsync(listener.LocalEndPoint, serverId.PeerId, cts.Token);
        await using var accepted = await accept;
        watch.Stop();
        Assert.Equal(clientId.PeerId, accepted.RemotePeer);
        await connection.SendAsync(new byte[] { 7 }, cts.Token);
        Assert.Equal(new byte[] { 7 }, await accepted.ReceiveAsync(cts.Token));
        output.WriteLine($"DTLS: {attack.Opened} half-open sessions from 100 addresses (budget holding {halfOpen}); " +
            $"real peer connected in {watch.Elapsed.TotalMilliseconds:0} ms; evicted {evictions.GetMeasurementSnapshot().Where(m => m.Tags["reason"] as string == "evicted").Sum(m => m.Value)}");
    }
}
