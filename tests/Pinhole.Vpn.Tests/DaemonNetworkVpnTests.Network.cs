using Pinhole.Testing;

namespace Pinhole.Vpn.Tests;

// The network every daemon test starts from: a coordinator (with its admin API on its own loopback) in the server's
// namespace, a network with one IPv4 range, and two members that each join from their own namespace with an invite.
public sealed partial class DaemonNetworkVpnTests
{
    private sealed record TwoMembers(ExternalProcess Coordinator, string Network, string HomeA, string HomeB, string IpA, string IpB, string IdA, string IdB) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => Coordinator.DisposeAsync();
    }

    private static async Task<TwoMembers> JoinTwoAsync(string root, NetworkNamespace server, string listenIp, NetworkNamespace nsA, NetworkNamespace nsB, string name, string ipv4)
    {
        string coordHome = Path.Combine(root, "coord"), admin = Path.Combine(root, "admin"), homeA = Path.Combine(root, "a"), homeB = Path.Combine(root, "b");
        var coordinator = server.Start("dotnet", [Pinhole, "--home", coordHome, "coordinator", "--store", "sqlite:" + Path.Combine(root, "coord.db"),
            "--listen", $"/ip4/{listenIp}/tcp/0", "--admin-api", "https://127.0.0.1:0"]);
        try
        {
            string coordinatorId = (await coordinator.WaitForLineAsync(l => l.StartsWith("coordinator: ", StringComparison.Ordinal), Guard))["coordinator: ".Length..].Trim();
            string api = (await coordinator.WaitForLineAsync(l => l.StartsWith("admin api: ", StringComparison.Ordinal), Guard))["admin api: ".Length..].Trim();
            string network = (await RunAsync(server, admin, "network", "create", name, "--admin-api", api, "--coordinator", coordinatorId, "--ipv4", ipv4)).Trim();
            string ipA = Ipv4Line().Match(await RunAsync(nsA, homeA, "join", (await RunAsync(server, admin, "network", "invite", network)).Trim())).Groups[1].Value;
            string ipB = Ipv4Line().Match(await RunAsync(nsB, homeB, "join", (await RunAsync(server, admin, "network", "invite", network)).Trim())).Groups[1].Value;
            string idA = (await RunAsync(nsA, homeA, "id")).Trim(), idB = (await RunAsync(nsB, homeB, "id")).Trim();
            return new TwoMembers(coordinator, network, homeA, homeB, ipA, ipB, idA, idB);
        }
        catch
        {
            await coordinator.DisposeAsync();
            throw;
        }
    }
}
