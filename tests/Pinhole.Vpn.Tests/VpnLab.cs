using System.Net;
using Pinhole.Testing;
using Pinhole.Vpn.Routing;

namespace Pinhole.Vpn.Tests;

/// <summary>
/// Two namespaces joined by a veth (10.0.0.1/24 and fd00:1::1/64 ↔ .2), each running a VPN interface ph0
/// (10.7.0.1/24 fd07::1/64 ↔ .2) in this process: its TUN, netlink and UDP sockets are made on a thread
/// inside the namespace, so they live there.
/// </summary>
internal sealed class VpnLab : IAsyncDisposable
{
    internal const int Port = 51820;
    internal static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    internal required NetworkNamespace A { get; init; }
    internal required NetworkNamespace B { get; init; }
    internal required NodeIdentity IdentityA { get; init; }
    internal required NodeIdentity IdentityB { get; init; }
    internal VpnInterface? VpnA { get; set; }
    internal VpnInterface? VpnB { get; set; }
    internal required VpnInterfaceOptions OptionsA { get; init; }
    internal required VpnInterfaceOptions OptionsB { get; init; }
    internal TestLog Log { get; } = new();

    internal static async Task<VpnLab> CreateAsync(bool outerV6 = false, Action<VpnInterfaceOptions, VpnInterfaceOptions>? configure = null, bool start = true)
    {
        var a = await NetworkNamespace.CreateAsync("vpna", ipv6: true);
        var b = await NetworkNamespace.CreateAsync("vpnb", ipv6: true);
        try
        {
            await NetworkNamespace.ConnectAsync(a, "eth0", b, "eth0");
            await a.AddAddressAsync("eth0", "10.0.0.1/24");
            await b.AddAddressAsync("eth0", "10.0.0.2/24");
            await a.AddAddressAsync("eth0", "fd00:1::1/64");
            await b.AddAddressAsync("eth0", "fd00:1::2/64");
            var idA = NodeIdentity.Generate();
            var idB = NodeIdentity.Generate();
            var optionsA = new VpnInterfaceOptions { Identity = idA, InterfaceName = "ph0", ListenPort = Port, Addresses = { InterfaceAddress.Parse("10.7.0.1/24"), InterfaceAddress.Parse("fd07::1/64") } };
            optionsA.Peers.Add(new VpnPeerOptions
            {
                PeerId = idB.PeerId,
                Name = "b",
                AllowedPrefixes = { IpPrefix.Parse("10.7.0.2/32"), IpPrefix.Parse("fd07::2/128") },
                Endpoint = new IPEndPoint(IPAddress.Parse(outerV6 ? "fd00:1::2" : "10.0.0.2"), Port),
            });
            var optionsB = new VpnInterfaceOptions { Identity = idB, InterfaceName = "ph0", ListenPort = Port, Addresses = { InterfaceAddress.Parse("10.7.0.2/24"), InterfaceAddress.Parse("fd07::2/64") } };
            optionsB.Peers.Add(new VpnPeerOptions { PeerId = idA.PeerId, Name = "a", AllowedPrefixes = { IpPrefix.Parse("10.7.0.1/32"), IpPrefix.Parse("fd07::1/128") } });
            configure?.Invoke(optionsA, optionsB);
            var lab = new VpnLab { A = a, B = b, IdentityA = idA, IdentityB = idB, OptionsA = optionsA, OptionsB = optionsB };
            optionsA.LoggerFactory ??= lab.Log;
            optionsB.LoggerFactory ??= lab.Log;
            if (start)
            {
                lab.StartB();
                lab.StartA();
            }
            return lab;
        }
        catch
        {
            await a.DisposeAsync();
            await b.DisposeAsync();
            throw;
        }
    }

    internal void StartA() => VpnA = Start(A, OptionsA);

    internal void StartB() => VpnB = Start(B, OptionsB);

    /// <summary>Starts a VPN interface whose devices and sockets belong to <paramref name="ns"/>.</summary>
    internal static VpnInterface Start(NetworkNamespace ns, VpnInterfaceOptions options) =>
        ns.RunInside(() => VpnInterface.StartAsync(options).GetAwaiter().GetResult());

    /// <summary>Pings <paramref name="target"/> from <paramref name="ns"/>; returns the result (exit code 0 = answered).</summary>
    internal static Task<ProcessResult> PingAsync(NetworkNamespace ns, string target, int count = 3, int size = 56, bool dontFragment = false, double wait = 5) =>
        ns.TryExecAsync(TimeSpan.FromSeconds(30), ["ping", "-c", count.ToString(), "-i", "0.2", "-W", wait.ToString(System.Globalization.CultureInfo.InvariantCulture), "-s", size.ToString(), .. dontFragment ? new[] { "-M", "do" } : [], target]);

    public async ValueTask DisposeAsync()
    {
        if (VpnA is not null)
        {
            await VpnA.DisposeAsync();
        }
        if (VpnB is not null)
        {
            await VpnB.DisposeAsync();
        }
        await A.DisposeAsync();
        await B.DisposeAsync();
        IdentityA.Dispose();
        IdentityB.Dispose();
    }
}
