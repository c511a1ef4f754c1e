using System.Diagnostics.Metrics;

namespace Pinhole.Ocapn.Internal;

/// <summary>Counters of the tcp-tls netlayer, under the meter <c>Pinhole.Ocapn</c>.</summary>
internal static class OcapnMetrics
{
    private static readonly Meter Meter = new("Pinhole.Ocapn");

    internal static readonly UpDownCounter<int> LiveConnections =
        Meter.CreateUpDownCounter<int>("pinhole.ocapn.tcp_tls.live_connections", description: "Inbound connections counted against MaxConnections.");

    internal static readonly Counter<long> Accepted =
        Meter.CreateCounter<long>("pinhole.ocapn.tcp_tls.accepted", description: "Inbound connections whose TLS handshake completed.");

    internal static readonly Counter<long> RefusedOverCap =
        Meter.CreateCounter<long>("pinhole.ocapn.tcp_tls.refused", description: "Inbound connections refused at the connection cap.");

    internal static readonly Counter<long> HandshakeFailures =
        Meter.CreateCounter<long>("pinhole.ocapn.tcp_tls.handshake_failures", description: "Inbound handshakes that failed or timed out.");

    internal static readonly Counter<long> Dialed =
        Meter.CreateCounter<long>("pinhole.ocapn.tcp_tls.dialed", description: "Outbound connections that completed the designator check and TLS.");
}
