namespace Pinhole.Membership;

/// <summary>How a node's NAT maps its UDP traffic (RFC 4787 terms), as the node announces it in its endpoint record.</summary>
public enum EndpointNatType
{
    /// <summary>Not measured.</summary>
    Unknown = 0,
    /// <summary>No NAT: the node has a public address.</summary>
    Open = 1,
    /// <summary>Endpoint-independent mapping ("easy" NAT): hole punching works with any peer.</summary>
    EndpointIndependent = 2,
    /// <summary>Address-dependent mapping.</summary>
    AddressDependent = 3,
    /// <summary>Address-and-port-dependent mapping ("symmetric", "hard" NAT): expect to need a relay.</summary>
    AddressAndPortDependent = 4,
    /// <summary>UDP is blocked.</summary>
    UdpBlocked = 5,
}
