using System.CommandLine;
using Microsoft.Extensions.Logging;

namespace Pinhole.Cli;

internal static class GlobalOptions
{
    public static readonly Option<string?> Home = new("--home")
    {
        Description = "Home directory holding the node identity (default: $PINHOLE_HOME, else ~/.pinhole).",
        Recursive = true,
    };

    public static readonly Option<bool> Verbose = new("--verbose", "-v")
    {
        Description = "Log protocol details to standard error.",
        Recursive = true,
    };

    public static ILoggerFactory CreateLoggerFactory(ParseResult parse, LogLevel normal = LogLevel.Warning) =>
        LoggerFactory.Create(builder => builder
            .SetMinimumLevel(parse.GetValue(Verbose) ? LogLevel.Debug : normal)
            .AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "HH:mm:ss ";
            })
            .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace));
}
