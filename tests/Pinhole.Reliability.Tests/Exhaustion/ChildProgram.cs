using System.Globalization;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Pinhole.Connections;

namespace Pinhole.Reliability.Tests.Exhaustion;

/// <summary>
/// The test assembly doubles as the program a test runs in a child process (under a low <c>ulimit -n</c>):
/// <c>dotnet exec Pinhole.Reliability.Tests.dll listen</c> starts a <see cref="PeerListener"/> that echoes
/// every stream, prints <c>listening PORT PEERID</c>, and on a line <c>report</c> on stdin prints
/// <c>report accept_errors=N shortage=N refused=N connections=N fds=N</c>; it exits when stdin closes.
/// </summary>
public static class ChildProgram
{
    public static async Task<int> Main(string[] args)
    {
        if (args is not ["listen", ..] || args.Length > 2)
        {
            await Console.Error.WriteLineAsync("usage: Pinhole.Reliability.Tests listen [IPV4-ADDRESS]");
            return 2;
        }
        var address = args.Length == 2 ? args[1] : "127.0.0.1";
        using var identity = NodeIdentity.Generate();
        using var acceptErrors = new MetricCollector<long>(null, AdmissionMetrics.MeterName, "pinhole.listener.accept_errors");
        using var refused = new MetricCollector<long>(null, AdmissionMetrics.MeterName, "pinhole.connection.refused");
        using var shortage = new MetricCollector<long>(null, AdmissionMetrics.MeterName, "pinhole.listener.descriptor_shortage");
        await using var listener = await PeerListener.ListenAsync(new PeerListenerOptions
        {
            Identity = identity,
            ListenAddresses = [Multiaddr.Parse($"/ip4/{address}/tcp/0")],
            // The tests' own peers dial from a process that may be JIT-compiling its whole TLS path on a loaded
            // machine: deadlines this child enforces on the real clock must never be what a test measures.
            FirstByteTimeout = TimeSpan.FromSeconds(60),
            HandshakeTimeout = TimeSpan.FromSeconds(120),
        });
        var limit = ProcessLimits.GetFileDescriptorLimit();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"listening {listener.ListenAddresses[0].ToIPEndPoint().Port} {identity.PeerId} nofile={limit?.Soft}"));
        using var stop = new CancellationTokenSource();
        var serving = ServeAsync(listener, stop.Token);
        string? line;
        while ((line = await Console.In.ReadLineAsync()) is not null)
        {
            if (line == "report")
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"report accept_errors={acceptErrors.GetMeasurementSnapshot().Sum(m => m.Value)} shortage={shortage.GetMeasurementSnapshot().Sum(m => m.Value)} refused={refused.GetMeasurementSnapshot().Sum(m => m.Value)} connections={listener.AuthenticatedCount} fds={DescriptorReserve.CountOpenDescriptors()} accept_error_reasons={string.Join(",", acceptErrors.GetMeasurementSnapshot().Select(m => m.Tags["reason"]).Distinct())}"));
            }
        }
        await stop.CancelAsync();
        await serving;
        return 0;
    }

    private static async Task ServeAsync(PeerListener listener, CancellationToken cancellationToken)
    {
        var tasks = new List<Task>();
        try
        {
            while (true)
            {
                var connection = await listener.AcceptAsync(cancellationToken);
                tasks.Add(EchoAsync(connection, cancellationToken));
            }
        }
        catch (OperationCanceledException)
        {
        }
        await Task.WhenAll(tasks);
    }

    private static async Task EchoAsync(PeerConnection connection, CancellationToken cancellationToken)
    {
        await using (connection)
        {
            try
            {
                while (true)
                {
                    var stream = await connection.AcceptStreamAsync(cancellationToken);
                    _ = Task.Run(async () =>
                    {
                        await using (stream)
                        {
                            await stream.CopyToAsync(stream, cancellationToken);
                            stream.CompleteWrites();
                        }
                    }, CancellationToken.None);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or IOException)
            {
            }
        }
    }
}
