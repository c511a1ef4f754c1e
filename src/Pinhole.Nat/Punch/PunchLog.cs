using System.Net;
using Microsoft.Extensions.Logging;

namespace Pinhole.Nat;

/// <summary>UDP hole punch log messages (event ids 9150-9199).</summary>
internal static partial class PunchLog
{
    [LoggerMessage(9150, LogLevel.Debug, "UDP punch: {Candidate} answered in {Rtt}")]
    internal static partial void Validated(ILogger logger, UdpCandidate candidate, TimeSpan rtt);

    [LoggerMessage(9151, LogLevel.Information, "UDP punch: path to {Candidate} selected after {Elapsed}")]
    internal static partial void Selected(ILogger logger, UdpCandidate candidate, TimeSpan elapsed);

    [LoggerMessage(9152, LogLevel.Debug, "UDP punch: check to {Candidate} failed: {Reason}")]
    internal static partial void CheckFailed(ILogger logger, UdpCandidate candidate, string reason);

    [LoggerMessage(9153, LogLevel.Debug, "UDP punch: a check from {Source} failed MESSAGE-INTEGRITY")]
    internal static partial void BadCheck(ILogger logger, EndPoint source);

    [LoggerMessage(9154, LogLevel.Debug, "UDP punch: peer-reflexive candidate {Source}")]
    internal static partial void PeerReflexive(ILogger logger, IPEndPoint source);

    [LoggerMessage(9155, LogLevel.Information, "UDP punch failed ({Failure}): {Why}")]
    internal static partial void Failed(ILogger logger, UdpPunchFailure failure, string why);

    [LoggerMessage(9156, LogLevel.Warning, "UDP path to {Remote} lost: {Missed} keepalives unanswered")]
    internal static partial void PathLost(ILogger logger, IPEndPoint remote, int missed);
}
