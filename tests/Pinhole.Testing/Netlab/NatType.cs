namespace Pinhole.Testing.Netlab;

/// <summary>How a lab site's router translates (RFC 4787 terms: mapping / filtering).</summary>
public enum NatType
{
    /// <summary>No NAT: the host has a public address on the internet segment.</summary>
    Public,
    /// <summary>1:1 NAT: the host's port keeps its number on the router's WAN address; every inbound packet is let in (EIM, EIF).</summary>
    OneToOne,
    /// <summary>Linux <c>masquerade</c>: endpoint-independent mapping, address-and-port-dependent filtering (port-restricted cone).</summary>
    Easy,
    /// <summary><c>masquerade random</c>: a new port per destination (address-and-port-dependent mapping, APDF): "symmetric".</summary>
    Hard,
    /// <summary><c>masquerade fully-random</c>: like <see cref="Hard"/>, ports drawn at random.</summary>
    HardFullyRandom,
    /// <summary>Two NATs: the site's home router (masquerade) behind a carrier-grade NAT in 100.64.0.0/10 (masquerade).</summary>
    DoubleNat,
    /// <summary>Masquerade, but the router drops every UDP packet both ways (TCP works).</summary>
    UdpBlocked,
}
