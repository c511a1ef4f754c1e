using System.Text.Json.Nodes;

namespace Pinhole.Cli.Commands.Daemon;

internal static partial class StatusCommand
{
    /// <summary>One line per port mapping and per relay, from the node's <c>services</c> status (absent parts give none).</summary>
    internal static IEnumerable<(string, string?)> NatFields(JsonObject? services)
    {
        if (services?["portmapping"]?["mappings"] is JsonArray mappings)
        {
            foreach (var m in mappings.OfType<JsonObject>())
            {
                var what = $"{Text(m, "transport")} {m["internalPort"]}";
                var state = Text(m, "state");
                if (state == "mapped")
                {
                    var advertised = m["advertised"]?.GetValue<bool>() == true ? "" : ", not advertised: another NAT is upstream";
                    yield return ("port mapping", $"{what} → {Text(m, "external")} ({Text(m, "protocol")}{advertised})");
                }
                else
                {
                    var error = Text(m, "lastError") is { } e ? ": " + e : "";
                    yield return ("port mapping", $"{what}: {state}{error}");
                }
            }
        }
        if (services?["relay"]?["relays"] is JsonArray relays)
        {
            foreach (var r in relays.OfType<JsonObject>())
            {
                var error = Text(r, "error") is { } e ? ": " + e : "";
                yield return ("relay", $"{Text(r, "relay")} {Text(r, "state")}{error}");
            }
        }
    }

    private static string? Text(JsonObject o, string key) => o[key] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
}
