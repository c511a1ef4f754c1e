using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Pinhole.Nat;

/// <summary>The protocols a gateway may offer for opening a port.</summary>
[Flags]
public enum PortMappingProtocols
{
    /// <summary>None.</summary>
    None = 0,
    /// <summary>PCP (RFC 6887).</summary>
    Pcp = 1,
    /// <summary>NAT-PMP (RFC 6886).</summary>
    NatPmp = 2,
    /// <summary>UPnP IGD (WANIPConnection / WANPPPConnection).</summary>
    Upnp = 4,
    /// <summary>All three; PCP is preferred, then NAT-PMP, then UPnP.</summary>
    All = Pcp | NatPmp | Upnp,
}

/// <summary>A port the gateway forwards to us.</summary>
/// <param name="Protocol">How it was made.</param>
/// <param name="External">The public address and port peers can send to (as the gateway reports it).</param>
/// <param name="InternalPort">Our local port it forwards to.</param>
/// <param name="Lifetime">How long the gateway granted (zero: permanent, UPnP only).</param>
/// <param name="Expires">When it lapses unless renewed (renewal happens at half-life).</param>
public sealed record PortMapping(PortMappingProtocols Protocol, IPEndPoint External, int InternalPort, TimeSpan Lifetime, DateTimeOffset Expires)
{
    /// <summary>True when the external address is private or CGNAT: another NAT sits upstream and the mapping does not reach the internet.</summary>
    public bool BehindAnotherNat => Netcheck.IsPrivateOrShared(External.Address);
}

/// <summary>Why a <see cref="PortMapper"/> raised <see cref="PortMapper.Changed"/>.</summary>
public enum PortMappingChange
{
    /// <summary>A mapping was made.</summary>
    Created,
    /// <summary>A renewal gave another external address or port.</summary>
    Moved,
    /// <summary>Renewed in place (same external address and port); <see cref="PortMapping.Expires"/> moved on.</summary>
    Renewed,
    /// <summary>The gateway lost its state (epoch went back, e.g. a reboot) and the mapping was made again.</summary>
    Recreated,
    /// <summary>Renewal failed; the mapping is gone.</summary>
    Lost,
    /// <summary>Deleted on request (shutdown).</summary>
    Deleted,
}

/// <summary>Event data of <see cref="PortMapper.Changed"/>.</summary>
public sealed class PortMappingChangedEventArgs(PortMappingChange change, PortMapping? mapping, string? reason) : EventArgs
{
    /// <summary>What happened.</summary>
    public PortMappingChange Change { get; } = change;

    /// <summary>The mapping now in force (null when lost or deleted).</summary>
    public PortMapping? Mapping { get; } = mapping;

    /// <summary>Details for logs.</summary>
    public string? Reason { get; } = reason;
}

/// <summary>Settings of a <see cref="PortMapper"/>.</summary>
public sealed class PortMapperOptions
{
    /// <summary>The gateway (default router) to ask. Required.</summary>
    public IPAddress? Gateway { get; set; }

    /// <summary>Our address on the gateway's network (PCP's client address, UPnP's NewInternalClient); found by routing towards the gateway when null.</summary>
    public IPAddress? LocalAddress { get; set; }

    /// <summary>The local port to forward to (the node's UDP socket). Required.</summary>
    public int InternalPort { get; set; }

    /// <summary>UDP (default) or TCP.</summary>
    public ProtocolType Transport { get; set; } = ProtocolType.Udp;

    /// <summary>Which protocols to try. Default all.</summary>
    public PortMappingProtocols Protocols { get; set; } = PortMappingProtocols.All;

    /// <summary>Requested lifetime; renewed at half of what the gateway grants. Default 2 hours (RFC 6886's recommendation).</summary>
    public TimeSpan Lifetime { get; set; } = TimeSpan.FromHours(2);

    /// <summary>UPnP's NewPortMappingDescription. Default "pinhole".</summary>
    public string Description { get; set; } = "pinhole";

    /// <summary>First retransmission timeout of NAT-PMP/PCP/SSDP requests (doubles). Default 250 ms.</summary>
    public TimeSpan InitialRetransmitTimeout { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Sends per NAT-PMP/PCP/SSDP request. Default 4 (about 3.75 s in all).</summary>
    public int MaxSends { get; set; } = 4;

    /// <summary>How long one UPnP HTTP exchange (description, SOAP action) may take. Default 5 s.</summary>
    public TimeSpan HttpTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Also send SSDP to the multicast group 239.255.255.250 (besides the gateway itself). Default true; lab tests turn it off.</summary>
    public bool SsdpMulticast { get; set; } = true;

    /// <summary>Makes sockets (lab tests create them inside a network namespace). Default: <c>new Socket(...)</c>.</summary>
    public Func<AddressFamily, SocketType, ProtocolType, Socket>? SocketFactory { get; set; }

    /// <summary>Clock for retransmissions and renewals. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Logging; default none.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>The gateway's NAT-PMP/PCP port: 5351; tests point it at a scripted gateway on loopback.</summary>
    internal int PmpPort { get; set; } = Mapping.NatPmpCodec.Port;

    internal Socket CreateSocket(SocketType type, ProtocolType protocol) =>
        SocketFactory is { } f ? f(AddressFamily.InterNetwork, type, protocol) : new Socket(AddressFamily.InterNetwork, type, protocol);

    internal void Validate()
    {
        if (Gateway is null || Gateway.AddressFamily != AddressFamily.InterNetwork)
        {
            throw new ArgumentException("PortMapperOptions.Gateway must be an IPv4 address.", nameof(Gateway));
        }
        ArgumentOutOfRangeException.ThrowIfLessThan(InternalPort, 1, nameof(InternalPort));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(InternalPort, 65535, nameof(InternalPort));
        if (Transport is not (ProtocolType.Udp or ProtocolType.Tcp))
        {
            throw new ArgumentException("Transport must be UDP or TCP.", nameof(Transport));
        }
        if (Lifetime < TimeSpan.FromSeconds(30) || Lifetime > TimeSpan.FromDays(7))
        {
            throw new ArgumentOutOfRangeException(nameof(Lifetime), Lifetime, "Must be between 30 seconds and 7 days.");
        }
        if (InitialRetransmitTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(InitialRetransmitTimeout), InitialRetransmitTimeout, "Must be positive.");
        }
        if (HttpTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(HttpTimeout), HttpTimeout, "Must be positive.");
        }
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxSends, 1, nameof(MaxSends));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MaxSends, 10, nameof(MaxSends));
        if ((Protocols & PortMappingProtocols.All) == 0)
        {
            throw new ArgumentException("Protocols names none of PCP, NAT-PMP, UPnP.", nameof(Protocols));
        }
        ArgumentNullException.ThrowIfNull(Description, nameof(Description));
        ArgumentNullException.ThrowIfNull(TimeProvider, nameof(TimeProvider));
    }
}
