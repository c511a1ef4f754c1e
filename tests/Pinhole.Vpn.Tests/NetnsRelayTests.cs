using Pinhole.Testing;
using Xunit.Abstractions;

namespace Pinhole.Vpn.Tests;

/// <summary>
/// The relay path with the real data plane (TUN, the recvmmsg UDP transport) in two namespaces; the relay stream is a
/// loopback TCP pair standing in for the node stream, and UDP out of A is dropped by nft. The in-memory RelayPathTests
/// could not see that a relayed frame waits for the UDP receive loop to be woken: with the real socket the wake was
/// swallowed (UdpTransport.Receive went back to poll), so no relayed datagram was ever handled.
/// </summary>
[Trait("Category", "Netns")]
public class NetnsRelayTests(ITestOutputHelper output)
{
    [NetnsFact("ping", "nft")]
    public async Task UdpBlocked_PingRunsOverTheRelayStream_WithTheRealUdpTransport()
    {
        await using var lab = await VpnLab.CreateAsync(start: false);
        await lab.A.NftAsync("""
            table inet udpblock {
              chain out {
                type filter hook output priority -10; policy accept;
                oifname "eth0" meta l4proto udp drop
              }
            }
            """);
        lab.StartB();
        lab.StartA();
        var (a, b) = await RelayPathTests.StreamPairAsync();
        _ = lab.VpnA!.AttachRelay(lab.IdentityB.PeerId, a);
        _ = lab.VpnB!.AttachRelay(lab.IdentityA.PeerId, b);

        // The first handshake over UDP has to fail (RekeyTimeout) before the path moves: rounds of pings, bounded.
        ProcessResult ping = await VpnLab.PingAsync(lab.A, "10.7.0.2", count: 2, wait: 2);
        for (int round = 0; round < 15 && ping.ExitCode != 0; round++)
        {
            ping = await VpnLab.PingAsync(lab.A, "10.7.0.2", count: 2, wait: 2);
        }
        VpnStatus sa = lab.VpnA.GetStatus(), sb = lab.VpnB.GetStatus();
        string state = $"A: relay {sa.RelaySent}/{sa.RelayReceived}, {sa.Peers[0].Path}; B: relay {sb.RelaySent}/{sb.RelayReceived}, {sb.Peers[0].Path}";
        output.WriteLine(state);
        Assert.True(ping.ExitCode == 0, ping + state + lab.Log);
        Assert.Equal("relayed", sa.Peers[0].Path);
        Assert.Equal("relayed", sb.Peers[0].Path);
        Assert.True(sa.RelayReceived > 0 && sb.RelayReceived > 0, state);
        ProcessResult back = await VpnLab.PingAsync(lab.B, "10.7.0.1", count: 2);
        Assert.True(back.ExitCode == 0, back + state);
    }
}
