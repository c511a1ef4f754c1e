using System.Net;
using Microsoft.Extensions.Logging;

namespace Pinhole.Nat.Dcutr;

internal static partial class DcutrLog
{
    [LoggerMessage(EventId = 920, Level = LogLevel.Information, Message = "DCUtR: direct connection to {Peer} on attempt {Attempt} ({Address})")]
    public static partial void Punched(ILogger logger, PeerId peer, int attempt, Multiaddr address);

    [LoggerMessage(EventId = 921, Level = LogLevel.Debug, Message = "DCUtR: attempt {Attempt} with {Peer} failed: {Reason}")]
    public static partial void AttemptFailed(ILogger logger, PeerId peer, int attempt, string reason);

    [LoggerMessage(EventId = 922, Level = LogLevel.Information, Message = "DCUtR: no direct connection to {Peer} after {Attempts} attempt(s), staying relayed: {Failure}: {Reason}")]
    public static partial void GaveUp(ILogger logger, PeerId peer, int attempts, DirectConnectionFailure failure, string reason);

    [LoggerMessage(EventId = 923, Level = LogLevel.Information, Message = "DCUtR: {Peer} announces a public address; dialed {Address} directly, no punch needed")]
    public static partial void DialedDirectly(ILogger logger, PeerId peer, IPEndPoint address);
}
