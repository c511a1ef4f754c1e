using System.Net;
using System.Text.RegularExpressions;
using Pinhole.Reliability.Tests.Support;
using Pinhole.Testing;
using Xunit.Abstractions;

namespace Pinhole.Reliability.Tests.Exhaustion;

/// <summary>
/// A listener in a child process limited to 256 descriptors, flooded with far more sockets than it may hold: the
/// listener keeps its descriptor reserve free (evicting strangers, resetting what it cannot hold) so the runtime
/// can still start threads; the process keeps running, keeps serving the peer that was already connected, and
/// accepts new peers once the flood ends.
/// </summary>
[Collection(nameof(Hostile.HostileCollection))]
public sealed partial class DescriptorExhaustionTests(ITestOutputHelper output)
{
    [ToolFact("bash", "dotnet")]
    public async Task Running_out_of_descriptors_neither_kills_the_process_nor_the_accept_loop()
    {
        var dll = typeof(ChildProgram).Assembly.Location;
        await using var child = ExternalProcess.Start("bash", ["-c", $"ulimit -n 256 && exec dotnet exec \"{dll}\" listen"]);
        var ready = await child.WaitForLineAsync(l => l.StartsWith("listening ", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        var parts = ready.Split(' ');
        Assert.Equal("nofile=256", parts[3]);
        var port = int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture);
        var serverPeer = PeerId.Parse(parts[2]);
        var address = new PeerAddress(serverPeer, [Multiaddr.Parse($"/ip4/127.0.0.1/tcp/{port}")]);
        using var identity = NodeIdentity.Generate();

        // A peer connected before the flood, with a stream open.
        await using var connected = await PeerConnection.ConnectAsync(new PeerConnectOptions { Identity = identity, Remote = address, HandshakeTimeout = Dialer.HandshakeTimeout }, Dialer.Bounded());
        await using var stream = await connected.OpenStreamAsync("/echo/1", Dialer.Bounded());
        await EchoAsync(stream, 1);

        // Flood: far more sockets than the child may hold (silent, many addresses, each reconnecting when closed).
        var target = new IPEndPoint(IPAddress.Loopback, port);
        var shortage = 0L;
        var report = "";
        await using (var attack = Attack.Start(target, AttackKind.Silent, connections: 1500, addresses: 250))
        {
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(120));
            // Held at its descriptor limit until the listener has had to give descriptors back many times, the
            // runtime's timers and thread pool running meanwhile (the echo round trips need them).
            var round = 0;
            while (shortage < 20)
            {
                await EchoAsync(stream, round++);
                await Task.Delay(100, wait.Token); // pacing the polls only: the loop ends on the child's count
                report = await ReportAsync(child, wait.Token);
                shortage = Field(report, "shortage");
            }
            // At its descriptor limit right now: the established connection still works, streams and all.
            for (var i = 0; i < 20; i++)
            {
                await EchoAsync(stream, i);
            }
            await connected.PingAsync(Dialer.Bounded());
            Assert.False(child.HasExited, child.Output());
            report = await ReportAsync(child, wait.Token);
            // The listener never took the last descriptor: accept() never failed for want of one, so the runtime
            // always had descriptors left to start threads with (without them it aborts the process).
            Assert.Equal(0, Field(report, "accept_errors"));
            output.WriteLine($"at the limit: {report} ({attack.Connects} hostile connects); the connected peer was served throughout");
        }
        // The flood is over, but the child frees the attackers' descriptors only as it sees each close; until it is
        // below its reserve again a newcomer is shed by design. Wait for that state, then a new peer must get in.
        using (var settle = new CancellationTokenSource(TimeSpan.FromSeconds(120)))
        {
            while (Field(await ReportAsync(child, settle.Token), "fds") > 256 - 64)
            {
                await Task.Delay(100, settle.Token); // pacing the polls only: the loop ends on the child's count
            }
        }
        using var later = NodeIdentity.Generate();
        // Right after a flood the listener may still shed a newcomer while it recovers (its admission state is
        // per address and the flood used this one): what must hold is that the accept loop lets one in, not the first.
        PeerConnection? admitted = null;
        using (var recover = new CancellationTokenSource(TimeSpan.FromSeconds(120)))
        {
            while (admitted is null)
            {
                try
                {
                    admitted = await PeerConnection.ConnectAsync(new PeerConnectOptions { Identity = later, Remote = address, HandshakeTimeout = Dialer.HandshakeTimeout }, Dialer.Bounded());
                }
                catch (PeerException e) when (!recover.IsCancellationRequested)
                {
                    output.WriteLine($"shed while recovering: {e.Message}");
                    await Task.Delay(200, recover.Token); // pacing only
                }
            }
        }
        await using var fresh = admitted;
        await using var freshStream = await fresh.OpenStreamAsync("/echo/1", Dialer.Bounded());
        await EchoAsync(freshStream, 99);
        await EchoAsync(stream, 100);
        Assert.False(child.HasExited, child.Output());
        child.StandardInput.Close();
        Assert.Equal(0, await child.WaitForExitAsync(TimeSpan.FromSeconds(60)));
    }

    private static async Task EchoAsync(PeerStream stream, int value)
    {
        var message = BitConverter.GetBytes(value);
        await stream.WriteAsync(message, Dialer.Bounded());
        var back = new byte[4];
        await stream.ReadExactlyAsync(back, Dialer.Bounded());
        Assert.Equal(message, back);
    }

    private static async Task<string> ReportAsync(ExternalProcess child, CancellationToken cancellationToken)
    {
        await child.StandardInput.WriteLineAsync("report");
        await child.StandardInput.FlushAsync(cancellationToken);
        return await child.WaitForLineAsync(l => l.StartsWith("report ", StringComparison.Ordinal), TimeSpan.FromSeconds(30), cancellationToken);
    }

    private static long Field(string report, string name) =>
        long.Parse(Fields().Matches(report).First(m => m.Groups[1].Value == name).Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture);

    [GeneratedRegex("([a-z_]+)=([0-9]+)")]
    private static partial Regex Fields();
}
