using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Net.Security;
using Pinhole.Cli.Output;
using Pinhole.Ocapn;

namespace Pinhole.Cli.Commands;

/// <summary>The Goblins-compatible tcp-tls netlayer from the command line (docs/ocapn.md).</summary>
internal static class OcapnCli
{
    public const string Scheme = "ocapn://";

    public static bool IsOcapn(string address) => address.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase);

    public static Task<OcapnNode> LoadNodeAsync(ParseResult parse, CancellationToken cancellationToken)
        => OcapnNode.LoadOrCreateAsync(PinholeHome.Resolve(parse.GetValue(GlobalOptions.Home)), cancellationToken: cancellationToken);

    /// <summary>Parses <c>HOST:PORT</c> / <c>PORT</c> for the listen endpoint.</summary>
    public static IPEndPoint ParseListen(string text)
    {
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var portOnly))
        {
            return new IPEndPoint(IPAddress.Any, portOnly);
        }
        return IPEndPoint.TryParse(text, out var endPoint)
            ? endPoint
            : throw new FormatException($"'{text}' is not IP:PORT or PORT.");
    }

    public static async Task<int> CatAsync(ParseResult parse, string address, CancellationToken cancellationToken)
    {
        using var node = await LoadNodeAsync(parse, cancellationToken).ConfigureAwait(false);
        await using var connection = await OcapnTcpTlsNetlayer.ConnectAsync(OcapnLocator.Parse(address), new OcapnTcpTlsConnectOptions { Node = node }, cancellationToken).ConfigureAwait(false);
        return await PumpTlsAsync(connection, cancellationToken).ConfigureAwait(false);
    }

    public static Task<int> PumpTlsAsync(OcapnTcpTlsConnection connection, CancellationToken cancellationToken)
        => CatProtocol.PumpAsync(connection.Stream, async () =>
        {
            // TLS 1.3 close_notify closes only our sending side: the peer's data still arrives.
            if (connection.Stream is SslStream tls)
            {
                await tls.ShutdownAsync().ConfigureAwait(false);
            }
        }, cancellationToken);

    public static async Task<int> PingAsync(string address, int count, bool json, CancellationToken cancellationToken)
    {
        var locator = OcapnLocator.Parse(address);
        var total = TimeSpan.Zero;
        for (var i = 1; i <= count; i++)
        {
            var result = await OcapnTcpTlsNetlayer.PingAsync(locator, cancellationToken: cancellationToken).ConfigureAwait(false);
            total += result.Elapsed;
            if (json)
            {
                await CliJson.WriteAsync(Console.Out, new ReachedJson("reached", i, result.Designator, result.SslProtocol.ToString().ToLowerInvariant(), result.KeyAlgorithm.ToLowerInvariant(), result.Elapsed.TotalMilliseconds), CommandJsonContext.Default.ReachedJson, cancellationToken).ConfigureAwait(false);
                continue;
            }
            await Console.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"reached {result.Designator} ({result.SslProtocol}, {result.KeyAlgorithm}): seq={i} connect+handshake={result.Elapsed.TotalMilliseconds:0.###} ms")).ConfigureAwait(false);
        }
        if (json)
        {
            await CliJson.WriteAsync(Console.Out, new PingSummaryJson("summary", count, total.TotalMilliseconds / count), CommandJsonContext.Default.PingSummaryJson, cancellationToken).ConfigureAwait(false);
            return ExitCodes.Success;
        }
        await Console.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"{count} handshakes, average {total.TotalMilliseconds / count:0.###} ms")).ConfigureAwait(false);
        return ExitCodes.Success;
    }
}
