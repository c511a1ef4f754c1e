using System.Globalization;
using System.Text.Json.Nodes;

namespace Pinhole.Cli.Commands.Daemon;

internal static partial class StatusCommand
{
    /// <summary>
    /// One line for the daemon's VPN (<c>services.vpn</c>, docs/vpn.md "In the daemon"): interface, addresses,
    /// socket and how many peers have a session; <c>pinhole vpn status</c> has the details.
    /// </summary>
    internal static IEnumerable<(string, string?)> VpnFields(JsonObject? services)
    {
        if (services?["vpn"] is not JsonObject vpn)
        {
            yield break;
        }
        var addresses = vpn["addresses"] is JsonArray list ? string.Join(", ", list.OfType<JsonValue>().Select(a => a.ToString())) : "";
        var peers = vpn["peers"] is JsonArray p ? p.OfType<JsonObject>().ToList() : [];
        var up = peers.Count(peer => peer["lastHandshake"] is JsonValue);
        yield return ("vpn", string.Create(CultureInfo.InvariantCulture,
            $"{Text(vpn, "interfaceName")} {addresses} on UDP {Text(vpn, "listenEndPoint")}, {peers.Count} peer(s), {up} with a session (pinhole vpn status)"));
    }
}
