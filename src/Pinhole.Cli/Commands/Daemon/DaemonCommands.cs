using System.CommandLine;

namespace Pinhole.Cli.Commands.Daemon;

/// <summary>The daemon and the commands that talk to it over its local API (docs/cli.md, docs/node.md).</summary>
internal static class DaemonCommands
{
    /// <summary>Adds <c>daemon</c>, <c>status</c>, <c>peers</c>, <c>connect</c>, <c>disconnect</c> (<c>ping PEER</c> goes through <see cref="DaemonPing"/>).</summary>
    public static void Register(RootCommand root)
    {
        root.Subcommands.Add(DaemonCommand.Create());
        root.Subcommands.Add(StatusCommand.Create());
        root.Subcommands.Add(PeersCommand.Create());
        root.Subcommands.Add(ConnectCommand.CreateConnect());
        root.Subcommands.Add(ConnectCommand.CreateDisconnect());
    }
}
