using Microsoft.Extensions.Logging;

namespace Pinhole.Connections;

internal static partial class ConnectionLog
{
    [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "Listening on {Address}")]
    public static partial void Listening(ILogger logger, string address);

    [LoggerMessage(EventId = 101, Level = LogLevel.Information, Message = "Connection {Direction} {Peer} at {Address}")]
    public static partial void Connected(ILogger logger, string direction, PeerId peer, string address);

    [LoggerMessage(EventId = 102, Level = LogLevel.Warning, Message = "Trust on first use: accepted unverified peer {Peer} at {Address} because the address named no PeerId")]
    public static partial void TrustedOnFirstUse(ILogger logger, PeerId peer, string address);

    [LoggerMessage(EventId = 103, Level = LogLevel.Information, Message = "Inbound handshake from {Address} failed: {Reason}")]
    public static partial void InboundHandshakeFailed(ILogger logger, string address, string reason);

    [LoggerMessage(EventId = 104, Level = LogLevel.Warning, Message = "Refused connection from {Address}: {Live} live connections reached the limit")]
    public static partial void RefusedOverLimit(ILogger logger, string address, int live);

    [LoggerMessage(EventId = 105, Level = LogLevel.Information, Message = "Connection with {Peer} closed: {Reason}")]
    public static partial void Closed(ILogger logger, PeerId peer, string reason);

    [LoggerMessage(EventId = 106, Level = LogLevel.Debug, Message = "Inbound stream from {Peer} failed negotiation: {Reason}")]
    public static partial void InboundStreamFailed(ILogger logger, PeerId peer, string reason);

    [LoggerMessage(EventId = 107, Level = LogLevel.Warning, Message = "Inbound stream from {Peer} reset: {Pending} streams already wait for AcceptStreamAsync")]
    public static partial void InboundStreamBacklogFull(ILogger logger, PeerId peer, int pending);

    [LoggerMessage(EventId = 108, Level = LogLevel.Debug, Message = "Accept loop error: {Reason}")]
    public static partial void AcceptError(ILogger logger, string reason);
}
