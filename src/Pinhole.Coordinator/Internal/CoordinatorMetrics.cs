using System.Diagnostics.Metrics;

namespace Pinhole.Coordinator.Internal;

/// <summary>Counters of the <c>Pinhole.Coordinator</c> meter.</summary>
internal sealed class CoordinatorMetrics : IDisposable
{
    public const string MeterName = "Pinhole.Coordinator";

    private readonly Meter _meter = new(MeterName);

    public CoordinatorMetrics()
    {
        RecordsWritten = _meter.CreateCounter<long>("pinhole.coordinator.records.written", description: "Records stored.");
        RecordsRefused = _meter.CreateCounter<long>("pinhole.coordinator.records.refused", description: "Records refused when written.");
        Redemptions = _meter.CreateCounter<long>("pinhole.coordinator.redemptions", description: "Invites redeemed.");
        Subscribers = _meter.CreateUpDownCounter<long>("pinhole.coordinator.subscribers", description: "Live change subscriptions.");
        ChangesSent = _meter.CreateCounter<long>("pinhole.coordinator.changes.sent", description: "Change messages sent to subscribers.");
        Requests = _meter.CreateCounter<long>("pinhole.coordinator.requests.stored", description: "Sealed requests stored.");
    }

    public Counter<long> RecordsWritten { get; }
    public Counter<long> RecordsRefused { get; }
    public Counter<long> Redemptions { get; }
    public UpDownCounter<long> Subscribers { get; }
    public Counter<long> ChangesSent { get; }
    public Counter<long> Requests { get; }

    public void Dispose() => _meter.Dispose();
}
