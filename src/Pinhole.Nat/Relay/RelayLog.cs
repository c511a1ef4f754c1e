using Microsoft.Extensions.Logging;

namespace Pinhole.Nat.Relay;

internal static partial class RelayLog
{
    [LoggerMessage(EventId = 900, Level = LogLevel.Information, Message = "Relay: reservation for {Peer} until {Expires} ({Status})")]
    public static partial void Reserved(ILogger logger, PeerId peer, DateTimeOffset expires, string status);

    [LoggerMessage(EventId = 901, Level = LogLevel.Information, Message = "Relay: refused {Request} from {Peer}: {Status}")]
    public static partial void Refused(ILogger logger, string request, PeerId peer, RelayStatus status);

    [LoggerMessage(EventId = 902, Level = LogLevel.Information, Message = "Relay: circuit {Initiator} -> {Target} open")]
    public static partial void CircuitOpened(ILogger logger, PeerId initiator, PeerId target);

    [LoggerMessage(EventId = 903, Level = LogLevel.Information, Message = "Relay: circuit {Initiator} -> {Target} ended ({Reason}), {Forwarded} bytes forward, {Returned} back")]
    public static partial void CircuitEnded(ILogger logger, PeerId initiator, PeerId target, Protocol.CircuitEnd reason, long forwarded, long returned);

    [LoggerMessage(EventId = 904, Level = LogLevel.Debug, Message = "Relay: hop stream from {Peer} failed: {Reason}")]
    public static partial void HopFailed(ILogger logger, PeerId peer, string reason);

    [LoggerMessage(EventId = 910, Level = LogLevel.Information, Message = "Relay client: reserved on {Relay} until {Expires}, limit {Limit}")]
    public static partial void ClientReserved(ILogger logger, PeerId relay, DateTimeOffset expires, ConnectionLimit? limit);

    [LoggerMessage(EventId = 911, Level = LogLevel.Warning, Message = "Relay client: refreshing the reservation on {Relay} failed: {Reason}")]
    public static partial void RefreshFailed(ILogger logger, PeerId relay, string reason);

    [LoggerMessage(EventId = 912, Level = LogLevel.Information, Message = "Relay client: reservation on {Relay} lost: {Reason}")]
    public static partial void ReservationLost(ILogger logger, PeerId relay, string reason);

    [LoggerMessage(EventId = 913, Level = LogLevel.Information, Message = "Relay client: refused a circuit from {Peer} via {Relay}: {Reason}")]
    public static partial void StopRefused(ILogger logger, PeerId peer, PeerId relay, RelayStatus reason);

    [LoggerMessage(EventId = 914, Level = LogLevel.Information, Message = "Relay client: relayed connection {Direction} {Peer} via {Relay}, limit {Limit}")]
    public static partial void Relayed(ILogger logger, string direction, PeerId peer, PeerId relay, ConnectionLimit? limit);

    [LoggerMessage(EventId = 915, Level = LogLevel.Debug, Message = "Relay client: stop stream from {Relay} failed: {Reason}")]
    public static partial void StopFailed(ILogger logger, PeerId relay, string reason);
}
