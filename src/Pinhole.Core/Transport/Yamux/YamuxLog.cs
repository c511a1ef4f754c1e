using Microsoft.Extensions.Logging;

namespace Pinhole.Transport.Yamux;

/// <summary>Source-generated log messages of the yamux session (event ids 1100-1199).</summary>
internal static partial class YamuxLog
{
    [LoggerMessage(1100, LogLevel.Debug, "yamux session started ({Role}).")]
    public static partial void SessionStarted(ILogger logger, string role);

    [LoggerMessage(1101, LogLevel.Debug, "yamux session closed: {Reason}")]
    public static partial void SessionClosed(ILogger logger, string reason, Exception? exception);

    [LoggerMessage(1102, LogLevel.Warning, "yamux protocol error from peer: {Reason}")]
    public static partial void ProtocolError(ILogger logger, string reason);

    [LoggerMessage(1103, LogLevel.Debug, "yamux peer sent GoAway ({Code}).")]
    public static partial void GoAwayReceived(ILogger logger, YamuxGoAwayCode code);

    [LoggerMessage(1104, LogLevel.Debug, "yamux refused inbound stream {StreamId}: {Reason}")]
    public static partial void InboundStreamRefused(ILogger logger, uint streamId, string reason);

    [LoggerMessage(1105, LogLevel.Debug, "yamux stream {StreamId} reset ({Side}).")]
    public static partial void StreamReset(ILogger logger, uint streamId, string side);

    [LoggerMessage(1106, LogLevel.Warning, "yamux ping not answered within {Timeout}; closing the session.")]
    public static partial void PingTimedOut(ILogger logger, TimeSpan timeout);

    [LoggerMessage(1107, LogLevel.Debug, "yamux session idle for {IdleTimeout}; closing it.")]
    public static partial void IdleTimeout(ILogger logger, TimeSpan idleTimeout);

    [LoggerMessage(1108, LogLevel.Trace, "yamux stream {StreamId} receive window grown to {Window} bytes.")]
    public static partial void WindowGrown(ILogger logger, uint streamId, int window);

    [LoggerMessage(1109, LogLevel.Trace, "yamux frame for unknown stream {StreamId} ({Type}) ignored.")]
    public static partial void UnknownStream(ILogger logger, uint streamId, YamuxFrameType type);
}
