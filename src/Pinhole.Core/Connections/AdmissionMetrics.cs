using System.Diagnostics.Metrics;

namespace Pinhole.Connections;

/// <summary>
/// Admission counters of every inbound listener (tcp, tcp-tls, udp), under the meter <c>Pinhole.Net</c>.
/// Attributes: <c>network.transport</c> (<c>tcp</c>, <c>tcp-tls</c>, <c>udp</c>) and <c>reason</c> (a fixed
/// word, never an address or a peer id: attackers must not be able to grow the metric's cardinality).
/// docs/reliability.md lists every reason.
/// </summary>
internal static class AdmissionMetrics
{
    public const string MeterName = "Pinhole.Net";

    private static readonly Meter Meter = new(MeterName);

    /// <summary><c>pinhole.connection.refused</c>: inbound connections turned away before or after authentication.</summary>
    public static readonly Counter<long> Refused = Meter.CreateCounter<long>(
        "pinhole.connection.refused", "{connection}", "Inbound connections refused, by reason.");

    /// <summary><c>pinhole.handshake.failed</c>: inbound handshakes that ended without a connection.</summary>
    public static readonly Counter<long> HandshakeFailed = Meter.CreateCounter<long>(
        "pinhole.handshake.failed", "{handshake}", "Inbound handshakes that failed, timed out or were evicted, by reason.");

    /// <summary><c>pinhole.handshake.active</c>: inbound handshakes holding a slot of the budget.</summary>
    public static readonly UpDownCounter<long> HandshakesActive = Meter.CreateUpDownCounter<long>(
        "pinhole.handshake.active", "{handshake}", "Inbound handshakes in progress.");

    /// <summary><c>pinhole.connection.accepted</c>: inbound connections authenticated and handed to the application.</summary>
    public static readonly Counter<long> Accepted = Meter.CreateCounter<long>(
        "pinhole.connection.accepted", "{connection}", "Inbound connections authenticated and queued for accept.");

    /// <summary><c>pinhole.listener.accept_errors</c>: failed accept calls (out of descriptors, memory, ...).</summary>
    public static readonly Counter<long> AcceptErrors = Meter.CreateCounter<long>(
        "pinhole.listener.accept_errors", "{error}", "accept() failures; the loop backs off and retries.");

    public static readonly Counter<long> DescriptorShortage = Meter.CreateCounter<long>(
        "pinhole.listener.descriptor_shortage", "{connection}",
        "Sockets accepted while the process was short of file descriptors: a stranger's handshake was evicted to give one back (action=evicted) or the socket was reset (action=reset).");

    public static void CountDescriptorShortage(string transport, string action) =>
        DescriptorShortage.Add(1, new KeyValuePair<string, object?>("network.transport", transport), new KeyValuePair<string, object?>("action", action));

    public static void CountRefused(string transport, string reason) =>
        Refused.Add(1, new KeyValuePair<string, object?>("network.transport", transport), new KeyValuePair<string, object?>("reason", reason));

    public static void CountHandshakeFailed(string transport, string reason) =>
        HandshakeFailed.Add(1, new KeyValuePair<string, object?>("network.transport", transport), new KeyValuePair<string, object?>("reason", reason));

    public static void CountAcceptError(string transport, string reason) =>
        AcceptErrors.Add(1, new KeyValuePair<string, object?>("network.transport", transport), new KeyValuePair<string, object?>("reason", reason));

    public static void CountAccepted(string transport) =>
        Accepted.Add(1, new KeyValuePair<string, object?>("network.transport", transport));

    public static void HandshakeStarted(string transport) =>
        HandshakesActive.Add(1, new KeyValuePair<string, object?>("network.transport", transport));

    public static void HandshakeEnded(string transport) =>
        HandshakesActive.Add(-1, new KeyValuePair<string, object?>("network.transport", transport));
}
