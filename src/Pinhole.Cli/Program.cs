using System.CommandLine;
using System.Runtime.InteropServices;
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
        // Ctrl-C / SIGTERM cancel the command's token; it then has StopTimeout to close connections, drain and
        // delete port mappings, and a second signal stops it at once. This is done here, not by System.CommandLine's
        // ProcessTerminationTimeout: that handler is registered before the command's task exists. A signal that
        // arrives while the command still runs synchronously (listen prints its address before its first real
        // await) found no task to wait for. It was then answered with exit code 130 at once, instead of a clean stop
        // (CliTests.ListenStopsCleanlyOnCtrlC: 22 of 60 interrupts under load).
        using var interrupted = new CancellationTokenSource();
        var forced = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        void Interrupt(PosixSignalContext context)
        {
            context.Cancel = true;
            var code = context.Signal == PosixSignal.SIGINT ? ExitCodes.Interrupted : ExitCodes.Terminated;
            if (interrupted.IsCancellationRequested)
            {
                forced.TrySetResult(code);
                return;
            }
            interrupted.Cancel();
            _ = Task.Delay(StopTimeout, CancellationToken.None).ContinueWith(_ => forced.TrySetResult(code), TaskScheduler.Default);
        }
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Interrupt);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Interrupt);
        var running = parse.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null }, interrupted.Token);
        return await (await Task.WhenAny(running, forced.Task).ConfigureAwait(false)).ConfigureAwait(false);
    }

    /// <summary>How long a command may take to stop after Ctrl-C or SIGTERM before the process exits anyway.</summary>
    internal static TimeSpan StopTimeout => Commands.Daemon.DaemonCommand.ShutdownTimeout + TimeSpan.FromSeconds(10);

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
        root.Subcommands.Add(Commands.Networks.CoordinatorCommand.Create());
        root.Subcommands.Add(Commands.Networks.NetworkCommands.Create());
        root.Subcommands.Add(Commands.Networks.JoinCommand.Create());
        root.Subcommands.Add(VpnCommand.Create());
        return root;
    }
}
