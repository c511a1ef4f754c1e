using System.Net;
using Pinhole.Testing;
using Pinhole.Vpn.DataPlane;
using static Pinhole.Vpn.Tests.TestPackets;

namespace Pinhole.Vpn.Tests;

/// <summary>
/// A packet sent while a handshake is finishing. The interface starts a handshake for every peer with an endpoint
/// as it starts, so the first packet an application sends races it: read "no keypair", then the handshake installs
/// its keypair and finds nothing queued, then the packet is queued. It must still go out (it used to wait for the
/// next packet: a single ping through a new tunnel was lost).
/// </summary>
public sealed class StagingRaceTests
{
    private static readonly IPEndPoint A = new(VpnPair.A, 1000);
    private static readonly IPEndPoint B = new(VpnPair.B, 2000);

    [Fact]
    public async Task A_packet_queued_just_after_the_handshake_installed_its_keypair_is_sent()
    {
        var time = Clocks.StartingNow();
        var addressA = UdpAddress.Create(IPEndPoint.Parse("192.0.2.1:51820"));
        var holdToA = true; // B's handshake replies are dropped until the packet is in flight: the start-up handshake waits
        var network = new MemoryTransportNetwork { Filter = (_, to, _) => !(Volatile.Read(ref holdToA) && to.Equals(addressA)) };
        await using var pair = await VpnPair.StartAsync(network: network, timings: new VpnTimings { PingInterval = TimeSpan.MaxValue, ProbePathMtu = false }, configure: (a, b) =>
        {
            a.TimeProvider = time;
            b.TimeProvider = time;
        });
        var peerB = pair.VpnA.FindPeer(pair.IdentityB.PeerId)!;
        Assert.Null(peerB.Current);
        // The TUN thread stops in the hook, having read "no keypair"; the test thread lets the handshake finish
        // (timers fire on the test's thread, as they would on a timer thread, never on the TUN thread), then lets
        // the TUN thread queue the packet.
        var landed = 0;
        var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var release = new ManualResetEventSlim();
        pair.VpnA.BeforeStagingForTests = _ =>
        {
            if (Interlocked.Exchange(ref landed, 1) == 0)
            {
                reached.SetResult();
                release.Wait(VpnPair.Patience);
            }
        };

        pair.TunA.Inject(Udp(A, B, 10));
        await reached.Task.WaitAsync(VpnPair.Patience);
        Volatile.Write(ref holdToA, false);
        // A's DTLS retransmits on the fake clock: step it (in all 4 s, inside the 5 s handshake timeout) until the
        // handshake has installed its keypair, then wait for that without moving the clock further.
        for (var step = 0; peerB.Current is null && step < 16; step++)
        {
            time.Advance(TimeSpan.FromMilliseconds(250));
            await Task.Delay(50);
        }
        await VpnPair.WaitUntilAsync(() => peerB.Current is not null, "the start-up handshake installed its keypair");
        Assert.False(peerB.HasStaged); // it looked for queued packets and found none: the packet is not queued yet
        release.Set();

        var delivered = await pair.TunB.NextDeliveredAsync(VpnPair.Patience);
        Assert.Equal(Udp(A, B, 10), delivered);
        Assert.Equal(1, Volatile.Read(ref landed));
        Assert.NotNull(peerB.Current);
        Assert.False(peerB.HasStaged);
    }
}
