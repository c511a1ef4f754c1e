using Microsoft.Extensions.Logging;

namespace Pinhole.Membership.Internal;

internal static partial class MembershipLog
{
    [LoggerMessage(EventId = 101, Level = LogLevel.Warning, Message = "Refused {Record} from {Source}: {Reason}: {Message}")]
    public static partial void Refused(ILogger logger, string record, string source, MembershipError? reason, string? message);

    [LoggerMessage(EventId = 102, Level = LogLevel.Warning, Message = "Coordinator sent a record that does not decode: {Message}")]
    public static partial void Undecodable(ILogger logger, string message);

    [LoggerMessage(EventId = 103, Level = LogLevel.Information, Message = "Connected to coordinator {Coordinator} for {Network}, resuming after {Cursor}")]
    public static partial void Connected(ILogger logger, PeerId coordinator, NetworkId network, ulong cursor);

    [LoggerMessage(EventId = 104, Level = LogLevel.Information, Message = "Coordinator {Address} unavailable ({Message}); retrying in {Delay}")]
    public static partial void Disconnected(ILogger logger, string address, string message, TimeSpan delay);

    [LoggerMessage(EventId = 105, Level = LogLevel.Warning, Message = "Misbehaviour in {Network}: {Message}")]
    public static partial void Alert(ILogger logger, NetworkId network, string message);

    [LoggerMessage(EventId = 106, Level = LogLevel.Warning, Message = "Writing the cache {Path} failed: {Message}")]
    public static partial void CacheWriteFailed(ILogger logger, string path, string message);

    [LoggerMessage(EventId = 107, Level = LogLevel.Information, Message = "Loaded {Count} records of {Network} from the cache ({Dropped} no longer valid)")]
    public static partial void CacheLoaded(ILogger logger, int count, NetworkId network, int dropped);

    [LoggerMessage(EventId = 108, Level = LogLevel.Debug, Message = "Gossip with {Peer}: sent {Sent}, received {Received}, applied {Applied}")]
    public static partial void Gossiped(ILogger logger, PeerId peer, int sent, int received, int applied);

    [LoggerMessage(EventId = 109, Level = LogLevel.Error, Message = "A Changed handler failed")]
    public static partial void HandlerFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 110, Level = LogLevel.Warning, Message = "Dropped a request from {Sender}: {Message}")]
    public static partial void RequestDropped(ILogger logger, PeerId sender, string message);
}
