using Microsoft.Extensions.Logging;

namespace Pinhole.Cli.Commands;

internal static partial class CliLog
{
    [LoggerMessage(EventId = 1000, Level = LogLevel.Information, Message = "Reset a {Protocol} stream from {Peer}: run 'pinhole listen --cat' to accept it")]
    public static partial void RefusedStream(ILogger logger, string protocol, PeerId peer);
}
