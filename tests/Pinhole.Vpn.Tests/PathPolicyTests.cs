using System.Net;
using Microsoft.Extensions.Time.Testing;
using Pinhole.Vpn.DataPlane;

namespace Pinhole.Vpn.Tests;

/// <summary>
/// The path policy's hysteresis (DataPlane/PathPolicy.cs) on a fake clock: once a UDP round trip is proven the peer
/// stays direct while records queued in the relay keep arriving, and goes back to the relay only when UDP has been
/// silent for DirectHold. A recovery with both paths delivering costs exactly one path change on each side.
/// </summary>
public class PathPolicyTests
{
    private static readonly TimeSpan Hold = TimeSpan.FromSeconds(15);
    private static readonly UdpAddress DirectA = UdpAddress.Create(new IPEndPoint(IPAddress.Parse("203.0.113.1"), 40000));
    private static readonly UdpAddress DirectB = UdpAddress.Create(new IPEndPoint(IPAddress.Parse("203.0.113.2"), 51820));
    private static readonly UdpAddress RelayA = UdpAddress.Create(((UInt128)0x0100_0000_0000_0000UL << 64) | 1, 1);
    private static readonly UdpAddress RelayB = UdpAddress.Create(((UInt128)0x0100_0000_0000_0000UL << 64) | 2, 1);

    /// <summary>One side's path state, driven by the policy the way VpnInterface.OnPathRecord drives it.</summary>
    private sealed class Side(FakeTimeProvider time, UdpAddress? endpoint)
    {
        internal UdpAddress? Endpoint { get; private set; } = endpoint;
        internal long DirectHeard { get; private set; }
        internal int Changes { get; private set; }
        internal int ProbesWanted { get; private set; }

        internal PathVerdict Receive(UdpAddress source, PathRecord kind = PathRecord.Other)
        {
            long now = time.GetTimestamp();
            bool fromRelay = RelayTransport.IsRelay(source);
            if (!fromRelay && kind != PathRecord.Probe)
            {
                DirectHeard = now;
            }
            PathVerdict verdict = PathPolicy.OnRecord(Endpoint, fromRelay, kind, DirectHeard, now, Hold, time);
            if (verdict == PathVerdict.Follow && !source.Equals(Endpoint))
            {
                if (Endpoint is not null && RelayTransport.IsRelay(Endpoint) != fromRelay)
                {
                    Changes++;
                }
                Endpoint = source;
            }
            else if (verdict == PathVerdict.Probe)
            {
                ProbesWanted++;
            }
            return verdict;
        }
    }

    [Fact]
    public void ARelayedPeerMovesOnlyOnAnAck_NotOnAProbeOrOtherUdpRecords_WhichItProbesBack()
    {
        var time = new FakeTimeProvider();
        var side = new Side(time, RelayB);
        Assert.Equal(PathVerdict.Probe, side.Receive(DirectB, PathRecord.Probe)); // answered, and probed back
        Assert.Equal(PathVerdict.Probe, side.Receive(DirectB));
        Assert.Equal(RelayB, side.Endpoint);
        Assert.Equal(PathVerdict.Follow, side.Receive(DirectB, PathRecord.ProbeAck));
        Assert.Equal(DirectB, side.Endpoint);
        Assert.Equal(1, side.Changes);
    }

    [Fact]
    public void ADirectPeerStaysDirectWhileUdpAnswers_AndFollowsTheRelayOnceUdpIsSilentForTheHold()
    {
        var time = new FakeTimeProvider();
        var side = new Side(time, DirectB);
        side.Receive(DirectB);
        for (int i = 0; i < 14; i++)
        {
            time.Advance(TimeSpan.FromSeconds(1));
            Assert.Equal(PathVerdict.Stay, side.Receive(RelayB));
        }
        time.Advance(TimeSpan.FromSeconds(1) - TimeSpan.FromTicks(1));
        Assert.Equal(PathVerdict.Stay, side.Receive(RelayB)); // 15 s less a tick of UDP silence
        Assert.Equal(DirectB, side.Endpoint);
        time.Advance(TimeSpan.FromTicks(1));
        Assert.Equal(PathVerdict.Follow, side.Receive(RelayB));
        Assert.Equal(RelayB, side.Endpoint);
        Assert.Equal(1, side.Changes);
    }

    [Fact]
    public void AProbeDoesNotCountAsUdpAnswering()
    {
        var time = new FakeTimeProvider();
        var side = new Side(time, DirectB);
        side.Receive(DirectB);
        time.Advance(Hold);
        Assert.Equal(PathVerdict.Stay, side.Receive(DirectB, PathRecord.Probe)); // the peer is relayed and probing
        Assert.Equal(PathVerdict.Follow, side.Receive(RelayB));
    }

    [Fact]
    public void WithoutAnyUdpHeard_TheRelayIsFollowedAtOnce()
    {
        var time = new FakeTimeProvider();
        Assert.Equal(PathVerdict.Follow, new Side(time, null).Receive(RelayB));
        Assert.Equal(PathVerdict.Follow, new Side(time, DirectB).Receive(RelayB));
    }

    [Fact]
    public void RoamingBetweenDirectAddressesIsUnchanged()
    {
        var time = new FakeTimeProvider();
        var side = new Side(time, DirectB);
        var roamed = UdpAddress.Create(new IPEndPoint(IPAddress.Parse("203.0.113.9"), 51820));
        Assert.Equal(PathVerdict.Follow, side.Receive(roamed));
        Assert.Equal(roamed, side.Endpoint);
        Assert.Equal(0, side.Changes);
    }

    /// <summary>
    /// Both relayed, UDP comes back while the relay still delivers and still holds records queued before each move:
    /// A probes, B acks, A moves; A's UDP records make B probe, A acks, B moves; the queued relayed records of each
    /// side arrive afterwards and move nobody. One change each. Then UDP dies: the relay wins after the hold.
    /// </summary>
    [Fact]
    public void ARecoveryWithBothPathsDeliveringIsOneChangeOnEachSide()
    {
        var time = new FakeTimeProvider();
        var a = new Side(time, RelayA); // A's view of B
        var b = new Side(time, RelayB); // B's view of A
        TimeSpan step = TimeSpan.FromMilliseconds(3);

        // Relayed traffic both ways before the probe.
        a.Receive(RelayA);
        b.Receive(RelayB);
        Assert.Equal(PathVerdict.Probe, b.Receive(DirectB, PathRecord.Probe)); // A's probe reaches B over UDP: B probes back
        time.Advance(step);
        Assert.Equal(PathVerdict.Follow, a.Receive(DirectA, PathRecord.ProbeAck)); // B's ack reaches A over UDP
        for (int i = 0; i < 20; i++)
        {
            time.Advance(step);
            a.Receive(RelayA); // B still relayed: its data arrives over the relay
            Assert.Equal(PathVerdict.Probe, b.Receive(DirectB)); // A now sends over UDP
            b.Receive(RelayB); // and A's records queued in the relay before it moved
        }
        Assert.True(b.ProbesWanted > 0);
        Assert.Equal(PathVerdict.Stay, a.Receive(DirectA, PathRecord.Probe)); // B's probe
        time.Advance(step);
        Assert.Equal(PathVerdict.Follow, b.Receive(DirectB, PathRecord.ProbeAck)); // A's ack
        for (int i = 0; i < 200; i++)
        {
            time.Advance(step);
            a.Receive(DirectA);
            b.Receive(DirectB);
            if (i < 100)
            {
                a.Receive(RelayA); // the relay's queues drain
                b.Receive(RelayB);
            }
        }
        Assert.Equal((DirectA, DirectB), (a.Endpoint, b.Endpoint));
        Assert.Equal((1, 1), (a.Changes, b.Changes));

        // UDP dies; B gives up on it first (its timer) and sends over the relay: A follows only after the hold.
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(PathVerdict.Stay, a.Receive(RelayA));
        time.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(PathVerdict.Follow, a.Receive(RelayA));
        Assert.Equal(2, a.Changes);
    }
}
