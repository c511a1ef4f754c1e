using System.Diagnostics;
using System.Net;
using Pinhole.Vpn.DataPlane;
using static Pinhole.Vpn.Tests.TestPackets;

namespace Pinhole.Vpn.Tests;

[CollectionDefinition("serial", DisableParallelization = true)]
public class SerialCollection;

/// <summary>Tunnels up and down leave nothing behind: no cipher contexts, no threads.</summary>
[Collection("serial")]
public class LeakTests
{
    [Fact]
    public async Task HundredTunnelsUpAndDown_LeaveNoCipherContextsOrThreads()
    {
        // Warm up (thread pool, OpenSSL) before taking the baseline.
        await OneTunnelAsync();
        GC.Collect();
        long contexts = RecordCipher.Live;
        int threads = Process.GetCurrentProcess().Threads.Count;
        for (int i = 0; i < 100; i++)
        {
            await OneTunnelAsync();
        }
        Assert.Equal(contexts, RecordCipher.Live);
        int after = Process.GetCurrentProcess().Threads.Count;
        Assert.True(after <= threads + 8, $"{threads} threads before, {after} after");
    }

    private static async Task OneTunnelAsync()
    {
        await using var pair = await VpnPair.StartAsync();
        pair.TunA.Inject(Udp(new IPEndPoint(VpnPair.A, 1), new IPEndPoint(VpnPair.B, 2), 20));
        await pair.TunB.NextDeliveredAsync(VpnPair.Patience);
        pair.TunB.Inject(Udp(new IPEndPoint(VpnPair.B, 2), new IPEndPoint(VpnPair.A, 1), 20));
        await pair.TunA.NextDeliveredAsync(VpnPair.Patience);
    }
}
