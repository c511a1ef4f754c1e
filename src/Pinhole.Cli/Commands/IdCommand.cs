using System.CommandLine;

namespace Pinhole.Cli.Commands;

internal static class IdCommand
{
    public static Command Create()
    {
        var command = new Command("id", "Print this node's PeerId, creating the identity on first use.");
        var cid = new Option<bool>("--cid") { Description = "Print the CIDv1 form (bafz…) instead of base58." };
        command.Options.Add(cid);
        command.SetAction((parse, ct) => CommandRunner.RunAsync(async token =>
        {
            using var identity = await PinholeHome.LoadOrCreateIdentityAsync(parse.GetValue(GlobalOptions.Home), token).ConfigureAwait(false);
            await Console.Out.WriteLineAsync(parse.GetValue(cid) ? identity.PeerId.ToCidString() : identity.PeerId.ToString()).ConfigureAwait(false);
            return ExitCodes.Success;
        }, ct));
        return command;
    }
}
