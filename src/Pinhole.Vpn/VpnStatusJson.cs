using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;
using Pinhole.Vpn.Routing;

namespace Pinhole.Vpn;

/// <summary>
/// <see cref="VpnStatus"/> as JSON (camelCase; PeerIds, endpoints and prefixes as their text forms, times as
/// ISO 8601, durations as "hh:mm:ss.fffffff"): what <c>pinhole vpn status --json</c> prints and the control
/// socket answers.
/// </summary>
public static class VpnStatusJson
{
    /// <summary>Serializes a status.</summary>
    public static string Serialize(VpnStatus status) => JsonSerializer.Serialize(status, VpnJsonContext.Default.VpnStatus);

    /// <summary>Reads a status back; throws <see cref="JsonException"/> on malformed input.</summary>
    public static VpnStatus Deserialize(string json) =>
        JsonSerializer.Deserialize(json, VpnJsonContext.Default.VpnStatus) ?? throw new JsonException("null status");
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    Converters = [typeof(PeerIdConverter), typeof(EndPointConverter), typeof(PrefixConverter), typeof(AddressConverter), typeof(JsonStringEnumConverter<VpnOffloads>)])]
[JsonSerializable(typeof(VpnStatus))]
internal sealed partial class VpnJsonContext : JsonSerializerContext;

internal sealed class PeerIdConverter : JsonConverter<PeerId>
{
    public override PeerId Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        PeerId.TryParse(reader.GetString(), out PeerId? id) ? id : throw new JsonException("not a PeerId");

    public override void Write(Utf8JsonWriter writer, PeerId value, JsonSerializerOptions options) => writer.WriteStringValue(value.ToString());
}

internal sealed class EndPointConverter : JsonConverter<IPEndPoint>
{
    public override IPEndPoint Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        IPEndPoint.TryParse(reader.GetString() ?? "", out IPEndPoint? e) ? e : throw new JsonException("not an endpoint");

    public override void Write(Utf8JsonWriter writer, IPEndPoint value, JsonSerializerOptions options) => writer.WriteStringValue(value.ToString());
}

internal sealed class PrefixConverter : JsonConverter<IpPrefix>
{
    public override IpPrefix Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        IpPrefix.TryParse(reader.GetString(), out IpPrefix p) ? p : throw new JsonException("not a prefix");

    public override void Write(Utf8JsonWriter writer, IpPrefix value, JsonSerializerOptions options) => writer.WriteStringValue(value.ToString());
}

internal sealed class AddressConverter : JsonConverter<InterfaceAddress>
{
    public override InterfaceAddress Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        InterfaceAddress.TryParse(reader.GetString(), out InterfaceAddress a) ? a : throw new JsonException("not an address");

    public override void Write(Utf8JsonWriter writer, InterfaceAddress value, JsonSerializerOptions options) => writer.WriteStringValue(value.ToString());
}
