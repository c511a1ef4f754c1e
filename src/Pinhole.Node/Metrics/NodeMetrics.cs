using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Pinhole.Node;

/// <summary>
/// The node's instruments on the <see cref="MeterName"/> meter, named after OpenTelemetry's conventions and
/// Kestrel's stable metrics (docs/node.md, "Metrics"). Peer ids and addresses never appear as attributes.
/// </summary>
internal sealed class NodeMetrics : IDisposable
{
    public const string MeterName = "Pinhole.Node";

    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly UpDownCounter<long> _activeConnections;
    private readonly Histogram<double> _connectionDuration;
    private readonly Counter<long> _rejectedConnections;
    private readonly Histogram<double> _dialDuration;
    private readonly UpDownCounter<long> _activeStreams;
    private readonly Counter<long> _datagramSessions;
    private long _closedSent;
    private long _closedReceived;

    public NodeMetrics(IMeterFactory? factory, Func<IEnumerable<NodeConnectionInfo>> connections, Func<int> knownPeers)
    {
        _ownsMeter = factory is null;
        _meter = factory?.Create(new MeterOptions(MeterName)) ?? new Meter(MeterName);
        _activeConnections = _meter.CreateUpDownCounter<long>("pinhole.active_connections", "{connection}", "Connections the node holds (in use and draining).");
        _connectionDuration = _meter.CreateHistogram<double>("pinhole.connection.duration", "s", "How long connections lasted.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.1, 1, 10, 60, 300, 900, 3600, 14400, 86400] });
        _rejectedConnections = _meter.CreateCounter<long>("pinhole.rejected_connections", "{connection}", "Connections the node closed at once because of a limit.");
        _dialDuration = _meter.CreateHistogram<double>("pinhole.dial.duration", "s", "Connects by PeerId (every address, handshakes included); error.type is set when it failed.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] });
        _activeStreams = _meter.CreateUpDownCounter<long>("pinhole.active_streams", "{stream}", "Inbound streams being served by a protocol handler.");
        _datagramSessions = _meter.CreateCounter<long>("pinhole.datagram.sessions", "{session}", "DTLS sessions established, by direction.");
        _meter.CreateObservableCounter("pinhole.network.io", () => Io(connections), "By", "Bytes sent and received on the node's connections (multiplexer level).");
        _meter.CreateObservableUpDownCounter("pinhole.known_peers", () => (long)knownPeers(), "{peer}", "Peers in the peer store.");
    }

    public Meter Meter => _meter;

    public void ConnectionOpened(ManagedConnection c) => _activeConnections.Add(1, Tags(c.Connection, c.Path));

    public void ConnectionClosed(ManagedConnection c, TimeSpan duration)
    {
        var tags = Tags(c.Connection, c.Path);
        _activeConnections.Add(-1, tags);
        if (c.Connection.Completion.IsFaulted)
        {
            tags.Add("error.type", (c.Connection.Completion.Exception?.InnerException as PeerException)?.Error.ToString() ?? "other");
        }
        _connectionDuration.Record(duration.TotalSeconds, tags);
        Interlocked.Add(ref _closedSent, c.Connection.BytesSent);
        Interlocked.Add(ref _closedReceived, c.Connection.BytesReceived);
    }

    public void ConnectionRefused(PeerConnection c, string reason)
    {
        var tags = Tags(c, ConnectionPathKind.Direct);
        tags.Add("error.type", reason.Contains("MaxConnectionsPerPeer", StringComparison.Ordinal) ? "peer_limit"
            : reason.Contains("MaxConnections", StringComparison.Ordinal) ? "connection_limit" : "stopping");
        _rejectedConnections.Add(1, tags);
    }

    public void Dialled(string? error, TimeSpan duration)
    {
        var tags = new TagList();
        if (error is not null)
        {
            tags.Add("error.type", error);
        }
        _dialDuration.Record(duration.TotalSeconds, tags);
    }

    public void StreamOpened(string protocol) => _activeStreams.Add(1, new KeyValuePair<string, object?>("pinhole.protocol", protocol));

    public void StreamClosed(string protocol) => _activeStreams.Add(-1, new KeyValuePair<string, object?>("pinhole.protocol", protocol));

    public void DatagramSession(bool inbound) => _datagramSessions.Add(1, new KeyValuePair<string, object?>("pinhole.connection.direction", inbound ? "inbound" : "outbound"));

    private IEnumerable<Measurement<long>> Io(Func<IEnumerable<NodeConnectionInfo>> connections)
    {
        long sent = Interlocked.Read(ref _closedSent), received = Interlocked.Read(ref _closedReceived);
        foreach (var c in connections())
        {
            sent += c.BytesSent;
            received += c.BytesReceived;
        }
        return
        [
            new Measurement<long>(sent, new KeyValuePair<string, object?>("network.io.direction", "transmit")),
            new Measurement<long>(received, new KeyValuePair<string, object?>("network.io.direction", "receive")),
        ];
    }

    private static TagList Tags(PeerConnection c, ConnectionPathKind path) => new()
    {
        { "network.transport", c.Netlayer },
        { "pinhole.connection.direction", c.IsInbound ? "inbound" : "outbound" },
        { "pinhole.connection.path", path == ConnectionPathKind.Direct ? "direct" : "relayed" },
    };

    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }
}
