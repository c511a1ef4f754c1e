using System.Net;
using Microsoft.Extensions.Logging;

namespace Pinhole.Ocapn.Internal;

/// <summary>Log messages of the tcp-tls netlayer (event ids 3100-3199).</summary>
internal static partial class OcapnLog
{
    [LoggerMessage(3100, LogLevel.Information, "Created tcp-tls identity {Designator} in {Directory}")]
    public static partial void IdentityCreated(ILogger logger, string designator, string directory);

    [LoggerMessage(3101, LogLevel.Debug, "Loaded tcp-tls identity {Designator} from {Directory}")]
    public static partial void IdentityLoaded(ILogger logger, string designator, string directory);

    [LoggerMessage(3102, LogLevel.Warning, "{Path} is readable by group or others; it should be mode 0600")]
    public static partial void KeyFileTooOpen(ILogger logger, string path);

    [LoggerMessage(3110, LogLevel.Information, "tcp-tls listening on {EndPoint} as {Locator}")]
    public static partial void Listening(ILogger logger, EndPoint endPoint, string locator);

    [LoggerMessage(3111, LogLevel.Debug, "tcp-tls accepted {Remote} ({Protocol}); dialer {Designator}")]
    public static partial void Accepted(ILogger logger, EndPoint? remote, string protocol, string designator);

    [LoggerMessage(3112, LogLevel.Information, "tcp-tls handshake with {Remote} failed: {Reason}; {Suppressed} more failures since the last report (counted in pinhole.handshake.failed)")]
    public static partial void HandshakeFailed(ILogger logger, EndPoint? remote, string reason, long suppressed);

    [LoggerMessage(3113, LogLevel.Information, "tcp-tls refused {Remote} ({Reason}); {Suppressed} more refusals since the last report (counted in pinhole.connection.refused)")]
    public static partial void Refused(ILogger logger, EndPoint? remote, string reason, long suppressed);

    [LoggerMessage(3114, LogLevel.Warning, "tcp-tls accept() failed ({Reason}); retrying with backoff. {Suppressed} more failures since the last report")]
    public static partial void AcceptFailed(ILogger logger, string reason, long suppressed, Exception exception);

    [LoggerMessage(3120, LogLevel.Debug, "tcp-tls connected to {Designator} at {Remote} ({Protocol}); presented client certificate: {Presented}")]
    public static partial void Connected(ILogger logger, string designator, EndPoint? remote, string protocol, bool presented);
}
