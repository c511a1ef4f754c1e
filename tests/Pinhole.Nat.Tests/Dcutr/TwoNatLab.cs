using Pinhole.Testing;

namespace Pinhole.Nat.Tests.Dcutr;

/// <summary>How a lab router translates.</summary>
public enum NatKind
{
    /// <summary>Linux masquerade: endpoint-independent mapping that keeps the port; address-and-port-dependent filtering.</summary>
    Easy,
    /// <summary>masquerade fully-random: a new random port per connection (endpoint-dependent, "symmetric").</summary>
    Hard,
}

/// <summary>
/// A minimal two-NAT lab for TCP hole punching, built per test from guarded namespaces (until tests/Pinhole.Testing/Netlab
/// lands on main): host A (10.1.0.2) behind router A (WAN 198.51.100.2), host B (10.2.0.2) behind router B
/// (WAN 203.0.113.2), and a "public" namespace joining both WAN links (198.51.100.1, 203.0.113.1) where the relay runs.
/// Routers drop every unsolicited inbound packet (no RST), as home routers do — otherwise an early punch SYN would be
/// refused instead of dropped.
/// </summary>
public sealed class TwoNatLab : IAsyncDisposable
{
    public const string PublicIp = "198.51.100.1";
    public const string RouterAWan = "198.51.100.2";
    public const string RouterBWan = "203.0.113.2";
    public const string HostAIp = "10.1.0.2";
    public const string HostBIp = "10.2.0.2";

    private readonly List<NetworkNamespace> _all = [];

    private TwoNatLab()
    {
    }

    public NetworkNamespace Public { get; private set; } = null!;

    public NetworkNamespace RouterA { get; private set; } = null!;

    public NetworkNamespace HostA { get; private set; } = null!;

    public NetworkNamespace RouterB { get; private set; } = null!;

    public NetworkNamespace HostB { get; private set; } = null!;

    public static async Task<TwoNatLab> CreateAsync(NatKind a, NatKind b)
    {
        var lab = new TwoNatLab();
        try
        {
            lab.Public = await lab.AddAsync("pub");
            lab.RouterA = await lab.AddAsync("rta");
            lab.HostA = await lab.AddAsync("hosta");
            lab.RouterB = await lab.AddAsync("rtb");
            lab.HostB = await lab.AddAsync("hostb");
            await lab.Public.SysctlAsync("net.ipv4.ip_forward", "1");
            await SetUpSiteAsync(lab.Public, "a0", PublicIp, lab.RouterA, RouterAWan, lab.HostA, "10.1.0", a);
            await SetUpSiteAsync(lab.Public, "b0", "203.0.113.1", lab.RouterB, RouterBWan, lab.HostB, "10.2.0", b);
            return lab;
        }
        catch
        {
            await lab.DisposeAsync();
            throw;
        }
    }

    private async Task<NetworkNamespace> AddAsync(string role)
    {
        var ns = await NetworkNamespace.CreateAsync(role);
        _all.Add(ns);
        return ns;
    }

    private static async Task SetUpSiteAsync(NetworkNamespace pub, string pubSide, string pubIp, NetworkNamespace router, string wanIp, NetworkNamespace host, string lan, NatKind kind)
    {
        await NetworkNamespace.ConnectAsync(pub, pubSide, router, "wan");
        await NetworkNamespace.ConnectAsync(router, "lan", host, "eth0");
        await pub.AddAddressAsync(pubSide, pubIp + "/24");
        await router.AddAddressAsync("wan", wanIp + "/24");
        await router.AddAddressAsync("lan", lan + ".1/24");
        await host.AddAddressAsync("eth0", lan + ".2/24");
        await router.AddRouteAsync("default", pubIp);
        await host.AddRouteAsync("default", lan + ".1");
        await router.SysctlAsync("net.ipv4.ip_forward", "1");
        var masquerade = kind == NatKind.Easy ? "masquerade" : "masquerade fully-random";
        await router.NftAsync($$"""
            table ip lab_nat {
              chain post {
                type nat hook postrouting priority 100;
                oifname "wan" {{masquerade}}
              }
            }
            table inet lab_filter {
              chain forward {
                type filter hook forward priority 0; policy drop;
                ct state established,related accept
                iifname "lan" oifname "wan" accept
              }
              chain input {
                type filter hook input priority 0; policy accept;
                iifname "wan" ct state established,related accept
                iifname "wan" drop
              }
            }
            """);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var ns in Enumerable.Reverse(_all))
        {
            await ns.DisposeAsync();
        }
    }
}
