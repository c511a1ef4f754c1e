using System.Text.Json.Nodes;

namespace Pinhole.Node;

/// <summary>
/// A part hosted by a <see cref="PinholeNode"/> (NAT traversal, the coordinator client, the VPN, ...): the
/// extension seam of docs/node.md. Services are added with <see cref="PinholeNodeBuilder.AddService"/>, started
/// in the order they were added once the node's transports listen and its store is open, and stopped in reverse
/// order before the transports close. A service that fails to start stops the node's start.
/// </summary>
public interface INodeService
{
    /// <summary>A short unique name (<c>nat</c>, <c>membership</c>, <c>vpn</c>): the key of its status in <c>GET /v1/status</c>.</summary>
    string Name { get; }

    /// <summary>Starts the service; the node is listening and every node API is usable.</summary>
    Task StartAsync(PinholeNode node, CancellationToken cancellationToken);

    /// <summary>Stops the service; the node still listens and its connections are still open.</summary>
    Task StopAsync(CancellationToken cancellationToken);

    /// <summary>A JSON object shown under <c>services.&lt;Name&gt;</c> in <c>GET /v1/status</c>, or null.</summary>
    JsonObject? GetStatus() => null;
}
