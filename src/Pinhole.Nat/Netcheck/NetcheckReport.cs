using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Pinhole.Nat;

/// <summary>How a NAT maps an internal address to external ones (RFC 4787 §4.1, discovered per RFC 5780 §4.3).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<NatMappingBehavior>))]
public enum NatMappingBehavior
{
    /// <summary>Not determined (no RFC 5780 server answered, or UDP is blocked).</summary>
    Unknown,
    /// <summary>No NAT: the reflexive address is the local one.</summary>
    NoNat,
    /// <summary>One external address for every destination ("easy"): hole punching works.</summary>
    EndpointIndependent,
    /// <summary>A new external address per destination IP.</summary>
    AddressDependent,
    /// <summary>A new external address per destination IP and port ("hard", "symmetric").</summary>
    AddressAndPortDependent,
}

/// <summary>Which inbound packets a NAT lets through to a mapping (RFC 4787 §5, discovered per RFC 5780 §4.4).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<NatFilteringBehavior>))]
public enum NatFilteringBehavior
{
    /// <summary>Not determined.</summary>
    Unknown,
    /// <summary>Anyone may send to the mapping (full cone, or no NAT and no firewall).</summary>
    EndpointIndependent,
    /// <summary>Only IPs the host has sent to.</summary>
    AddressDependent,
    /// <summary>Only IP:port pairs the host has sent to (port-restricted).</summary>
    AddressAndPortDependent,
}

/// <summary>One STUN server's answer during a netcheck.</summary>
public sealed class NetcheckServerResult
{
    /// <summary>The server (ip:port).</summary>
    public string Server { get; set; } = "";

    /// <summary>Best round trip over the probes, in milliseconds; null when it never answered.</summary>
    public double? LatencyMilliseconds { get; set; }

    /// <summary>The reflexive address this server saw (ip:port).</summary>
    public string? MappedAddress { get; set; }

    /// <summary>True when the server gave an OTHER-ADDRESS (RFC 5780 capable).</summary>
    public bool BehaviorDiscovery { get; set; }

    /// <summary>Why it failed, when it did.</summary>
    public string? Error { get; set; }
}

/// <summary>Which port-mapping protocols the gateway answered, and what it said.</summary>
public sealed class NetcheckPortMapping
{
    /// <summary>The gateway probed.</summary>
    public string? Gateway { get; set; }

    /// <summary>UPnP IGD answered (SSDP and a usable WANIPConnection/WANPPPConnection service).</summary>
    public bool Upnp { get; set; }

    /// <summary>NAT-PMP answered the external-address request.</summary>
    public bool NatPmp { get; set; }

    /// <summary>PCP answered (ANNOUNCE).</summary>
    public bool Pcp { get; set; }

    /// <summary>The external address the gateway reported, if any.</summary>
    public string? ExternalAddress { get; set; }

    /// <summary>
    /// The gateway answered but has no public address to give (NAT-PMP result 3, an empty UPnP external address,
    /// as miniupnpd does when its WAN address is private or CGNAT): it sits behind another NAT, or is offline.
    /// </summary>
    public bool NoPublicAddress { get; set; }
}

/// <summary>
/// What <see cref="Netcheck"/> found out about this host's network. A plain serializable type: the node's local
/// API and <c>pinhole netcheck --json</c> emit it as JSON (<see cref="ToJson"/>), <see cref="ToText"/> prints it.
/// </summary>
public sealed class NetcheckReport
{
    /// <summary>When the check finished.</summary>
    public DateTimeOffset Time { get; set; }

    /// <summary>True when any STUN server answered over UDP.</summary>
    public bool Udp { get; set; }

    /// <summary>The local address the probes were sent from.</summary>
    public string? LocalAddress { get; set; }

    /// <summary>The public IPv4 address and port (from the first server that answered).</summary>
    public string? PublicIPv4 { get; set; }

    /// <summary>The public IPv6 address and port, when an IPv6 server answered.</summary>
    public string? PublicIPv6 { get; set; }

    /// <summary>RFC 5780 mapping behaviour.</summary>
    public NatMappingBehavior Mapping { get; set; }

    /// <summary>RFC 5780 filtering behaviour.</summary>
    public NatFilteringBehavior Filtering { get; set; }

    /// <summary>True when different destinations saw different external ports (a hard NAT); null when not measured.</summary>
    public bool? MappingVariesByDestination { get; set; }

    /// <summary>True when a packet to our own public address came back in (the NAT hairpins); null when not measured.</summary>
    public bool? Hairpinning { get; set; }

    /// <summary>True when the gateway's external address is private or CGNAT (100.64/10) while STUN sees a public one.</summary>
    public bool? DoubleNat { get; set; }

    /// <summary>Port-mapping protocols, when probed.</summary>
    public NetcheckPortMapping? PortMapping { get; set; }

    /// <summary>Every server probed.</summary>
    public List<NetcheckServerResult> Servers { get; set; } = [];

    /// <summary>Things the check could not determine, and why.</summary>
    public List<string> Notes { get; set; } = [];

    /// <summary>True when hole punching with this host should work directly against most peers.</summary>
    [JsonIgnore]
    public bool EasyNat => Mapping is NatMappingBehavior.NoNat or NatMappingBehavior.EndpointIndependent;

    /// <summary>The report as indented JSON (enums as strings).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, NetcheckJsonContext.Default.NetcheckReport);

    /// <summary>Reads a report written by <see cref="ToJson"/>.</summary>
    public static NetcheckReport FromJson(string json) =>
        JsonSerializer.Deserialize(json, NetcheckJsonContext.Default.NetcheckReport) ?? throw new JsonException("The JSON is null.");

    /// <summary>The report for people, one fact per line.</summary>
    public string ToText()
    {
        var text = new StringBuilder();
        string YesNo(bool? value) => value switch { true => "yes", false => "no", null => "unknown" };
        text.AppendLine(CultureInfo.InvariantCulture, $"UDP:                   {YesNo(Udp)}");
        if (LocalAddress is not null)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"Local address:         {LocalAddress}");
        }
        text.AppendLine(CultureInfo.InvariantCulture, $"Public IPv4:           {PublicIPv4 ?? "none"}");
        text.AppendLine(CultureInfo.InvariantCulture, $"Public IPv6:           {PublicIPv6 ?? "none"}");
        text.AppendLine(CultureInfo.InvariantCulture, $"Mapping:               {Describe(Mapping)}");
        text.AppendLine(CultureInfo.InvariantCulture, $"Filtering:             {Describe(Filtering)}");
        text.AppendLine(CultureInfo.InvariantCulture, $"Varies by destination: {YesNo(MappingVariesByDestination)}");
        text.AppendLine(CultureInfo.InvariantCulture, $"Hairpinning:           {YesNo(Hairpinning)}");
        if (PortMapping is { } pm)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"Port mapping:          UPnP {YesNo(pm.Upnp)}, NAT-PMP {YesNo(pm.NatPmp)}, PCP {YesNo(pm.Pcp)}{(pm.ExternalAddress is null ? (pm.NoPublicAddress ? " (gateway has no public address)" : "") : $" (gateway says external {pm.ExternalAddress})")}");
        }
        text.AppendLine(CultureInfo.InvariantCulture, $"Double NAT:            {YesNo(DoubleNat)}");
        text.AppendLine("STUN servers:");
        foreach (NetcheckServerResult s in Servers)
        {
            string detail = s.LatencyMilliseconds is double ms
                ? string.Create(CultureInfo.InvariantCulture, $"{ms:0.0} ms, sees {s.MappedAddress}{(s.BehaviorDiscovery ? ", RFC 5780" : "")}")
                : $"no answer ({s.Error})";
            text.AppendLine(CultureInfo.InvariantCulture, $"  {s.Server,-24} {detail}");
        }
        foreach (string note in Notes)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"Note: {note}");
        }
        return text.ToString();
    }

    private static string Describe(NatMappingBehavior m) => m switch
    {
        NatMappingBehavior.NoNat => "no NAT",
        NatMappingBehavior.EndpointIndependent => "endpoint-independent (easy)",
        NatMappingBehavior.AddressDependent => "address-dependent",
        NatMappingBehavior.AddressAndPortDependent => "address-and-port-dependent (hard)",
        _ => "unknown",
    };

    private static string Describe(NatFilteringBehavior f) => f switch
    {
        NatFilteringBehavior.EndpointIndependent => "endpoint-independent",
        NatFilteringBehavior.AddressDependent => "address-dependent",
        NatFilteringBehavior.AddressAndPortDependent => "address-and-port-dependent",
        _ => "unknown",
    };
}

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(NetcheckReport))]
internal sealed partial class NetcheckJsonContext : JsonSerializerContext;
