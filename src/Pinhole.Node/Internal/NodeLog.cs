using Microsoft.Extensions.Logging;

namespace Pinhole.Node;

/// <summary>The node's log messages (event ids 8000–8099; the store has 8100–).</summary>
internal static partial class NodeLog
{
    [LoggerMessage(EventId = 8000, Level = LogLevel.Information, Message = "Node {Peer} listening on {Addresses}")]
    public static partial void Started(ILogger logger, PeerId peer, string addresses);

    [LoggerMessage(EventId = 8001, Level = LogLevel.Information, Message = "Node {Peer} stopped")]
    public static partial void Stopped(ILogger logger, PeerId peer);

    [LoggerMessage(EventId = 8002, Level = LogLevel.Information, Message = "Connection {Id} with {Peer} ({Direction}, {Remote}): {Role}")]
    public static partial void ConnectionAdopted(ILogger logger, long id, PeerId peer, string direction, Multiaddr? remote, string role);

    [LoggerMessage(EventId = 8003, Level = LogLevel.Information, Message = "Connection {Id} with {Peer} closed: {Reason}")]
    public static partial void ConnectionClosed(ILogger logger, long id, PeerId peer, string reason);

    [LoggerMessage(EventId = 8004, Level = LogLevel.Warning, Message = "Closed a connection from {Peer}: {Reason}")]
    public static partial void ConnectionRefused(ILogger logger, PeerId peer, string reason);

    [LoggerMessage(EventId = 8005, Level = LogLevel.Debug, Message = "Identify with {Peer} failed: {Reason}")]
    public static partial void IdentifyFailed(ILogger logger, PeerId peer, string reason);

    [LoggerMessage(EventId = 8006, Level = LogLevel.Debug, Message = "Closed a late dial to {Peer} at {Address} (another attempt won)")]
    public static partial void DialAbandoned(ILogger logger, PeerId peer, Multiaddr address);

    [LoggerMessage(EventId = 8007, Level = LogLevel.Information, Message = "Redialling {Peer} in {Seconds:0.0} s (after {Failures} failures)")]
    public static partial void ReconnectScheduled(ILogger logger, PeerId peer, double seconds, int failures);

    [LoggerMessage(EventId = 8008, Level = LogLevel.Information, Message = "Redial of {Peer} failed: {Reason}")]
    public static partial void ReconnectFailed(ILogger logger, PeerId peer, string reason);

    [LoggerMessage(EventId = 8009, Level = LogLevel.Debug, Message = "Reset a {Protocol} stream from {Peer}: no handler")]
    public static partial void StreamRefused(ILogger logger, string protocol, PeerId peer);

    [LoggerMessage(EventId = 8010, Level = LogLevel.Warning, Message = "The {Protocol} handler failed for {Peer}")]
    public static partial void HandlerFailed(ILogger logger, string protocol, PeerId peer, Exception exception);

    [LoggerMessage(EventId = 8011, Level = LogLevel.Warning, Message = "Accepting on {Listener} failed: {Reason}")]
    public static partial void AcceptFailed(ILogger logger, string listener, string reason);

    [LoggerMessage(EventId = 8012, Level = LogLevel.Information, Message = "DTLS session from {Peer} at {Remote} closed: no datagram handler and no socket waits for it")]
    public static partial void DatagramSessionUnclaimed(ILogger logger, PeerId peer, System.Net.EndPoint remote);

    [LoggerMessage(EventId = 8013, Level = LogLevel.Warning, Message = "Service {Service} failed to stop")]
    public static partial void ServiceStopFailed(ILogger logger, string service, Exception exception);

    [LoggerMessage(EventId = 8014, Level = LogLevel.Information, Message = "Local API on {Socket}")]
    public static partial void ApiListening(ILogger logger, string socket);

    [LoggerMessage(EventId = 8015, Level = LogLevel.Warning, Message = "Refused an API call from uid {Uid} (pid {Pid}): only uid {Own} and root may use the API")]
    public static partial void ApiCallerRefused(ILogger logger, int uid, int pid, int own);

    [LoggerMessage(EventId = 8016, Level = LogLevel.Warning, Message = "Refused an API request with an {Header} header (browsers must use the status page)")]
    public static partial void ApiBrowserRefused(ILogger logger, string header);

    [LoggerMessage(EventId = 8017, Level = LogLevel.Information, Message = "Status page on {Url}")]
    public static partial void WebListening(ILogger logger, Uri url);

    [LoggerMessage(EventId = 8018, Level = LogLevel.Warning, Message = "The datagram handler failed for {Peer}")]
    public static partial void DatagramHandlerFailed(ILogger logger, PeerId peer, Exception exception);

    [LoggerMessage(EventId = 8019, Level = LogLevel.Information, Message = "No UDP punch with {Peer} ({Reason}); dialling its addresses")]
    public static partial void DatagramPunchRefused(ILogger logger, PeerId peer, string reason);
}
