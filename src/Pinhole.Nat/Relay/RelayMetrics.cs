using System.Diagnostics.Metrics;

namespace Pinhole.Nat.Relay;

/// <summary>The relay's instruments (meter <c>Pinhole.Nat.Relay</c>).</summary>
internal sealed class RelayMetrics : IDisposable
{
    public const string MeterName = "Pinhole.Nat.Relay";

    private readonly Meter? _owned;
    private readonly Counter<long> _reservationRequests;
    private readonly Counter<long> _circuitRequests;
    private readonly Counter<long> _circuitsEnded;
    private readonly Counter<long> _bytes;

    public RelayMetrics(IMeterFactory? factory, Func<int> reservations, Func<int> circuits)
    {
        var meter = factory?.Create(MeterName) ?? (_owned = new Meter(MeterName));
        meter.CreateObservableUpDownCounter("pinhole.relay.reservations", reservations, "{reservation}", "Reservations held");
        meter.CreateObservableUpDownCounter("pinhole.relay.circuits", circuits, "{circuit}", "Circuits open");
        _reservationRequests = meter.CreateCounter<long>("pinhole.relay.reservation.requests", "{request}", "RESERVE requests, by status");
        _circuitRequests = meter.CreateCounter<long>("pinhole.relay.circuit.requests", "{request}", "CONNECT requests, by status");
        _circuitsEnded = meter.CreateCounter<long>("pinhole.relay.circuits.ended", "{circuit}", "Circuits ended, by reason");
        _bytes = meter.CreateCounter<long>("pinhole.relay.bytes", "By", "Bytes relayed (both directions)");
    }

    public void Reservation(RelayStatus status) => _reservationRequests.Add(1, new KeyValuePair<string, object?>("status", RelayException.Name(status)));

    public void Circuit(RelayStatus status) => _circuitRequests.Add(1, new KeyValuePair<string, object?>("status", RelayException.Name(status)));

    public void Ended(Protocol.CircuitEnd reason) => _circuitsEnded.Add(1, new KeyValuePair<string, object?>("reason", reason.ToString()));

    public void Bytes(int count) => _bytes.Add(count);

    public void Dispose() => _owned?.Dispose();
}
