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

    [LoggerMessage(EventId = 103, Level = LogLevel.Debug, Message = "Inbound handshake from {Address} failed: {Reason}")]
    public static partial void InboundHandshakeFailed(ILogger logger, string address, string reason);

    [LoggerMessage(EventId = 104, Level = LogLevel.Information, Message = "Refused inbound connection from {Address} ({Reason}); {Suppressed} more refusals since the last report (counted in pinhole.connection.refused)")]
    public static partial void Refused(ILogger logger, System.Net.EndPoint? address, string reason, long suppressed);

    [LoggerMessage(EventId = 105, Level = LogLevel.Information, Message = "Connection with {Peer} closed: {Reason}")]
    public static partial void Closed(ILogger logger, PeerId peer, string reason);

    [LoggerMessage(EventId = 106, Level = LogLevel.Debug, Message = "Inbound stream from {Peer} failed negotiation: {Reason}")]
    public static partial void InboundStreamFailed(ILogger logger, PeerId peer, string reason);

    [LoggerMessage(EventId = 107, Level = LogLevel.Warning, Message = "Inbound stream from {Peer} reset: {Pending} streams already wait for AcceptStreamAsync")]
    public static partial void InboundStreamBacklogFull(ILogger logger, PeerId peer, int pending);

    [LoggerMessage(EventId = 108, Level = LogLevel.Warning, Message = "accept() failed ({Reason}: {Message}); retrying with backoff. {Suppressed} more failures since the last report")]
    public static partial void AcceptFailed(ILogger logger, string reason, string message, long suppressed);

    [LoggerMessage(EventId = 110, Level = LogLevel.Debug, Message = "Inbound handshake from {Address} ended ({Reason}): {Message}")]
    public static partial void InboundHandshakeEnded(ILogger logger, string address, string reason, string message);

    [LoggerMessage(EventId = 109, Level = LogLevel.Information, Message = "Inbound handshake from {Address} failed ({Reason}); {Suppressed} more failures since the last report (counted in pinhole.handshake.failed)")]
    public static partial void HandshakeFailures(ILogger logger, string address, string reason, long suppressed);
}
