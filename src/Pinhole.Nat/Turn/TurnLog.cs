using System.Net;
using Microsoft.Extensions.Logging;

namespace Pinhole.Nat;

/// <summary>TURN client log messages (event ids 9100-9149).</summary>
internal static partial class TurnLog
{
    [LoggerMessage(9100, LogLevel.Information, "TURN allocation on {Server}: relayed {Relayed}, mapped {Mapped}, lifetime {Lifetime}")]
    internal static partial void Allocated(ILogger logger, IPEndPoint server, IPEndPoint relayed, IPEndPoint? mapped, TimeSpan lifetime);

    [LoggerMessage(9101, LogLevel.Debug, "TURN {Method} to {Server}: stale nonce, retrying with the new one")]
    internal static partial void StaleNonce(ILogger logger, StunMethod method, IPEndPoint server);

    [LoggerMessage(9102, LogLevel.Debug, "TURN allocation on {Server} refreshed: lifetime {Lifetime}")]
    internal static partial void Refreshed(ILogger logger, IPEndPoint server, TimeSpan lifetime);

    [LoggerMessage(9103, LogLevel.Warning, "TURN allocation on {Server} lost: {Reason}")]
    internal static partial void Lost(ILogger logger, IPEndPoint server, string reason);

    [LoggerMessage(9104, LogLevel.Debug, "TURN {What} on {Server} failed")]
    internal static partial void MaintenanceFailed(ILogger logger, string what, IPEndPoint server, Exception exception);

    [LoggerMessage(9105, LogLevel.Debug, "TURN on {Server}: dropped a datagram from {Source}: {Reason}")]
    internal static partial void Dropped(ILogger logger, IPEndPoint server, EndPoint source, string reason);

    [LoggerMessage(9106, LogLevel.Debug, "TURN on {Server}: channel 0x{Channel:X4} bound to {Peer}")]
    internal static partial void ChannelBound(ILogger logger, IPEndPoint server, ushort channel, IPEndPoint peer);

    [LoggerMessage(9107, LogLevel.Information, "TURN allocation on {Server} deleted")]
    internal static partial void Deleted(ILogger logger, IPEndPoint server);
}
