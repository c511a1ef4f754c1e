using System.Text.Json;

namespace Pinhole.Core.Tests.Interop;

/// <summary>One JSON line that tests/npm/libp2p/peer.mjs printed: <c>{"event":"name", ...}</c>.</summary>
public sealed class JsLibp2pEvent
{
    private JsLibp2pEvent(string name, JsonElement data, string line)
    {
        Name = name;
        Data = data;
        Line = line;
    }

    /// <summary>The value of the <c>event</c> property, e.g. <c>listening</c>, <c>ping</c>, <c>identify</c>.</summary>
    public string Name { get; }

    /// <summary>The whole object (a detached clone, valid after the peer exits).</summary>
    public JsonElement Data { get; }

    /// <summary>The line as printed, for failure messages.</summary>
    public string Line { get; }

    /// <summary>A string property, or null when absent or not a string.</summary>
    public string? GetString(string property) =>
        Data.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    /// <summary>A number property as a double, or null when absent.</summary>
    public double? GetNumber(string property) =>
        Data.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetDouble() : null;

    /// <summary>A string-array property (empty when absent).</summary>
    public IReadOnlyList<string> GetStrings(string property)
    {
        if (!Data.TryGetProperty(property, out var value) || value.ValueKind != JsonValueKind.Array)
        {
            return [];
        }
        var list = new List<string>(value.GetArrayLength());
        foreach (var item in value.EnumerateArray())
        {
            if (item.ValueKind == JsonValueKind.String)
            {
                list.Add(item.GetString()!);
            }
        }
        return list;
    }

    /// <summary>Parses one stdout line; returns null for a line that is not a JSON object with an <c>event</c>.</summary>
    public static JsLibp2pEvent? TryParse(string line)
    {
        try
        {
            using var doc = JsonDocument.Parse(line);
            if (doc.RootElement.ValueKind != JsonValueKind.Object ||
                !doc.RootElement.TryGetProperty("event", out var name) || name.ValueKind != JsonValueKind.String)
            {
                return null;
            }
            return new JsLibp2pEvent(name.GetString()!, doc.RootElement.Clone(), line);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <inheritdoc/>
    public override string ToString() => Line;
}
