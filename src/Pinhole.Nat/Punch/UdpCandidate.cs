using System.Net;
using System.Security.Cryptography;

namespace Pinhole.Nat;

/// <summary>Where a UDP candidate address came from (RFC 8445 §5.1.1 types, plus port-mapped).</summary>
public enum UdpCandidateKind
{
    /// <summary>The socket's own address (works on the same LAN, or with no NAT).</summary>
    Host,
    /// <summary>The address a STUN server saw (the NAT's mapping).</summary>
    ServerReflexive,
    /// <summary>An external address the gateway mapped for us (PCP, NAT-PMP, UPnP).</summary>
    PortMapped,
    /// <summary>Learned during the checks: the address a peer's check actually came from.</summary>
    PeerReflexive,
    /// <summary>A TURN relayed address.</summary>
    Relayed,
}

/// <summary>One address a peer may be reachable at, as exchanged over the signalling channel.</summary>
public sealed record UdpCandidate(UdpCandidateKind Kind, IPEndPoint EndPoint)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Kind} {EndPoint}";
}

/// <summary>
/// The short-term credential of one side of a hole punch (as ICE's ufrag and password, RFC 8445 §5.3): each side
/// signs its checks with the other side's password, so a check or answer from anyone else is ignored.
/// Exchanged, with the candidates, over an authenticated channel (the relayed connection or the coordinator).
/// </summary>
public sealed record UdpPunchCredentials(string Ufrag, string Password)
{
    /// <summary>A fresh random credential: an 8-character ufrag and a 128-bit password.</summary>
    public static UdpPunchCredentials Generate() =>
        new(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4)), Convert.ToBase64String(RandomNumberGenerator.GetBytes(18)));

    internal void Validate(string name)
    {
        if (Ufrag is not { Length: >= 4 and <= 64 } || Ufrag.Contains(':', StringComparison.Ordinal))
        {
            throw new ArgumentException($"{name}.Ufrag must be 4-64 characters without ':'.", name);
        }
        if (Password is not { Length: >= 16 and <= 256 })
        {
            throw new ArgumentException($"{name}.Password must be 16-256 characters.", name);
        }
    }
}
