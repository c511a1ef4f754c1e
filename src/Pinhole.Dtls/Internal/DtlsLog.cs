using System.Net;
using Microsoft.Extensions.Logging;

namespace Pinhole.Dtls.Internal;

/// <summary>Log messages of the DTLS layer (event ids 4000-4099).</summary>
internal static partial class DtlsLog
{
    [LoggerMessage(4000, LogLevel.Information, "DTLS endpoint {LocalPeer} listening on {LocalEndPoint}")]
    internal static partial void Listening(ILogger logger, PeerId localPeer, EndPoint localEndPoint);

    [LoggerMessage(4001, LogLevel.Debug, "DTLS session with {RemotePeer} at {RemoteEndPoint} established ({Cipher})")]
    internal static partial void Established(ILogger logger, PeerId remotePeer, EndPoint remoteEndPoint, string? cipher);

    [LoggerMessage(4002, LogLevel.Debug, "DTLS session with {RemoteEndPoint} closed: {Reason}")]
    internal static partial void Closed(ILogger logger, EndPoint remoteEndPoint, string reason);

    [LoggerMessage(4003, LogLevel.Information, "DTLS handshake from {RemoteEndPoint} refused: {Reason}")]
    internal static partial void Refused(ILogger logger, EndPoint remoteEndPoint, string reason);

    [LoggerMessage(4004, LogLevel.Warning, "DTLS send to {RemoteEndPoint} failed")]
    internal static partial void SendFailed(ILogger logger, EndPoint remoteEndPoint, Exception exception);

    [LoggerMessage(4005, LogLevel.Error, "DTLS receive loop on {LocalEndPoint} stopped")]
    internal static partial void ReceiveLoopFailed(ILogger logger, EndPoint localEndPoint, Exception exception);

    [LoggerMessage(4007, LogLevel.Error, "DTLS datagram from {RemoteEndPoint} could not be processed")]
    internal static partial void DatagramFailed(ILogger logger, EndPoint remoteEndPoint, Exception exception);

    [LoggerMessage(4006, LogLevel.Warning, "DTLS packet handler threw for {RemoteEndPoint}")]
    internal static partial void HandlerFailed(ILogger logger, EndPoint remoteEndPoint, Exception exception);
}
