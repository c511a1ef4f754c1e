using System.CommandLine;
using Pinhole.Cli.Commands;

namespace Pinhole.Cli;

/// <summary>The <c>pinhole</c> command line. Exit codes are listed in docs/cli.md and <see cref="ExitCodes"/>.</summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        var root = BuildRoot();
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0 && parse.Action is not System.CommandLine.Help.HelpAction)
        {
            foreach (var error in parse.Errors)
            {
                await Console.Error.WriteLineAsync($"pinhole: error: {error.Message}").ConfigureAwait(false);
            }
            await Console.Error.WriteLineAsync("Try 'pinhole --help'.").ConfigureAwait(false);
            return ExitCodes.Usage;
        }
        // Ctrl-C / SIGTERM cancel the command's token; it then has this long to close connections, drain and
        // delete port mappings (System.CommandLine's default of 2 s is short on a loaded machine).
        var invocation = new InvocationConfiguration { ProcessTerminationTimeout = Commands.Daemon.DaemonCommand.ShutdownTimeout + TimeSpan.FromSeconds(10) };
        return await parse.InvokeAsync(invocation).ConfigureAwait(false);
    }

    internal static RootCommand BuildRoot()
    {
        var root = new RootCommand("Pinhole: peer-to-peer connections authenticated by key fingerprints (libp2p PeerIds).");
        root.Options.Add(GlobalOptions.Home);
        root.Options.Add(GlobalOptions.Verbose);
        root.Options.Add(GlobalOptions.KeyType);
        root.Subcommands.Add(IdCommand.Create());
        root.Subcommands.Add(ListenCommand.Create());
        root.Subcommands.Add(PingCommand.Create());
        root.Subcommands.Add(CatCommand.Create());
        root.Subcommands.Add(PacketCommand.Create());
        root.Subcommands.Add(NetcheckCommand.Create());
        Commands.Daemon.DaemonCommands.Register(root);
        root.Subcommands.Add(VpnCommand.Create());
        return root;
    }
}
