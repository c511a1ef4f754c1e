using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Pinhole;

/// <summary>
/// Settings shared by dialed and accepted connections. Every limit has a safe default; <see cref="Validate"/>
/// runs before any socket is touched and names the offending option.
/// </summary>
public class PeerConnectionOptions
{
    /// <summary>This node's identity (required).</summary>
    public NodeIdentity? Identity { get; set; }

    /// <summary>
    /// Application protocols this node accepts on inbound streams (<see cref="PeerConnection.AcceptStreamAsync"/>).
    /// Empty (the default) accepts any protocol the peer names. Ping and identify are always served and never surface.
    /// </summary>
    public IList<string> Protocols { get; init; } = [];

    /// <summary>
    /// Protocols that may run on a limited connection (one a relay carries under a <see cref="ConnectionLimit"/>), both
    /// for streams the peer opens and for <see cref="PeerConnection.OpenStreamAsync(string, CancellationToken)"/>. Ping and identify always may.
    /// Add only protocols that need little data and time (e.g. <c>/libp2p/dcutr</c>); the rest wait for a direct connection.
    /// </summary>
    public IList<string> LimitedConnectionProtocols { get; init; } = [];

    /// <summary>Whole connection upgrade (multistream, TLS, muxer) must finish within this. Default 10 s.</summary>
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>A connection with no open stream and no traffic for this long is closed. Default 5 min; <see cref="TimeSpan.Zero"/> disables.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Interval of keep-alive pings. Default 30 s; <see cref="TimeSpan.Zero"/> disables.</summary>
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// A keep-alive ping unanswered for this long means the peer is gone (killed, unplugged, its NAT mapping lost):
    /// the connection closes and every pending operation fails with <see cref="PeerError.ConnectionClosed"/>. A dead peer
    /// is noticed within <see cref="KeepAliveInterval"/> + this. Default 15 s.
    /// </summary>
    public TimeSpan KeepAliveTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Open streams per connection, both directions together. Default 512.</summary>
    public int MaxStreamsPerConnection { get; set; } = 512;

    /// <summary>Inbound streams not yet accepted by the application. Default 256; more are reset.</summary>
    public int MaxPendingInboundStreams { get; set; } = 256;

    /// <summary>
    /// Largest yamux data frame accepted from a peer; a bigger one is a protocol violation that closes the connection.
    /// Default 16 MiB, the largest window, because go-yamux sends frames as large as the window allows.
    /// A frame may also never exceed the receive window the peer was granted.
    /// </summary>
    public int MaxFrameSize { get; set; } = 16 * 1024 * 1024;

    /// <summary>Per-stream receive window at start (yamux minimum, 256 KiB).</summary>
    public int InitialStreamWindow { get; set; } = 256 * 1024;

    /// <summary>Largest per-stream receive window auto-tuning may reach. Default 16 MiB.</summary>
    public int MaxStreamWindow { get; set; } = 16 * 1024 * 1024;

    /// <summary>Time source for every timer (tests pass a manual one).</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Logging.</summary>
    public ILoggerFactory LoggerFactory { get; set; } = NullLoggerFactory.Instance;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public virtual void Validate()
    {
        if (Identity is null)
        {
            throw new ArgumentException($"{nameof(Identity)} is required.", nameof(Identity));
        }
        Positive(HandshakeTimeout, nameof(HandshakeTimeout));
        NotNegative(IdleTimeout, nameof(IdleTimeout));
        NotNegative(KeepAliveInterval, nameof(KeepAliveInterval));
        Positive(KeepAliveTimeout, nameof(KeepAliveTimeout));
        if (MaxStreamsPerConnection < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxStreamsPerConnection), MaxStreamsPerConnection, "Must be at least 1.");
        }
        if (MaxPendingInboundStreams < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxPendingInboundStreams), MaxPendingInboundStreams, "Must be at least 1.");
        }
        if (InitialStreamWindow < 256 * 1024)
        {
            throw new ArgumentOutOfRangeException(nameof(InitialStreamWindow), InitialStreamWindow, "yamux requires at least 256 KiB.");
        }
        if (MaxStreamWindow < InitialStreamWindow)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxStreamWindow), MaxStreamWindow, $"Must be at least {nameof(InitialStreamWindow)}.");
        }
        if (MaxFrameSize < 1024)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxFrameSize), MaxFrameSize, "Must be at least 1 KiB.");
        }
        foreach (var protocol in Protocols.Concat(LimitedConnectionProtocols))
        {
            if (string.IsNullOrEmpty(protocol) || protocol.Length > 1000 || protocol.Contains('\n', StringComparison.Ordinal))
            {
                throw new ArgumentException($"Invalid protocol id '{protocol}': non-empty, at most 1000 characters, no newline.", Protocols.Contains(protocol) ? nameof(Protocols) : nameof(LimitedConnectionProtocols));
            }
        }
        ArgumentNullException.ThrowIfNull(TimeProvider, nameof(TimeProvider));
        ArgumentNullException.ThrowIfNull(LoggerFactory, nameof(LoggerFactory));
    }

    private protected static void Positive(TimeSpan value, string name)
    {
        if (value <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(name, value, "Must be positive.");
        }
    }

    private protected static void NotNegative(TimeSpan value, string name)
    {
        if (value < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(name, value, "Must not be negative.");
        }
    }
}
