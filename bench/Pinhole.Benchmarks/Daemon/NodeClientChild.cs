using System.Diagnostics;
using System.Globalization;
using Pinhole.Benchmarks.Transport;
using Pinhole.Node;

namespace Pinhole.Benchmarks.Daemon;

/// <summary>
/// The daemon's API client in a process of its own, as the CLI or a control plane is in real use. The node harness
/// starts it, notes its own CPU when the child says READY, tells it GO, and notes its CPU again at RESULT: so the
/// daemon's CPU per connect+close is measured apart from the client's, which the child reports.
/// </summary>
/// <remarks>Protocol on stdin/stdout: child prints <c>READY</c> after its warm-up; parent writes <c>GO</c>; child
/// prints <c>RESULT connectMs closeMs cpuSecondsPerPair</c> (medians of wall time) and exits.</remarks>
internal static class NodeClientChild
{
    public const string Command = "node-client-child";
    private const int WarmUp = 60;

    /// <summary>Runs the child in a new process; returns its medians and its CPU per pair, and the parent's CPU per pair.</summary>
    public static async Task<(double ConnectMs, double CloseMs, double ClientCpu, double DaemonCpu)> MeasureAsync(string socket, string target, string peer, int count)
    {
        var path = Environment.ProcessPath ?? throw new InvalidOperationException("No process path.");
        var start = new ProcessStartInfo(path) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(path) == "dotnet")
        {
            start.ArgumentList.Add(typeof(NodeClientChild).Assembly.Location);
        }
        foreach (var a in new[] { Command, socket, target, peer, count.ToString(CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(a);
        }
        using var child = Process.Start(start) ?? throw new InvalidOperationException("Cannot start the client child process.");
        var stderr = child.StandardError.ReadToEndAsync();
        try
        {
            using var bounded = new CancellationTokenSource(TimeSpan.FromMinutes(5));
            string? line;
            while ((line = await child.StandardOutput.ReadLineAsync(bounded.Token).ConfigureAwait(false)) is not null && line != "READY")
            {
            }
            var cpu = Harness.CpuTime();
            await child.StandardInput.WriteLineAsync("GO").ConfigureAwait(false);
            await child.StandardInput.FlushAsync(bounded.Token).ConfigureAwait(false);
            while ((line = await child.StandardOutput.ReadLineAsync(bounded.Token).ConfigureAwait(false)) is not null && !line.StartsWith("RESULT ", StringComparison.Ordinal))
            {
            }
            var daemonCpu = (Harness.CpuTime() - cpu).TotalSeconds / count;
            if (line is null)
            {
                throw new InvalidOperationException($"The client child ended without a result: {await stderr.ConfigureAwait(false)}");
            }
            var parts = line.Split(' ');
            double P(int i) => double.Parse(parts[i], CultureInfo.InvariantCulture);
            return (P(1), P(2), P(3), daemonCpu);
        }
        finally
        {
            if (!child.WaitForExit(TimeSpan.FromSeconds(30)))
            {
                child.Kill(entireProcessTree: true);
            }
        }
    }

    public static int Run(string[] args)
    {
        if (args.Length != 4)
        {
            Console.Error.WriteLine($"Usage: {Command} SOCKET TARGET PEER COUNT");
            return 2;
        }
        return RunAsync(args[0], args[1], args[2], int.Parse(args[3], CultureInfo.InvariantCulture)).GetAwaiter().GetResult();
    }

    private static async Task<int> RunAsync(string socket, string target, string peer, int count)
    {
        using var api = new PinholeApiClient(socket);
        for (var i = 0; i < WarmUp; i++)
        {
            await api.ConnectAddressAsync(target, cancellationToken: Harness.Bounded()).ConfigureAwait(false);
            await api.DisconnectAsync(peer, Harness.Bounded()).ConfigureAwait(false);
        }
        // Let tiered compilation finish the methods the warm-up made hot before the parent starts counting.
        await Task.Delay(500).ConfigureAwait(false);
        Console.WriteLine("READY");
        if (await Console.In.ReadLineAsync().ConfigureAwait(false) != "GO")
        {
            return 2;
        }
        var connects = new List<double>(count);
        var closes = new List<double>(count);
        var cpu = Harness.CpuTime();
        for (var i = 0; i < count; i++)
        {
            var clock = Stopwatch.StartNew();
            await api.ConnectAddressAsync(target, cancellationToken: Harness.Bounded()).ConfigureAwait(false);
            connects.Add(clock.Elapsed.TotalMilliseconds);
            clock.Restart();
            await api.DisconnectAsync(peer, Harness.Bounded()).ConfigureAwait(false);
            closes.Add(clock.Elapsed.TotalMilliseconds);
        }
        var perPair = (Harness.CpuTime() - cpu).TotalSeconds / count;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"RESULT {Harness.Median(connects):F4} {Harness.Median(closes):F4} {perPair:F7}"));
        return 0;
    }
}
