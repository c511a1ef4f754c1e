using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using Pinhole.Connections;
using Pinhole.Reliability.Tests.Support;
using Pinhole.Testing;
using Xunit.Abstractions;

namespace Pinhole.Reliability.Tests.Hostile;

/// <summary>Thousands of refusals and failed handshakes: every one counted in metrics, a handful of log lines.</summary>
[Collection(nameof(HostileCollection))]
public sealed class LoggingUnderAttackTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Refusals_are_counted_in_metrics_and_logged_rate_limited()
    {
        using var identity = NodeIdentity.Generate();
        var clock = Clocks.StartingNow(); // frozen: the throttle's window never ends, so each kind is logged once
        var logs = new CountingLoggerFactory();
        using var refused = new MetricCollector<long>(null, AdmissionMetrics.MeterName, "pinhole.connection.refused");
        using var failed = new MetricCollector<long>(null, AdmissionMetrics.MeterName, "pinhole.handshake.failed");
        await using (var listener = await PeerListener.ListenAsync(Dialer.Options(identity, clock, o => o.LoggerFactory = logs)))
        {
            await using var attack = Attack.Start(Dialer.EndPoint(listener), AttackKind.Mixed, 1500, addresses: 250);
            await attack.WaitForConnectsAsync(3000, TimeSpan.FromSeconds(120));
        }
        var refusals = refused.GetMeasurementSnapshot().Sum(m => m.Value);
        var failures = failed.GetMeasurementSnapshot().Sum(m => m.Value);
        var lines = logs.CountAtLeast(LogLevel.Information);
        output.WriteLine($"{refusals} refusals and {failures} failed handshakes counted; {lines} log lines at Information or above:\n  " + string.Join("\n  ", logs.Messages));
        Assert.True(refusals + failures > 1000, $"only {refusals + failures} events: the attack did not happen");
        Assert.True(lines <= 6, $"{lines} log lines");
        Assert.Equal(0, logs.CountAtLeast(LogLevel.Warning));
    }
}
