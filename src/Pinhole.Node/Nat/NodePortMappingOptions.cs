using System.Net;
using System.Net.Sockets;
using Pinhole.Nat;

namespace Pinhole.Node;

/// <summary>
/// Port mapping for a node (<see cref="NodePortMappingExtensions.UsePortMapping"/>): which gateway to ask, with which
/// protocols, for how long, and how soon to try again after a failure. The node's TCP listen port (and, with
/// <see cref="MapUdp"/>, its UDP port) is forwarded; the public address the gateway grants is advertised.
/// </summary>
public sealed class NodePortMappingOptions
{
    /// <summary>The gateway to ask. Null (default): the IPv4 default gateway, looked up at every attempt.</summary>
    public IPAddress? Gateway { get; set; }

    /// <summary>Our address on the gateway's network (PCP client address, UPnP NewInternalClient). Null: routed towards the gateway.</summary>
    public IPAddress? LocalAddress { get; set; }

    /// <summary>Protocols to try; PCP is preferred, then NAT-PMP, then UPnP IGD. Default all.</summary>
    public PortMappingProtocols Protocols { get; set; } = PortMappingProtocols.All;

    /// <summary>Requested lease; renewed at half of what the gateway grants. Default 2 hours.</summary>
    public TimeSpan Lifetime { get; set; } = TimeSpan.FromHours(2);

    /// <summary>Also map the node's UDP (DTLS) port. Default true (when the node listens on UDP).</summary>
    public bool MapUdp { get; set; } = true;

    /// <summary>
    /// After no gateway answered, it refused, or a mapping was lost and could not be made again: try again after this,
    /// doubled for each further failure in a row up to <see cref="MaxRetryDelay"/>. A lost mapping is asked for again at
    /// once only if it had been held at least this long or is the first loss in a row. Default 5 minutes.
    /// </summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The cap on the doubled <see cref="RetryDelay"/> (never below it). Default 1 hour.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromHours(1);

    /// <summary>The UPnP mapping's description. Default "pinhole".</summary>
    public string Description { get; set; } = "pinhole";

    /// <summary>Adjusts each <see cref="PortMapperOptions"/> before use (retransmission, HTTP timeout, SSDP multicast).</summary>
    public Action<PortMapperOptions>? ConfigureMapper { get; set; }

    /// <summary>Makes the mappers' sockets (lab tests make them inside a network namespace). Default: plain sockets.</summary>
    public Func<AddressFamily, SocketType, ProtocolType, Socket>? SocketFactory { get; set; }

    /// <summary>Clock for renewals and retries. Null (default): the node's.</summary>
    public TimeProvider? TimeProvider { get; set; }

    internal void Validate()
    {
        if (Gateway is not null && Gateway.AddressFamily != AddressFamily.InterNetwork)
        {
            throw new ArgumentException("Gateway must be an IPv4 address (NAT-PMP, PCP and UPnP IGD are asked over IPv4).", nameof(Gateway));
        }
        if (LocalAddress is not null && LocalAddress.AddressFamily != AddressFamily.InterNetwork)
        {
            throw new ArgumentException("LocalAddress must be an IPv4 address.", nameof(LocalAddress));
        }
        if ((Protocols & PortMappingProtocols.All) == 0)
        {
            throw new ArgumentException("Protocols names none of PCP, NAT-PMP, UPnP.", nameof(Protocols));
        }
        if (Lifetime < TimeSpan.FromSeconds(30) || Lifetime > TimeSpan.FromDays(7))
        {
            throw new ArgumentOutOfRangeException(nameof(Lifetime), Lifetime, "Must be between 30 seconds and 7 days.");
        }
        if (RetryDelay <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(RetryDelay), RetryDelay, "Must be positive.");
        }
        if (MaxRetryDelay <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxRetryDelay), MaxRetryDelay, "Must be positive.");
        }
        ArgumentNullException.ThrowIfNull(Description, nameof(Description));
    }
}

/// <summary>Plugs port mapping (PCP, NAT-PMP, UPnP IGD) into a node.</summary>
public static class NodePortMappingExtensions
{
    /// <summary>
    /// Adds <see cref="NodePortMappingService"/>: once the node listens, it asks the gateway to forward the node's
    /// TCP port (and UDP port), renews before the lease ends, makes it again when the gateway lost it, advertises the
    /// public address (identify, <see cref="PinholeNode.GetDialableAddresses"/>), shows it in status, and deletes it
    /// when the node stops. Failures are logged, counted and shown in status; they never stop the node.
    /// </summary>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public static PinholeNodeBuilder UsePortMapping(this PinholeNodeBuilder builder, NodePortMappingOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        options ??= new NodePortMappingOptions();
        options.Validate();
        return builder.AddService(new NodePortMappingService(options));
    }
}
