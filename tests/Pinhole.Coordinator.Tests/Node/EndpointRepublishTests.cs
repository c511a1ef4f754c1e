using Pinhole.Coordinator.Tests.Server;
using Pinhole.Node;

namespace Pinhole.Coordinator.Tests.NodeSide;

/// <summary>
/// An address that appears after start (a port mapping, a relay reservation) reaches the other members in a new
/// signed endpoint record, not only identify. Waits are on state, bounded only as a hang guard.
/// </summary>
public sealed class EndpointRepublishTests : IDisposable
{
    private readonly List<string> _homes = [];

    public void Dispose()
    {
        foreach (var home in _homes)
        {
            Directory.Delete(home, recursive: true);
        }
    }

    private string NewHome()
    {
        var home = Directory.CreateTempSubdirectory("ph-er-").FullName;
        _homes.Add(home);
        return home;
    }

    private static PinholeNodeOptions NodeOptions(NodeIdentity identity, string home) => new()
    {
        Identity = identity,
        Home = home,
        ListenAddresses = [Multiaddr.Parse("/ip4/127.0.0.1/tcp/0")],
        EnableUdp = false,
        Transport = { HandshakeTimeout = Wait.Guard },
    };

    private static async Task UntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Wait.Guard;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "never: " + what);
            await Task.Delay(20);
        }
    }

    /// <summary>Stands in for a port mapping: its address appears (and goes) when the test says so.</summary>
    private sealed class LateAddressSource : INodeService, INodeAddressSource
    {
        private volatile Multiaddr[] _addresses = [];

        public string Name => "late-address";

        public event EventHandler? AddressesChanged;

        public Task StartAsync(PinholeNode node, CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public IReadOnlyList<Multiaddr> GetAddresses() => _addresses;

        public void Set(params Multiaddr[] addresses)
        {
            _addresses = addresses;
            AddressesChanged?.Invoke(this, EventArgs.Empty);
        }
    }

    [Fact]
    public async Task AnAddressThatAppearsAfterStartReachesTheOtherMembersInANewEndpointRecord()
    {
        await using var coordinator = await TestCoordinator.StartAsync();
        using var net = new TestNetwork();
        await coordinator.AddNetworkAsync(net);
        using var aliceKey = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        using var bobKey = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var late = new LateAddressSource();
        // The networks service is added before the address source, as the daemon does with port mapping and relays.
        await using var bob = PinholeNode.CreateBuilder(NodeOptions(bobKey, NewHome()))
            .AddNetwork(new NetworkMembershipOptions { Invite = coordinator.Invite(net), OperationTimeout = Wait.Guard }).AddService(late).Build();
        await using var alice = PinholeNode.CreateBuilder(NodeOptions(aliceKey, NewHome()))
            .AddNetwork(new NetworkMembershipOptions { Invite = coordinator.Invite(net), OperationTimeout = Wait.Guard }).Build();
        await bob.StartAsync();
        await alice.StartAsync();
        var a = alice.GetNetwork(net.Id)!;
        IReadOnlyList<Multiaddr> BobAtAlice() => a.Client!.View.Members.TryGetValue(bobKey.PeerId, out var m) ? m.Addresses : [];
        await UntilAsync(() => BobAtAlice().Count > 0, "alice has bob's first endpoint record");
        var mapped = Multiaddr.Parse($"/ip4/127.0.0.2/tcp/{Pinhole.Testing.FreePort.Tcp()}/p2p/{bobKey.PeerId}");
        Assert.DoesNotContain(mapped, BobAtAlice());

        // The "mapping" succeeds after start: alice learns it from the coordinator, signed by bob.
        late.Set(mapped);
        await UntilAsync(() => BobAtAlice().Contains(mapped), "the late address reached alice");
        // The view changes first; the peer store gets it when alice's network service follows the change.
        await UntilAsync(() => alice.Peers.Get(bobKey.PeerId)!.Addresses.Any(x => x.Source == AddressSource.Coordinator && mapped.ToString().StartsWith(x.Address.ToString(), StringComparison.Ordinal)),
            "the late address in alice's peer store");

        // And when it is lost, the record drops it again.
        late.Set();
        await UntilAsync(() => !BobAtAlice().Contains(mapped) && BobAtAlice().Count > 0, "the lost address left alice's view");
    }
}
