using Microsoft.Extensions.Logging;

namespace Pinhole.Node;

internal static partial class StoreLog
{
    [LoggerMessage(EventId = 8100, Level = LogLevel.Warning, Message = "Peer store write for {Peer} failed: {Reason}")]
    public static partial void WriteFailed(ILogger logger, PeerId peer, string reason);
}
