using Microsoft.Extensions.Logging;

namespace Pinhole.Messaging.Internal;

internal static partial class MessagingLog
{
    [LoggerMessage(EventId = 500, Level = LogLevel.Debug, Message = "Reset a stream from {Peer} with protocol {Protocol}: the message session accepts only its own")]
    public static partial void ForeignStreamReset(ILogger logger, PeerId peer, string protocol);

    [LoggerMessage(EventId = 501, Level = LogLevel.Information, Message = "Reset a channel stream from {Peer}: {Reason}")]
    public static partial void InboundStreamRejected(ILogger logger, PeerId peer, string reason);

    [LoggerMessage(EventId = 502, Level = LogLevel.Warning, Message = "Reset a channel from {Peer}: {Reason}")]
    public static partial void ChannelProtocolViolation(ILogger logger, PeerId peer, string reason);

    [LoggerMessage(EventId = 504, Level = LogLevel.Information, Message = "Reset attachment stream {Id} from {Peer}: no message named it in time")]
    public static partial void AttachmentExpired(ILogger logger, PeerId peer, ulong id);

    [LoggerMessage(EventId = 503, Level = LogLevel.Information, Message = "Message session with {Peer} closed: {Reason}")]
    public static partial void SessionClosed(ILogger logger, PeerId peer, string reason);
}
