namespace Pinhole.Transport.Yamux;

/// <summary>Limits and timers of a <see cref="YamuxSession"/>. Every default is safe for the open internet.</summary>
internal sealed class YamuxSessionOptions
{
    /// <summary>The window every yamux stream starts with (spec: 256 KiB); smaller is not allowed.</summary>
    public const int SpecInitialWindow = 256 * 1024;

    /// <summary>Receive window of a new stream, in bytes. Default and minimum 256 KiB (the spec's initial
    /// window); a larger value is announced with the SYN or ACK.</summary>
    public int InitialStreamWindow { get; set; } = SpecInitialWindow;

    /// <summary>Largest receive window auto-tuning may grow a stream to, in bytes. Default 16 MiB. It also
    /// bounds the memory one stream can hold.</summary>
    public int MaxStreamWindow { get; set; } = 16 * 1024 * 1024;

    /// <summary>Budget for the receive windows of all streams together, in bytes. Default 64 MiB. Every stream
    /// always gets <see cref="InitialStreamWindow"/>; auto-tuning grows a window only while the sum of all
    /// windows stays within this budget, which bounds what a peer can make the session buffer.</summary>
    public long MaxSessionReceiveWindow { get; set; } = 64L * 1024 * 1024;

    /// <summary>Open streams per session, both directions together. Default 512. Over it, inbound SYNs are
    /// reset and <see cref="YamuxSession.OpenStreamAsync"/> throws <see cref="PeerError.LimitExceeded"/>.</summary>
    public int MaxStreams { get; set; } = 512;

    /// <summary>Outbound streams the peer has not yet acknowledged (spec's ACK backlog). Default 256;
    /// <see cref="YamuxSession.OpenStreamAsync"/> waits while the backlog is full.</summary>
    public int MaxUnacknowledgedOutboundStreams { get; set; } = 256;

    /// <summary>Inbound streams accepted by yamux but not yet taken by <see cref="YamuxSession.AcceptStreamAsync"/>.
    /// Default 256; over it, new inbound streams are reset.</summary>
    public int MaxPendingInboundStreams { get; set; } = 256;

    /// <summary>Largest payload of the data frames we send, in bytes. Default 256 KiB.</summary>
    public int MaxDataFrameSize { get; set; } = 256 * 1024;

    /// <summary>Largest data frame payload accepted from the peer; bigger is a protocol error. Default 16 MiB
    /// (go-yamux sends frames as large as the window).</summary>
    public int MaxReceivedFrameSize { get; set; } = 16 * 1024 * 1024;

    /// <summary>Bytes queued for the transport beyond which stream writers wait. Default 1 MiB.
    /// Control frames (window updates, pings, resets) are never held back.</summary>
    public int MaxWriteBufferSize { get; set; } = 1024 * 1024;

    /// <summary>Interval between keepalive pings. Default 30 s; <see cref="TimeSpan.Zero"/> disables them.</summary>
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a ping may go unanswered before the session is considered dead and closed. Default 15 s.</summary>
    public TimeSpan PingTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>With no open streams and no stream frames for this long the session sends GoAway (normal) and
    /// closes. Default 5 minutes; <see cref="TimeSpan.Zero"/> disables it.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>After a stream is disposed with its read side still open, how long to wait for the peer's FIN
    /// before resetting the stream. Default 1 minute.</summary>
    public TimeSpan StreamCloseTimeout { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Checks every option.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range; the parameter name is the option's.</exception>
    public void Validate()
    {
        if (InitialStreamWindow < SpecInitialWindow)
        {
            throw new ArgumentOutOfRangeException(nameof(InitialStreamWindow), InitialStreamWindow, $"Must be at least {SpecInitialWindow} bytes (the yamux initial window).");
        }
        if (MaxStreamWindow < InitialStreamWindow || MaxStreamWindow > 1024 * 1024 * 1024)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxStreamWindow), MaxStreamWindow, $"Must be between {nameof(InitialStreamWindow)} and 1 GiB.");
        }
        if (MaxSessionReceiveWindow < InitialStreamWindow)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxSessionReceiveWindow), MaxSessionReceiveWindow, $"Must be at least {nameof(InitialStreamWindow)}.");
        }
        if (MaxStreams < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxStreams), MaxStreams, "Must be at least 1.");
        }
        if (MaxUnacknowledgedOutboundStreams < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxUnacknowledgedOutboundStreams), MaxUnacknowledgedOutboundStreams, "Must be at least 1.");
        }
        if (MaxPendingInboundStreams < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxPendingInboundStreams), MaxPendingInboundStreams, "Must be at least 1.");
        }
        if (MaxDataFrameSize is < 1024 or > 16 * 1024 * 1024)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxDataFrameSize), MaxDataFrameSize, "Must be between 1 KiB and 16 MiB.");
        }
        if (MaxWriteBufferSize < 64 * 1024)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxWriteBufferSize), MaxWriteBufferSize, "Must be at least 64 KiB.");
        }
        if (KeepAliveInterval < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(KeepAliveInterval), KeepAliveInterval, "Must not be negative (zero disables keepalive).");
        }
        if (PingTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(PingTimeout), PingTimeout, "Must be positive.");
        }
        if (IdleTimeout < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(IdleTimeout), IdleTimeout, "Must not be negative (zero disables the idle timeout).");
        }
        if (StreamCloseTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(StreamCloseTimeout), StreamCloseTimeout, "Must be positive.");
        }
    }
}
