using System.CommandLine;
using Pinhole.Cli.Output;
using Pinhole.Ocapn;

namespace Pinhole.Cli.Commands;

internal static class IdCommand
{
    public static Command Create()
    {
        var command = new Command("id", "Print this node's PeerId, creating the identity on first use.");
        var cid = new Option<bool>("--cid") { Description = "Print the CIDv1 form (bafz…) instead of base58." };
        var ocapn = new Option<bool>("--ocapn") { Description = "Print this node's Goblins-compatible ocapn:// locator (tcp-tls netlayer) instead." };
        var host = new Option<string>("--ocapn-host") { Description = "Host hint of the locator.", DefaultValueFactory = _ => "localhost" };
        var port = new Option<int?>("--ocapn-port") { Description = "Port hint of the locator (default: the port 'pinhole listen --ocapn' last used; without one the locator has no hints)." };
        var json = CliJson.CreateOption("the identity");
        command.Options.Add(cid);
        command.Options.Add(ocapn);
        command.Options.Add(host);
        command.Options.Add(port);
        command.Options.Add(json);
        command.SetAction((parse, ct) => CommandRunner.RunAsync(async token =>
        {
            if (parse.GetValue(ocapn))
            {
                using var node = await OcapnCli.LoadNodeAsync(parse, token).ConfigureAwait(false);
                var knownPort = parse.GetValue(port) ?? node.ListenPort;
                var hostHint = parse.GetValue(host)!;
                // The designator is the node's identity and exists before any port: print it either way, with
                // the host and port hints once a port is known.
                var locator = knownPort is { } p ? node.GetLocator(hostHint, p) : new OcapnLocator(node.Designator, OcapnLocator.TcpTls);
                if (parse.GetValue(json))
                {
                    CliJson.Write(Console.Out, new OcapnIdJson(node.Designator, locator.ToString(), knownPort is null ? null : hostHint, knownPort), CommandJsonContext.Default.OcapnIdJson);
                }
                else
                {
                    await Console.Out.WriteLineAsync(locator.ToString()).ConfigureAwait(false);
                }
                if (knownPort is null)
                {
                    CliOutput.Note("no port known yet, so the locator has no host/port hints: pass --ocapn-port, or listen once with 'pinhole listen --ocapn --ocapn-listen PORT'.");
                }
                return ExitCodes.Success;
            }
            using var identity = await GlobalOptions.LoadIdentityAsync(parse, token).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                CliJson.Write(Console.Out, new IdJson(
                    identity.PeerId.ToString(),
                    identity.PeerId.ToCidString(),
                    identity.KeyType.ToString().ToLowerInvariant(),
                    Convert.ToBase64String(identity.PublicKey.Encoded.Span)), CommandJsonContext.Default.IdJson);
                return ExitCodes.Success;
            }
            await Console.Out.WriteLineAsync(parse.GetValue(cid) ? identity.PeerId.ToCidString() : identity.PeerId.ToString()).ConfigureAwait(false);
            return ExitCodes.Success;
        }, ct));
        return command;
    }
}
