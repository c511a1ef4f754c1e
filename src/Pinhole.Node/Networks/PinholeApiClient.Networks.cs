using Pinhole.Node.Api;

namespace Pinhole.Node;

public sealed partial class PinholeApiClient
{
    /// <summary><c>GET /v1/networks</c>: the private networks the daemon follows (without member lists).</summary>
    public Task<List<NetworkResponse>> ListNetworksAsync(CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Get, "v1/networks", null, ApiJsonContext.Default.ListNetworkResponse, cancellationToken);

    /// <summary><c>GET /v1/networks/{id}</c>: one network with its members.</summary>
    public Task<NetworkResponse> GetNetworkAsync(string network, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Get, "v1/networks/" + Uri.EscapeDataString(network), null, ApiJsonContext.Default.NetworkResponse, cancellationToken);

    /// <summary>
    /// <c>POST /v1/networks</c>: the daemon joins with the invite and follows the network from now on. Refusals come
    /// as <see cref="PinholeApiException"/> whose <see cref="PinholeApiException.ProblemType"/> names the case
    /// (<c>…:bad-invite</c>, <c>…:already-member</c>, <c>…:invite-redeemed</c>, <c>…:revoked</c>, <c>…:coordinator-unreachable</c>, docs/node.md).
    /// </summary>
    public Task<NetworkResponse> JoinNetworkAsync(string invite, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Post, "v1/networks",
            Json(new JoinNetworkRequest(invite, timeout?.TotalSeconds), ApiJsonContext.Default.JoinNetworkRequest),
            ApiJsonContext.Default.NetworkResponse, cancellationToken);

    /// <summary><c>DELETE /v1/networks/{id}</c>: the daemon stops following the network and deletes its cache.</summary>
    public Task LeaveNetworkAsync(string network, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Delete, "v1/networks/" + Uri.EscapeDataString(network), null, cancellationToken);
}
