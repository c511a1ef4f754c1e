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

    public static readonly Option<string> KeyType = new("--key-type")
    {
        Description = "Key type of a newly created identity: ed25519 (the default, what every libp2p implementation uses) or ecdsa (P-256). Ignored when the identity exists.",
        DefaultValueFactory = _ => "ed25519",
        Recursive = true,
    };

    /// <summary>Loads the node identity, creating it (with --key-type) on first use.</summary>
    public static Task<NodeIdentity> LoadIdentityAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        var keyType = (parse.GetValue(KeyType) ?? "ed25519").ToUpperInvariant() switch
        {
            "ECDSA" or "P256" or "P-256" => Libp2pKeyType.Ecdsa,
            "ED25519" => Libp2pKeyType.Ed25519,
            var other => throw new ArgumentException($"Unknown key type '{other.ToLowerInvariant()}': use ecdsa or ed25519."),
        };
        return PinholeHome.LoadOrCreateIdentityAsync(parse.GetValue(Home), keyType, cancellationToken);
    }

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
