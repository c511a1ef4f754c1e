using System.CommandLine;

namespace Pinhole.Cli.Commands;

internal static class CatCommand
{
    public static Command Create()
    {
        var command = new Command("cat", "Connect to a peer and copy standard input to it and its output to standard output (binary-safe, half-close at end of input).");
        var address = new Argument<string>("ADDRESS") { Description = "Peer address: /ip4/…/tcp/…/p2p/<PeerId>, pinhole://<PeerId>.tcp?host=…&port=…, or a Goblins ocapn://<designator>.tcp-tls?host=…&port=… locator" };
        var tofu = ConnectOptions.TrustOnFirstUse;
        command.Arguments.Add(address);
        command.Options.Add(tofu);
        command.SetAction((parse, ct) => CommandRunner.RunAsync(async token =>
        {
            if (OcapnCli.IsOcapn(parse.GetValue(address)!))
            {
                return await OcapnCli.CatAsync(parse, parse.GetValue(address)!, token).ConfigureAwait(false);
            }
            using var identity = await GlobalOptions.LoadIdentityAsync(parse, token).ConfigureAwait(false);
            using var logging = GlobalOptions.CreateLoggerFactory(parse);
            await using var connection = await PeerConnection.ConnectAsync(ConnectOptions.Create(parse, identity, logging, parse.GetValue(address)!), token).ConfigureAwait(false);
            await using var stream = await connection.OpenStreamAsync(CatProtocol.ProtocolId, token).ConfigureAwait(false);
            return await CatProtocol.PumpAsync(stream, token).ConfigureAwait(false);
        }, ct));
        return command;
    }
}
