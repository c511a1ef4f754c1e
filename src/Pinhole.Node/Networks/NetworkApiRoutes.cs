using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Pinhole.Membership;

namespace Pinhole.Node.Api;

/// <summary>
/// <c>/v1/networks</c>: the private networks of the node, joined and left while it runs (docs/node.md). Plugged in by
/// <see cref="PinholeNodeNetworkExtensions.AddNetworks"/> through <see cref="PinholeNodeBuilder.MapApi"/>.
/// </summary>
internal static class NetworkApiRoutes
{
    /// <summary>Longest a caller may ask one coordinator step to take.</summary>
    private static readonly TimeSpan MaxTimeout = TimeSpan.FromMinutes(10);

    public static void Map(IEndpointRouteBuilder app, NodeNetworks networks)
    {
        var group = app.MapGroup("/v1/networks").WithTags("networks");
        group.MapGet("", () =>
            TypedResults.Ok(networks.List().Where(s => s.Client is not null).Select(s => NetworkResponse.From(s, networks.Node!, withMembers: false)).ToList())).WithName("ListNetworks").WithSummary("Every private network the node follows, by its own check of the records.");

        group.MapGet("/{network}", Results<Ok<NetworkResponse>, ProblemHttpResult> (string network) =>
        {
            if (!NetworkId.TryParse(network, out var id))
            {
                return ApiProblems.BadRequest($"'{network}' is not a network id (pn…).");
            }
            return networks.Get(id) is { Client: not null } service
                ? TypedResults.Ok(NetworkResponse.From(service, networks.Node!, withMembers: true))
                : NotFollowed(id);
        }).WithName("GetNetwork").WithSummary("One network with its members, their verified endpoints and whether the node is connected to each.");

        group.MapPost("", async Task<Results<Created<NetworkResponse>, ProblemHttpResult>> (JoinNetworkRequest request, CancellationToken cancellationToken) =>
        {
            InviteCode invite;
            try
            {
                invite = InviteCode.Parse(request.Invite ?? throw new FormatException("The request has no invite."));
            }
            catch (FormatException e)
            {
                return ApiProblems.Problem(StatusCodes.Status400BadRequest, "bad-invite", "Not a valid invite", e.Message);
            }
            if (request.TimeoutSeconds is { } seconds && !(seconds > 0 && seconds <= MaxTimeout.TotalSeconds))
            {
                invite.Dispose();
                return ApiProblems.BadRequest($"timeoutSeconds must be in (0, {MaxTimeout.TotalSeconds}].");
            }
            try
            {
                var options = new NetworkMembershipOptions { Invite = invite };
                if (request.TimeoutSeconds is { } timeout)
                {
                    options.OperationTimeout = TimeSpan.FromSeconds(timeout);
                }
                var service = await networks.JoinAsync(options, cancellationToken).ConfigureAwait(false);
                return TypedResults.Created($"/v1/networks/{service.Network}", NetworkResponse.From(service, networks.Node!, withMembers: true));
            }
            catch (Exception e) when (e is NetworkStorageException or UnauthorizedAccessException)
            {
                return StorageProblem(e);
            }
            catch (Exception e) when (e is MembershipException or PeerException or IOException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                return JoinProblem(e);
            }
            catch (InvalidOperationException e)
            {
                return ApiProblems.Problem(StatusCodes.Status503ServiceUnavailable, "not-running", "The node is not running", e.Message);
            }
        }).WithName("JoinNetwork")
            .WithSummary("Join a network with an invite: the genesis and the invite's signature are checked, the invite is redeemed for this node's key, and the node follows and connects to the members from now on (no restart).")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status500InternalServerError)
            .ProducesProblem(StatusCodes.Status502BadGateway).ProducesProblem(StatusCodes.Status504GatewayTimeout);

        group.MapDelete("/{network}", async Task<Results<NoContent, ProblemHttpResult>> (string network, CancellationToken cancellationToken) =>
        {
            if (!NetworkId.TryParse(network, out var id))
            {
                return ApiProblems.BadRequest($"'{network}' is not a network id (pn…).");
            }
            try
            {
                return await networks.LeaveAsync(id, cancellationToken).ConfigureAwait(false) ? TypedResults.NoContent() : NotFollowed(id);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return ApiProblems.Problem(StatusCodes.Status500InternalServerError, "leave-failed", "The network's files could not be removed", e.Message);
            }
        }).WithName("LeaveNetwork")
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status500InternalServerError)
            .WithSummary("Stop following a network and delete its cache (the membership stays valid until it expires or is revoked: leaving is local).");
    }


    private static ProblemHttpResult NotFollowed(NetworkId id) =>
        ApiProblems.Problem(StatusCodes.Status404NotFound, "not-found", "Not found", $"This node does not follow the network {id}.");

    /// <summary>Each way a join can fail as its own problem kind (docs/node.md); <c>reason</c> carries the <see cref="MembershipError"/>.</summary>
    internal static ProblemHttpResult JoinProblem(Exception e)
    {
        switch (e)
        {
            case MembershipException m:
                var (status, kind, title) = m.Reason switch
                {
                    MembershipError.Duplicate => (StatusCodes.Status409Conflict, "already-member", "Already a member"),
                    MembershipError.AlreadyRedeemed => (StatusCodes.Status409Conflict, "invite-redeemed", "The invite was already redeemed"),
                    MembershipError.Revoked => (StatusCodes.Status403Forbidden, "revoked", "Revoked"),
                    MembershipError.Expired or MembershipError.NotYetValid => (StatusCodes.Status403Forbidden, "invite-expired", "The invite is not valid now"),
                    MembershipError.Unauthorized or MembershipError.BadSignature or MembershipError.WrongNetwork or MembershipError.Malformed or MembershipError.Equivocation
                        => (StatusCodes.Status403Forbidden, "invite-invalid", "The invite does not verify against the network"),
                    MembershipError.Forbidden => (StatusCodes.Status403Forbidden, "forbidden", "The coordinator refused"),
                    MembershipError.Unknown => (StatusCodes.Status404NotFound, "unknown-network", "The coordinator does not know the network"),
                    _ => (StatusCodes.Status502BadGateway, "coordinator-error", "The coordinator failed"),
                };
                return WithReason(ApiProblems.Problem(status, kind, title, m.Message), m.Reason);
            case PeerException { Error: PeerError.Timeout } or OperationCanceledException:
                return ApiProblems.Problem(StatusCodes.Status504GatewayTimeout, "coordinator-unreachable", "No coordinator answered in time",
                    e is PeerException ? e.Message : "The coordinator did not answer in time.", nameof(PeerError.Timeout));
            case PeerException p:
                return ApiProblems.Problem(StatusCodes.Status502BadGateway, "coordinator-unreachable", "No coordinator could be reached", p.Message, p.Error.ToString());
            default:
                return ApiProblems.Problem(StatusCodes.Status502BadGateway, "coordinator-unreachable", "No coordinator could be reached", e.Message);
        }
    }

    /// <summary>The home's storage failed during a join; the detail says whether the invite was spent.</summary>
    internal static ProblemHttpResult StorageProblem(Exception e)
    {
        var problem = ApiProblems.Problem(StatusCodes.Status500InternalServerError, "storage-error", "The network's files could not be written",
            e is NetworkStorageException ? e.Message : "The invite may have been redeemed for this node's key, but its files could not be written: " + e.Message);
        problem.ProblemDetails.Extensions["inviteRedeemed"] = e is NetworkStorageException { InviteRedeemed: true };
        return problem;
    }

    private static ProblemHttpResult WithReason(ProblemHttpResult problem, MembershipError reason)
    {
        problem.ProblemDetails.Extensions["reason"] = reason.ToString();
        return problem;
    }
}
