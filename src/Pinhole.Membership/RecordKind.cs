namespace Pinhole.Membership;

/// <summary>The kinds of signed record a network is made of. The number is on the wire (<see cref="NetworkRecord"/>).</summary>
public enum RecordKind
{
    /// <summary>The first admin set and the address prefixes; its id names the network.</summary>
    Genesis = 1,
    /// <summary>A change of the admin set, signed by a threshold of the previous admins, hash-linked to it.</summary>
    AdminChange = 2,
    /// <summary>An admin or issuer grants a PeerId membership with virtual addresses and groups for a time.</summary>
    Membership = 3,
    /// <summary>An admin or issuer voids a PeerId's (or an invite key's) credentials issued before a threshold time.</summary>
    Revocation = 4,
    /// <summary>An admin-signed invite together with the redemption, signed by the invite key, that binds a node key.</summary>
    Redemption = 5,
    /// <summary>A node's addresses (a standard libp2p peer record) and its Pinhole endpoint facts, both signed by the node.</summary>
    Endpoint = 6,
}
