using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;
using Pinhole.Vpn.Routing;

namespace Pinhole.Vpn;

/// <summary>
/// <see cref="VpnStatus"/> as one line of JSON (docs/cli.md conventions: camelCase, every property present,
/// PeerIds, endpoints and prefixes as their text forms, times as RFC 3339, durations as milliseconds with an
/// <c>Ms</c> suffix, offloads as camelCase names): what <c>pinhole vpn status --json</c> prints, the control
/// socket answers and the node's status shows under <c>services.vpn</c>.
/// </summary>
public static class VpnStatusJson
{
    /// <summary>Serializes a status.</summary>
    public static string Serialize(VpnStatus status) => JsonSerializer.Serialize(status, VpnJsonContext.Default.VpnStatus);

    /// <summary>Reads a status back; throws <see cref="JsonException"/> on malformed input.</summary>
    public static VpnStatus Deserialize(string json) =>
        JsonSerializer.Deserialize(json, VpnJsonContext.Default.VpnStatus) ?? throw new JsonException("null status");
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = false,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    Converters = [typeof(PeerIdConverter), typeof(EndPointConverter), typeof(PrefixConverter), typeof(AddressConverter), typeof(OffloadsConverter)])]
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

internal sealed class OffloadsConverter() : JsonStringEnumConverter<VpnOffloads>(JsonNamingPolicy.CamelCase);

/// <summary>A duration as a number of milliseconds.</summary>
internal sealed class MillisecondsConverter : JsonConverter<TimeSpan>
{
    public override TimeSpan Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TryGetDouble(out double ms) && double.IsFinite(ms) && Math.Abs(ms) < TimeSpan.MaxValue.TotalMilliseconds ? TimeSpan.FromMilliseconds(ms) : throw new JsonException("not a duration in ms");

    public override void Write(Utf8JsonWriter writer, TimeSpan value, JsonSerializerOptions options) => writer.WriteNumberValue(value.TotalMilliseconds);
}

/// <summary>An optional duration as a number of milliseconds or null.</summary>
internal sealed class NullableMillisecondsConverter : JsonConverter<TimeSpan?>
{
    public override bool HandleNull => true;

    public override TimeSpan? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType == JsonTokenType.Null ? null : new MillisecondsConverter().Read(ref reader, typeof(TimeSpan), options);

    public override void Write(Utf8JsonWriter writer, TimeSpan? value, JsonSerializerOptions options)
    {
        if (value is { } v)
        {
            writer.WriteNumberValue(v.TotalMilliseconds);
        }
        else
        {
            writer.WriteNullValue();
        }
    }
}
