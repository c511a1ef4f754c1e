using System.CommandLine;

namespace Pinhole.Cli.Commands;

internal static class IdCommand
{
    public static Command Create()
    {
        var command = new Command("id", "Print this node's PeerId, creating the identity on first use.");
        var cid = new Option<bool>("--cid") { Description = "Print the CIDv1 form (bafz…) instead of base58." };
        var ocapn = new Option<bool>("--ocapn") { Description = "Print this node's Goblins-compatible ocapn:// locator (tcp-tls netlayer) instead." };
        var host = new Option<string>("--ocapn-host") { Description = "Host hint of the locator.", DefaultValueFactory = _ => "localhost" };
        var port = new Option<int?>("--ocapn-port") { Description = "Port hint of the locator (default: the port 'pinhole listen --ocapn' last used)." };
        command.Options.Add(cid);
        command.Options.Add(ocapn);
        command.Options.Add(host);
        command.Options.Add(port);
        command.SetAction((parse, ct) => CommandRunner.RunAsync(async token =>
        {
            if (parse.GetValue(ocapn))
            {
                using var node = await OcapnCli.LoadNodeAsync(parse, token).ConfigureAwait(false);
                var p = parse.GetValue(port) ?? node.ListenPort;
                if (p is null)
                {
                    return CommandRunner.Fail("No port known yet: pass --ocapn-port, or listen once with 'pinhole listen --ocapn --ocapn-listen PORT'.", ExitCodes.Usage);
                }
                await Console.Out.WriteLineAsync(node.GetLocator(parse.GetValue(host)!, p.Value).ToString()).ConfigureAwait(false);
                return ExitCodes.Success;
            }
            using var identity = await GlobalOptions.LoadIdentityAsync(parse, token).ConfigureAwait(false);
            await Console.Out.WriteLineAsync(parse.GetValue(cid) ? identity.PeerId.ToCidString() : identity.PeerId.ToString()).ConfigureAwait(false);
            return ExitCodes.Success;
        }, ct));
        return command;
    }
}
