using System.CommandLine;
using System.Net;
using System.Text.Json.Serialization.Metadata;
using Pinhole.Cli.Output;
using Pinhole.Node;

namespace Pinhole.Cli.Commands.Daemon;

/// <summary>What the daemon-client commands share: finding the API socket, errors to exit codes, output.</summary>
internal static class DaemonClient
{
    /// <summary>The environment variable naming the API socket (overrides the home's).</summary>
    public const string SocketVariable = "PINHOLE_API_SOCKET";

    public static Option<string?> Socket => new("--socket")
    {
        Description = $"The daemon's API socket (default: ${SocketVariable}, else api.sock in the home).",
    };

    public static Option<bool> Json => CliJson.CreateOption("the daemon's answer (the local API's own JSON document)");

    public static PinholeApiClient Create(ParseResult parse)
    {
        var socketOption = parse.CommandResult.Command.Options.FirstOrDefault(o => o.Name == "--socket");
        var path = (socketOption is null ? null : parse.GetValue<string?>("--socket"))
            ?? Environment.GetEnvironmentVariable(SocketVariable)
            ?? Path.Combine(PinholeHome.Resolve(parse.GetValue(GlobalOptions.Home)), PinholeNodeOptions.ApiSocketFileName);
        return new PinholeApiClient(path);
    }

    /// <summary>Runs a client command: API errors become one line on stderr and a documented exit code.</summary>
    public static Task<int> RunAsync(ParseResult parse, Func<PinholeApiClient, CancellationToken, Task<int>> body, CancellationToken cancellationToken)
        => CommandRunner.RunAsync(async token =>
        {
            using var client = Create(parse);
            try
            {
                return await body(client, token).ConfigureAwait(false);
            }
            catch (DaemonNotRunningException e)
            {
                return CommandRunner.Fail(e.Message, ExitCodes.DaemonUnavailable);
            }
            catch (PinholeApiException e)
            {
                return CommandRunner.Fail(e.Message, ExitCode(e));
            }
        }, cancellationToken);

    public static int ExitCode(PinholeApiException e)
    {
        if (e.PeerError is { } name && Enum.TryParse<PeerError>(name, out var error))
        {
            return ExitCodes.For(error);
        }
        return e.Status switch
        {
            HttpStatusCode.BadRequest => ExitCodes.Usage,
            HttpStatusCode.Forbidden or HttpStatusCode.Unauthorized => ExitCodes.NotPermitted,
            HttpStatusCode.NotFound => ExitCodes.NotFound,
            _ => ExitCodes.Failure,
        };
    }

    /// <summary>One JSON line on standard output (docs/cli.md, "--json").</summary>
    public static Task WriteJsonAsync<T>(T value, JsonTypeInfo<T> type) => CliJson.WriteAsync(Console.Out, value, type);

    /// <summary>"2 min ago" / "never".</summary>
    public static string Ago(DateTimeOffset? time) => time is { } t ? CliOutput.Duration(DateTimeOffset.UtcNow - t) + " ago" : "never";

    /// <summary>An RTT in milliseconds as text output prints durations.</summary>
    public static string Rtt(double? ms) => ms is { } v ? CliOutput.Duration(TimeSpan.FromMilliseconds(v)) : "-";

    /// <summary>A peer's short name: its alias, else its PeerId.</summary>
    public static string Name(string peerId, string? alias) => alias ?? peerId;
}
