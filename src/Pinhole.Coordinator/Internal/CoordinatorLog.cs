using Microsoft.Extensions.Logging;

namespace Pinhole.Coordinator.Internal;

internal static partial class CoordinatorLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Coordinator {PeerId} listening on {Addresses}, store {Store}")]
    public static partial void Started(ILogger logger, PeerId peerId, IReadOnlyList<Multiaddr> addresses, CoordinatorStore store);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Admin API on {Url}")]
    public static partial void AdminApi(ILogger logger, Uri url);

    [LoggerMessage(EventId = 3, Level = LogLevel.Debug, Message = "{Operation} from {Peer} refused ({Reason}): {Message}")]
    public static partial void Refused(ILogger logger, string operation, PeerId peer, Pinhole.Membership.MembershipError reason, string message);

    [LoggerMessage(EventId = 4, Level = LogLevel.Debug, Message = "Stream {Protocol} from {Peer} ended: {Message}")]
    public static partial void StreamEnded(ILogger logger, string protocol, PeerId peer, string message);

    [LoggerMessage(EventId = 5, Level = LogLevel.Information, Message = "Network {Network} created by {Peer}")]
    public static partial void NetworkCreated(ILogger logger, Pinhole.Membership.NetworkId network, PeerId peer);

    [LoggerMessage(EventId = 6, Level = LogLevel.Information, Message = "Invite {Invite} of {Network} redeemed by {Peer}")]
    public static partial void Redeemed(ILogger logger, PeerId invite, Pinhole.Membership.NetworkId network, PeerId peer);

    [LoggerMessage(EventId = 7, Level = LogLevel.Warning, Message = "Re-reading the store failed: {Message}")]
    public static partial void RefreshFailed(ILogger logger, string message, Exception exception);

    [LoggerMessage(EventId = 8, Level = LogLevel.Warning, Message = "Store returned {Count} record(s) of {Network} this instance cannot read; the database may have been altered")]
    public static partial void Unreadable(ILogger logger, long count, Pinhole.Membership.NetworkId network);

    [LoggerMessage(EventId = 9, Level = LogLevel.Debug, Message = "Connection from {Peer} ended: {Message}")]
    public static partial void ConnectionEnded(ILogger logger, PeerId peer, string message);

    [LoggerMessage(EventId = 10, Level = LogLevel.Error, Message = "Unexpected error serving {Operation} for {Peer}")]
    public static partial void Failed(ILogger logger, string operation, PeerId peer, Exception exception);
}
