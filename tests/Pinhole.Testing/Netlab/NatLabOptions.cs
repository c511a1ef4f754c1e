namespace Pinhole.Testing.Netlab;

/// <summary>One site of a <see cref="NatLab"/>: a host behind a router of some <see cref="NatType"/>.</summary>
public sealed record LabSiteOptions(string Name, NatType Nat)
{
    /// <summary>Run miniupnpd (UPnP IGD, NAT-PMP, PCP) on the site's router (its innermost router for double NAT).</summary>
    public bool PortMapping { get; init; }

    /// <summary>Conntrack UDP timeout on the router(s) (unreplied and replied flows alike); null keeps the kernel's 30 s / 120 s.</summary>
    public TimeSpan? UdpTimeout { get; init; }

    /// <summary>Hosts behind the router (10.N.0.2, 10.N.0.3, …). Default 1.</summary>
    public int Hosts { get; init; } = 1;
}

/// <summary>What a <see cref="NatLab"/> holds.</summary>
public sealed class NatLabOptions
{
    /// <summary>The sites, each a host (or hosts) behind its own router. Names: letters and digits.</summary>
    public List<LabSiteOptions> Sites { get; } = [];

    /// <summary>Start coturn on the server host: STUN on two IPs (RFC 5780) and TURN with <see cref="NatLab.TurnUser"/>.</summary>
    public bool Coturn { get; set; }

    /// <summary>
    /// The internet segment's /24 (the first three octets). Default RFC 5737's 203.0.113; a test that needs
    /// addresses libp2p does not count as reserved may pick another prefix and add it to the guard itself.
    /// </summary>
    public string InternetPrefix { get; set; } = "203.0.113";

    /// <summary>Adds a site.</summary>
    public NatLabOptions Add(string name, NatType nat, bool portMapping = false, TimeSpan? udpTimeout = null, int hosts = 1)
    {
        Sites.Add(new LabSiteOptions(name, nat) { PortMapping = portMapping, UdpTimeout = udpTimeout, Hosts = hosts });
        return this;
    }
}
