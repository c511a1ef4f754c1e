using System.Globalization;

namespace Pinhole.Benchmarks.Relay;

/// <summary>
/// <c>relay-child</c>: a Pinhole relay (unlimited circuits) in its own process, so the relay's CPU and memory are
/// measured apart from the peers'. Prints <c>ready &lt;multiaddr&gt; &lt;peer&gt;</c>; on the line <c>mem</c> prints
/// <c>mem &lt;managed heap bytes&gt; &lt;working set bytes&gt; &lt;reservations&gt; &lt;circuits&gt;</c> after full GCs;
/// exits at end of input.
/// </summary>
internal static class RelayChild
{
    public const string Command = "relay-child";

    public static int Run(string[] args)
    {
        _ = args;
        return RunAsync().GetAwaiter().GetResult();
    }

    private static async Task<int> RunAsync()
    {
        await using var relay = await BenchNode.StartAsync(relay: true);
        Console.WriteLine($"ready {relay.Address} {relay.Identity.PeerId}");
        while (await Console.In.ReadLineAsync() is { } line)
        {
            if (line == "mem")
            {
                for (var i = 0; i < 3; i++)
                {
                    GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
                    GC.WaitForPendingFinalizers();
                }
                using var self = System.Diagnostics.Process.GetCurrentProcess();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"mem {GC.GetTotalMemory(true)} {self.WorkingSet64} {relay.Server!.ReservationCount} {relay.Server.CircuitCount}"));
            }
        }
        return 0;
    }
}
