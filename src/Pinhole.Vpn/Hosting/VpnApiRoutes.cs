using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Pinhole.Membership;

namespace Pinhole.Vpn.Hosting;

/// <summary>
/// <c>/v1/vpn</c> (docs/vpn.md, "In a node"): the daemon's VPN brought up and down while it runs. <c>GET</c> shows it,
/// <c>POST {"network": "NET"}</c> brings the network's VPN up (200 <c>{"started": true|false, …}</c>: false when it
/// already ran), <c>DELETE /v1/vpn/{network}</c> takes it down (204; 404 when no VPN of that network runs). Bodies are
/// built as JSON nodes (no reflection). Errors are problem documents: 400 no network, 404 not joined, 403 revoked or no
/// virtual address, 409 another VPN runs, 502 the interface could not start (its <c>error</c> is the PeerError).
/// </summary>
internal static class VpnApiRoutes
{
    private const string ProblemPrefix = "urn:pinhole:problem:";

    public static void Map(IEndpointRouteBuilder app, VpnHost host)
    {
        var group = app.MapGroup("/v1/vpn").WithTags("vpn");
        group.MapGet("", () => Json(host.Describe())).WithName("GetVpn").WithSummary("The VPN this daemon runs, if any: its network and interface status.");

        group.MapPost("", async (HttpRequest request, CancellationToken cancellationToken) =>
        {
            string? network;
            try
            {
                JsonNode? body = await JsonNode.ParseAsync(request.Body, cancellationToken: cancellationToken).ConfigureAwait(false);
                network = body?["network"]?.GetValue<string>();
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException)
            {
                return Problem(StatusCodes.Status400BadRequest, "bad-request", "Bad request", "The body must be {\"network\": \"NET\"}: " + e.Message);
            }
            if (string.IsNullOrWhiteSpace(network))
            {
                return Problem(StatusCodes.Status400BadRequest, "bad-request", "Bad request", "The body must be {\"network\": \"NET\"} (a joined network's id or name).");
            }
            try
            {
                bool started = await host.UpAsync(network, cancellationToken).ConfigureAwait(false);
                return Json(host.Describe(started));
            }
            catch (FormatException e)
            {
                return Problem(StatusCodes.Status404NotFound, "not-joined", "Not a joined network", e.Message);
            }
            catch (MembershipException e)
            {
                return Problem(StatusCodes.Status403Forbidden, "not-member", "Not a member with a virtual address", e.Message, e.Reason.ToString());
            }
            catch (InvalidOperationException e)
            {
                return Problem(StatusCodes.Status409Conflict, "conflict", "Conflict", e.Message);
            }
            catch (PeerException e)
            {
                return Problem(StatusCodes.Status502BadGateway, "vpn-start-failed", "The VPN interface could not start", e.Message, e.Error.ToString());
            }
        }).WithName("StartVpn").WithSummary("Bring up the VPN of a joined network (its virtual address and peers come from the verified memberships).");

        group.MapDelete("/{network}", async (string network, CancellationToken cancellationToken) =>
            await host.DownAsync(network, cancellationToken).ConfigureAwait(false)
                ? Results.NoContent()
                : Problem(StatusCodes.Status404NotFound, "not-found", "Not found", $"No VPN of network '{network}' runs in this daemon."))
            .WithName("StopVpn").WithSummary("Take the VPN of a network down (the daemon keeps running).");
    }

    private static IResult Json(JsonObject body) => Results.Text(body.ToJsonString(), "application/json");

    private static IResult Problem(int status, string kind, string title, string detail, string? error = null) =>
        Results.Problem(detail: detail, statusCode: status, title: title, type: ProblemPrefix + kind,
            extensions: error is null ? null : new Dictionary<string, object?>(StringComparer.Ordinal) { ["error"] = error });
}
