using System.Net;
using Pinhole.Testing;
using Pinhole.Vpn.DataPlane;
using Pinhole.Vpn.Routing;
using Pinhole.Vpn.Tun;

namespace Pinhole.Vpn.Tests;

/// <summary>Two VPN interfaces over in-memory TUNs and an in-memory network (no root needed).</summary>
internal sealed class VpnPair : IAsyncDisposable
{
    internal static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    internal static readonly IPAddress A = IPAddress.Parse("10.7.0.1");
    internal static readonly IPAddress B = IPAddress.Parse("10.7.0.2");

    internal required NodeIdentity IdentityA { get; init; }
    internal required NodeIdentity IdentityB { get; init; }
    internal required MemoryTransportNetwork Network { get; init; }
    internal required MemoryTun TunA { get; init; }
    internal required MemoryTun TunB { get; init; }
    internal required MemoryTransport TransportA { get; init; }
    internal required MemoryTransport TransportB { get; init; }
    internal required VpnInterface VpnA { get; init; }
    internal required VpnInterface VpnB { get; init; }

    /// <summary>A dials B (B has no endpoint for A and learns it from the handshake), unless <paramref name="bothDial"/>.</summary>
    internal static async Task<VpnPair> StartAsync(bool bothDial = false, VpnTimings? timings = null, Action<VpnInterfaceOptions, VpnInterfaceOptions>? configure = null, MemoryTransportNetwork? network = null)
    {
        network ??= new MemoryTransportNetwork();
        var idA = NodeIdentity.Generate();
        var idB = NodeIdentity.Generate();
        var ta = network.Create(IPEndPoint.Parse("192.0.2.1:51820"));
        var tb = network.Create(IPEndPoint.Parse("192.0.2.2:51820"));
        var optionsA = new VpnInterfaceOptions { Identity = idA, InterfaceName = "a0", Addresses = { InterfaceAddress.Parse("10.7.0.1/24") } };
        optionsA.Peers.Add(new VpnPeerOptions { PeerId = idB.PeerId, Name = "b", AllowedPrefixes = { IpPrefix.Parse("10.7.0.2/32"), IpPrefix.Parse("fd07::2/128") }, Endpoint = tb.LocalEndPoint });
        var optionsB = new VpnInterfaceOptions { Identity = idB, InterfaceName = "b0", Addresses = { InterfaceAddress.Parse("10.7.0.2/24") } };
        optionsB.Peers.Add(new VpnPeerOptions { PeerId = idA.PeerId, Name = "a", AllowedPrefixes = { IpPrefix.Parse("10.7.0.1/32"), IpPrefix.Parse("fd07::1/128") }, Endpoint = bothDial ? ta.LocalEndPoint : null });
        configure?.Invoke(optionsA, optionsB);
        var tunA = new MemoryTun("a0");
        var tunB = new MemoryTun("b0");
        var vpnB = await VpnInterface.StartOverAsync(optionsB, tunB, tb, timings);
        var vpnA = await VpnInterface.StartOverAsync(optionsA, tunA, ta, timings);
        return new VpnPair
        {
            IdentityA = idA,
            IdentityB = idB,
            Network = network,
            TunA = tunA,
            TunB = tunB,
            TransportA = ta,
            TransportB = tb,
            VpnA = vpnA,
            VpnB = vpnB,
        };
    }

    /// <summary>Waits (bounded, as a hang guard) until <paramref name="condition"/> holds.</summary>
    internal static Task WaitUntilAsync(Func<bool> condition, string what) => Eventually.TrueAsync(condition, what, Patience);

    public async ValueTask DisposeAsync()
    {
        await VpnA.DisposeAsync();
        await VpnB.DisposeAsync();
        TunA.Dispose();
        TunB.Dispose();
        IdentityA.Dispose();
        IdentityB.Dispose();
    }
}
