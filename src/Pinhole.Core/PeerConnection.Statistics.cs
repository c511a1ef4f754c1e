namespace Pinhole;

public sealed partial class PeerConnection
{
    /// <summary>
    /// Bytes sent on this connection so far, counted at the multiplexer (yamux frames with their headers,
    /// before TLS): what a connection list or a traffic counter shows.
    /// </summary>
    public long BytesSent => _session.Writer.Written;

    /// <summary>Bytes received on this connection so far, counted like <see cref="BytesSent"/>.</summary>
    public long BytesReceived => _session.BytesReceived;

    /// <summary>
    /// The latest round-trip time the multiplexer measured (its ping at session start and its keep-alives),
    /// or null before the first measurement. <see cref="PingAsync"/> measures one on demand.
    /// </summary>
    public TimeSpan? RoundTripTime => _session.LastRtt;

    /// <summary>
    /// How long the connection has had no open stream and no stream traffic (keep-alive pings do not count);
    /// zero while a stream is open. Measured on the connection's <see cref="PeerConnectionOptions.TimeProvider"/>.
    /// </summary>
    public TimeSpan IdleTime => _session.OpenStreamCount > 0
        ? TimeSpan.Zero
        : _options.TimeProvider.GetElapsedTime(_session.LastActivityTimestamp);
}
