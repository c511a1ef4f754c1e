using System.Text.Json.Nodes;
using Pinhole.Cli.Commands.Daemon;

namespace Pinhole.Cli.Tests;

/// <summary><c>pinhole status</c>'s lines for port mappings and relays, from the node's services status.</summary>
public sealed class StatusNatFieldsTests
{
    [Fact]
    public void Mapped_failed_and_double_nat_mappings_and_relays_each_get_a_line()
    {
        var services = JsonNode.Parse("""
            {
              "portmapping": { "mappings": [
                { "transport": "tcp", "internalPort": 4001, "state": "mapped", "protocol": "Pcp", "external": "203.0.113.5:4001", "advertised": true, "lastError": null },
                { "transport": "udp", "internalPort": 4001, "state": "failed", "protocol": null, "external": null, "advertised": false, "lastError": "the gateway 192.168.1.1 answered none of All with a mapping" },
                { "transport": "tcp", "internalPort": 4002, "state": "mapped", "protocol": "NatPmp", "external": "100.64.0.7:4002", "advertised": false }
              ] },
              "relay": { "relays": [ { "relay": "12D3KooWR", "state": "reserved", "error": null }, { "relay": "12D3KooWS", "state": "failed", "error": "refused" } ] }
            }
            """)!.AsObject();
        Assert.Equal(
        [
            ("port mapping", "tcp 4001 → 203.0.113.5:4001 (Pcp)"),
            ("port mapping", "udp 4001: failed: the gateway 192.168.1.1 answered none of All with a mapping"),
            ("port mapping", "tcp 4002 → 100.64.0.7:4002 (NatPmp, not advertised: another NAT is upstream)"),
            ("relay", "12D3KooWR reserved"),
            ("relay", "12D3KooWS failed: refused"),
        ], StatusCommand.NatFields(services).ToList());
    }

    [Fact]
    public void A_node_without_these_services_gets_no_lines()
    {
        Assert.Empty(StatusCommand.NatFields(new JsonObject()));
        Assert.Empty(StatusCommand.NatFields(null));
    }
}
