using System.Globalization;
using Pinhole.Testing;
using Pinhole.Testing.Netlab;

namespace Pinhole.Vpn.Tests;

// Both members behind endpoint-independent NATs (the shared NAT lab: Linux masquerade, port-restricted cone), coturn
// as the STUN server and the coordinator on the internet segment. Neither can be reached at its own address: each
// data plane asks STUN, from its own socket, where it is seen from and announces that mapping first in field 7.
public sealed partial class DaemonNetworkVpnTests
{
    [NetnsFact("ping", "conntrack", "turnserver")]
    public async Task BothBehindEndpointIndependentNats_TheStunMappedEndpointsConnectThem()
    {
        await using var lab = await global::Pinhole.Testing.Netlab.NatLab.CreateAsync(new NatLabOptions { Coturn = true }.Add("a", NatType.Easy).Add("b", NatType.Easy));
        NetworkNamespace server = lab.Server.Namespace, nsA = lab["a"].Host.Namespace, nsB = lab["b"].Host.Namespace;
        string root = Directory.CreateTempSubdirectory("pinhole-vpn-nat2-").FullName;
        try
        {
            await using var members = await JoinTwoAsync(root, server, lab.ServerAddress.ToString(), nsA, nsB, "nat2", "10.78.0.0/24");
            string homeA = members.HomeA, homeB = members.HomeB, ipA = members.IpA, ipB = members.IpB, idA = members.IdA, idB = members.IdB;

            string stun = lab.StunServer.ToString();
            await using var a = Daemon(nsA, homeA, "--stun", stun, "--vpn-network", "nat2");
            await a.WaitForLineAsync(l => l.StartsWith("api socket:", StringComparison.Ordinal), Guard);
            await using var b = Daemon(nsB, homeB, "--stun", stun, "--vpn-network", "nat2");
            await b.WaitForLineAsync(l => l.StartsWith("api socket:", StringComparison.Ordinal), Guard);
            string Logs() => $"A:\n{a.Output()}\nB:\n{b.Output()}";

            // Each has the other's router's public address (the STUN mapping), not its private 10.N.0.2.
            string publicA = lab["a"].PublicAddress + ":", publicB = lab["b"].PublicAddress + ":";
            await UntilAsync(async () => (await VpnPeersAsync(homeA)).GetValueOrDefault(idB, "").StartsWith(publicB, StringComparison.Ordinal), "A has B's mapped endpoint", Logs);
            await UntilAsync(async () => (await VpnPeersAsync(homeB)).GetValueOrDefault(idA, "").StartsWith(publicA, StringComparison.Ordinal), "B has A's mapped endpoint", Logs);

            // Each router drops the other's first packets until its own host has sent to that address (port-restricted
            // filtering): both sides send at once, and the handshake's retransmissions get through once both mappings
            // are open — hole punching by the data plane itself. Rounds repeat only as a bounded hang guard.
            await UntilAsync(async () =>
            {
                Task<ProcessResult> fromA = VpnLab.PingAsync(nsA, ipB, count: 3, wait: 2);
                Task<ProcessResult> fromB = VpnLab.PingAsync(nsB, ipA, count: 3, wait: 2);
                return (await fromA).ExitCode == 0 && (await fromB).ExitCode == 0;
            }, "A and B ping each other by virtual IP", Logs);
            Assert.StartsWith(publicA, (await VpnPeersAsync(homeB))[idA], StringComparison.Ordinal);
            Assert.StartsWith(publicB, (await VpnPeersAsync(homeA))[idB], StringComparison.Ordinal);

            foreach (ExternalProcess daemon in new[] { a, b })
            {
                await nsA.ExecAsync("kill", "-TERM", daemon.Id.ToString(CultureInfo.InvariantCulture));
                Assert.Equal(0, await daemon.WaitForExitAsync(Guard));
            }
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
