using System.Net;

namespace Pinhole.Testing.Netlab;

/// <summary>
/// One site of a <see cref="NatLab"/>: host(s) on 10.N.0.0/24 behind a router whose WAN address is on the
/// internet segment (for <see cref="NatType.DoubleNat"/>: a home router on 100.64.N.2 behind a carrier-grade NAT).
/// </summary>
public sealed class LabSite
{
    internal LabSite(LabSiteOptions options, int index, IPAddress publicAddress, NetworkNamespace? router, NetworkNamespace? homeRouter, IReadOnlyList<LabHost> hosts)
    {
        Options = options;
        Index = index;
        PublicAddress = publicAddress;
        Router = router;
        HomeRouter = homeRouter ?? router;
        Hosts = hosts;
    }

    /// <summary>What was asked for.</summary>
    public LabSiteOptions Options { get; }

    /// <summary>The site's name.</summary>
    public string Name => Options.Name;

    /// <summary>The site's NAT type.</summary>
    public NatType Nat => Options.Nat;

    /// <summary>N in 10.N.0.0/24.</summary>
    public int Index { get; }

    /// <summary>The site's address on the internet segment (the router's WAN, or the host's for <see cref="NatType.Public"/>).</summary>
    public IPAddress PublicAddress { get; }

    /// <summary>The router on the internet segment (the CGNAT box for double NAT); null for a public host.</summary>
    public NetworkNamespace? Router { get; }

    /// <summary>The router the hosts sit behind (the home router for double NAT; else <see cref="Router"/>).</summary>
    public NetworkNamespace? HomeRouter { get; }

    /// <summary>The hosts.</summary>
    public IReadOnlyList<LabHost> Hosts { get; }

    /// <summary>The first host.</summary>
    public LabHost Host => Hosts[0];

    /// <summary>miniupnpd on <see cref="HomeRouter"/>, when <see cref="LabSiteOptions.PortMapping"/>.</summary>
    public ExternalProcess? PortMapper { get; internal set; }

    /// <summary>The gateway address the hosts use (miniupnpd listens there).</summary>
    public IPAddress Gateway => Host.Gateway;

    internal Func<Task<ExternalProcess>>? StartPortMapper { get; set; }

    /// <summary>Forgets every NAT mapping on the site's router(s) (<c>conntrack -F</c>): what a router reboot does to flows.</summary>
    public async Task FlushConntrackAsync()
    {
        foreach (NetworkNamespace ns in Routers())
        {
            await ns.ExecAsync("conntrack", "-F").ConfigureAwait(false);
        }
    }

    /// <summary>The UDP flows conntrack holds on the router(s), one per line, for assertions and failure messages.</summary>
    public async Task<string> ConntrackAsync()
    {
        var text = new System.Text.StringBuilder();
        foreach (NetworkNamespace ns in Routers())
        {
            ProcessResult r = await ns.TryExecAsync("conntrack", "-L", "-p", "udp").ConfigureAwait(false);
            text.Append(r.StandardOutput);
        }
        return text.ToString();
    }

    /// <summary>
    /// What a router reboot does to port mapping: kills miniupnpd, drops its rules and every flow
    /// (<c>conntrack -F</c>), and starts it again; its NAT-PMP/PCP epoch restarts from zero and no mapping is left.
    /// </summary>
    public async Task RestartPortMapperAsync()
    {
        if (StartPortMapper is null || HomeRouter is null)
        {
            throw new InvalidOperationException($"Site {Name} runs no port mapper.");
        }
        if (PortMapper is { } old)
        {
            await old.DisposeAsync().ConfigureAwait(false);
        }
        foreach (string chain in new[] { "upnp_prerouting", "upnp_postrouting", "upnp_forward" })
        {
            await HomeRouter.ExecAsync("nft", "flush", "chain", "inet", "lab", chain).ConfigureAwait(false);
        }
        await FlushConntrackAsync().ConfigureAwait(false);
        PortMapper = await StartPortMapper().ConfigureAwait(false);
    }

    /// <summary>The rules miniupnpd holds on <see cref="HomeRouter"/> (its NAT and filter chains), for assertions.</summary>
    public async Task<string> PortMappingRulesAsync()
    {
        if (HomeRouter is null)
        {
            throw new InvalidOperationException($"Site {Name} has no router.");
        }
        var text = new System.Text.StringBuilder();
        foreach (string chain in new[] { "upnp_prerouting", "upnp_forward" })
        {
            ProcessResult r = await HomeRouter.ExecAsync("nft", "list", "chain", "inet", "lab", chain).ConfigureAwait(false);
            text.Append(r.StandardOutput);
        }
        return text.ToString();
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Name} ({Nat}, {PublicAddress})";

    private IEnumerable<NetworkNamespace> Routers()
    {
        if (Router is not null)
        {
            yield return Router;
        }
        if (HomeRouter is not null && HomeRouter != Router)
        {
            yield return HomeRouter;
        }
    }
}
