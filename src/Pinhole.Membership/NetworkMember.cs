using System.Net;

namespace Pinhole.Membership;

/// <summary>A member as a node sees it after checking every record itself: its credential, addresses, groups and endpoint.</summary>
public sealed class NetworkMember
{
    internal NetworkMember(PeerId peer, IPAddress? ipv4, IPAddress? ipv6, IReadOnlyList<string> groups, DateTimeOffset notBefore, DateTimeOffset notAfter,
        DateTimeOffset issuedAt, PeerId issuer, bool provisional, RecordId credential, EndpointRecord? endpoint)
    {
        Peer = peer;
        Ipv4 = ipv4;
        Ipv6 = ipv6;
        Groups = groups;
        NotBefore = notBefore;
        NotAfter = notAfter;
        IssuedAt = issuedAt;
        Issuer = issuer;
        Provisional = provisional;
        Credential = credential;
        Endpoint = endpoint;
    }

    /// <summary>The member's PeerId.</summary>
    public PeerId Peer { get; }

    /// <summary>Virtual IPv4 address.</summary>
    public IPAddress? Ipv4 { get; }

    /// <summary>Virtual IPv6 address.</summary>
    public IPAddress? Ipv6 { get; }

    /// <summary>Groups (sorted).</summary>
    public IReadOnlyList<string> Groups { get; }

    /// <summary>Start of the credential's validity.</summary>
    public DateTimeOffset NotBefore { get; }

    /// <summary>End of the credential's validity (nodes drop the member after it, plus the clock-skew tolerance).</summary>
    public DateTimeOffset NotAfter { get; }

    /// <summary>When the credential was issued.</summary>
    public DateTimeOffset IssuedAt { get; }

    /// <summary>The admin or issuer that signed the credential.</summary>
    public PeerId Issuer { get; }

    /// <summary>True when the credential is a redeemed invite rather than a membership record.</summary>
    public bool Provisional { get; }

    /// <summary>The id of the credential record (membership or redemption).</summary>
    public RecordId Credential { get; }

    /// <summary>The member's latest verified endpoint announcement, if any.</summary>
    public EndpointRecord? Endpoint { get; }

    /// <summary>The member's announced addresses (empty without an endpoint record).</summary>
    public IReadOnlyList<Multiaddr> Addresses => Endpoint?.Addresses ?? [];

    /// <summary>True if the member belongs to <paramref name="group"/>.</summary>
    public bool InGroup(string group) => Groups.Contains(group, StringComparer.Ordinal);

    /// <inheritdoc/>
    public override string ToString() => $"{Peer} {Ipv4} {Ipv6} [{string.Join(",", Groups)}] until {NotAfter:u}{(Provisional ? " (invite)" : "")}";

    internal bool SameAs(NetworkMember other) =>
        Credential == other.Credential && Endpoint?.Id == other.Endpoint?.Id;
}
