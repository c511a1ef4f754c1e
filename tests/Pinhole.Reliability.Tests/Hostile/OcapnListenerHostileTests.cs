using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Pinhole.Connections;
using Pinhole.Ocapn;
using Pinhole.Reliability.Tests.Support;
using Pinhole.Testing;
using Xunit.Abstractions;

namespace Pinhole.Reliability.Tests.Hostile;

/// <summary>
/// Hostile clients against a real OCapN tcp-tls listener (frozen clock: only admission control can let the real
/// dialer in). Sockets that merely connected no longer count against MaxConnections.
/// </summary>
[Collection(nameof(HostileCollection))]
public sealed class OcapnListenerHostileTests(ITestOutputHelper output)
{
    private static readonly Lazy<OcapnNode> Node = new(() => OcapnNode.Create());

    [Theory]
    [InlineData(AttackKind.Silent, 1000)]
    [InlineData(AttackKind.Slowloris, 1000)]
    [InlineData(AttackKind.Garbage, 1000)]
    [InlineData(AttackKind.OversizedRecord, 1000)]
    [InlineData(AttackKind.StalledRecord, 1000)]
    [InlineData(AttackKind.StalledAfterHello, 300)]
    public async Task A_real_dialer_gets_in_while_strangers_attack(AttackKind kind, int connections)
    {
        ProcessLimits.RaiseFileDescriptorLimit();
        using var failures = new MetricCollector<long>(null, AdmissionMetrics.MeterName, "pinhole.handshake.failed");
        using var refusals = new MetricCollector<long>(null, AdmissionMetrics.MeterName, "pinhole.connection.refused");
        await using var listener = await OcapnTcpTlsNetlayer.ListenAsync(new OcapnTcpTlsListenerOptions
        {
            Node = Node.Value,
            ListenEndPoint = new IPEndPoint(IPAddress.Loopback, 0),
            PersistListenPort = false,
            TimeProvider = Clocks.StartingNow(),
        });
        await using var attack = Attack.Start(listener.LocalEndPoint, kind, connections, addresses: 250, multistream: false);
        await attack.WaitForConnectsAsync(connections, TimeSpan.FromSeconds(120));
        var connectsBefore = attack.Connects;
        Assert.Equal(connections, attack.SlotsRunning);
        var times = new List<TimeSpan>();
        for (var i = 0; i < 3; i++)
        {
            var watch = Stopwatch.StartNew();
            await using var connection = await OcapnTcpTlsNetlayer.ConnectAsync(listener.Locator, new OcapnTcpTlsConnectOptions { HandshakeTimeout = Dialer.HandshakeTimeout }, Dialer.Bounded());
            await using var accepted = await listener.AcceptAsync(Dialer.Bounded());
            watch.Stop();
            times.Add(watch.Elapsed);
            Assert.Equal(Node.Value.Designator, connection.RemoteDesignator);
        }
        // The attack went on while the real dialers connected: every slot still holds or remakes its connection
        // (a state, not a count sampled at some moment: how many reconnects happen meanwhile depends on the load).
        Assert.Equal(connections, attack.SlotsRunning);
        Assert.Equal(0, listener.LiveConnections);
        output.WriteLine($"tcp-tls {kind}: {connections} hostile connections ({attack.Connects} connects, {attack.Connects - connectsBefore} while the real dialer dialled); real dialer in " +
            string.Join(", ", times.Select(t => $"{t.TotalMilliseconds:0} ms")) + "; failures: " +
            string.Join(", ", failures.GetMeasurementSnapshot().GroupBy(m => m.Tags["reason"]).Select(g => $"{g.Key} {g.Sum(m => m.Value)}")) +
            "; refusals: " + string.Join(", ", refusals.GetMeasurementSnapshot().GroupBy(m => m.Tags["reason"]).Select(g => $"{g.Key} {g.Sum(m => m.Value)}")));
    }
}
