using System.Net;
using Microsoft.Extensions.Logging;

namespace Pinhole.Nat.Internal;

/// <summary>Log messages of the NAT layer's UDP side (event ids 9000-9499; the relay side uses 9500-9999).</summary>
internal static partial class NatLog
{
    [LoggerMessage(9000, LogLevel.Debug, "STUN request {TransactionId} to {Server} timed out after {Sends} sends")]
    internal static partial void StunTimeout(ILogger logger, StunTransactionId transactionId, EndPoint server, int sends);

    [LoggerMessage(9001, LogLevel.Debug, "STUN send to {Server} failed")]
    internal static partial void StunSendFailed(ILogger logger, EndPoint server, Exception exception);

    [LoggerMessage(9002, LogLevel.Debug, "Dropped a malformed STUN message from {Source}: {Reason}")]
    internal static partial void StunMalformed(ILogger logger, EndPoint source, string reason);

    [LoggerMessage(9003, LogLevel.Information, "STUN server listening on {EndPoints}")]
    internal static partial void StunServerListening(ILogger logger, string endPoints);

    [LoggerMessage(9004, LogLevel.Warning, "STUN server receive loop on {EndPoint} stopped")]
    internal static partial void StunServerLoopFailed(ILogger logger, EndPoint endPoint, Exception exception);

    [LoggerMessage(9010, LogLevel.Debug, "UDP mux on {EndPoint}: dropped a datagram from {Source} ({Reason})")]
    internal static partial void MuxDropped(ILogger logger, EndPoint endPoint, EndPoint source, string reason);

    [LoggerMessage(9011, LogLevel.Warning, "UDP mux on {EndPoint}: receive loop stopped")]
    internal static partial void MuxLoopFailed(ILogger logger, EndPoint endPoint, Exception exception);

    [LoggerMessage(9012, LogLevel.Warning, "UDP mux on {EndPoint}: a {Kind} handler threw")]
    internal static partial void MuxHandlerFailed(ILogger logger, EndPoint endPoint, string kind, Exception exception);

    [LoggerMessage(9020, LogLevel.Information, "Port mapping with {Protocol}: {External} -> local port {InternalPort} ({Change})")]
    internal static partial void PortMapped(ILogger logger, string protocol, IPEndPoint external, int internalPort, string change);

    [LoggerMessage(9021, LogLevel.Debug, "Port mapping with {Protocol} refused: {Reason}")]
    internal static partial void PortMappingRefused(ILogger logger, string protocol, string reason);

    [LoggerMessage(9022, LogLevel.Warning, "Port mapping {Protocol} failed")]
    internal static partial void PortMappingDeleteFailed(ILogger logger, string protocol, Exception exception);

    [LoggerMessage(9023, LogLevel.Debug, "Ignored a malformed {Protocol} reply: {Reason}")]
    internal static partial void PortMappingMalformed(ILogger logger, string protocol, string reason);

    [LoggerMessage(9024, LogLevel.Information, "Port mapping with {Protocol} of {External} deleted")]
    internal static partial void PortMappingDeleted(ILogger logger, string protocol, IPEndPoint external);

    [LoggerMessage(9025, LogLevel.Warning, "Port mapping renewal failed; the mapping is treated as lost")]
    internal static partial void PortMappingRenewalFailed(ILogger logger, Exception exception);
}
