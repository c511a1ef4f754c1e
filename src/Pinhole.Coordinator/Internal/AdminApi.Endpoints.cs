using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Pinhole.Membership;

namespace Pinhole.Coordinator.Internal;

internal sealed partial class AdminApi
{
    private const int PageLimit = 1000;

    private static void Map(WebApplication app, CoordinatorServer server)
    {
        var api = app.MapGroup("/api/v1");
        api.MapGet("/health", (HttpContext context) => Results.Ok(new HealthInfo("ok", server.PeerId.ToString(), Caller(context).ToString(),
            server.Options.Store!.Description, server.ConnectionCount, server.SubscriberCount)))
            .WithName("Health").WithSummary("Who the coordinator is and who the caller's certificate proves it is.");

        api.MapPost("/networks", (RecordsBody body, HttpContext context) => Guard(() => CreateNetworkAsync(server, body, Caller(context))))
            .WithName("CreateNetwork").WithSummary("Creates a network from its genesis record (the caller must be one of its admins).");

        var network = api.MapGroup("/networks/{network}");
        network.MapGet("", (string network, HttpContext context) => Guard(async () =>
        {
            var feed = await AdminFeedAsync(server, network, Caller(context)).ConfigureAwait(false);
            return Results.Ok(Info(server, feed));
        })).WithName("GetNetwork").WithSummary("The network's genesis facts, admin set and counts.");

        network.MapPost("/records", (string network, RecordsBody body, HttpContext context) => Guard(async () =>
        {
            var feed = await AdminFeedAsync(server, network, Caller(context)).ConfigureAwait(false);
            var results = new List<WriteResult>();
            foreach (var text in body.Records)
            {
                NetworkRecord record;
                try
                {
                    record = NetworkRecord.Decode(Convert.FromBase64String(text));
                }
                catch (Exception e) when (e is FormatException or MembershipException)
                {
                    results.Add(new WriteResult("", "", "refused", (e as MembershipException)?.Reason.ToString() ?? nameof(MembershipError.Malformed), e.Message, 0));
                    continue;
                }
                try
                {
                    var (result, sequence) = await server.WriteAsync(feed, record, Caller(context), viaAdminApi: true).ConfigureAwait(false);
                    results.Add(new WriteResult(record.Id.ToString(), record.Kind.ToString(), result == StoreWrite.Stored ? "stored" : "duplicate", null, null, sequence));
                }
                catch (MembershipException e)
                {
                    results.Add(new WriteResult(record.Id.ToString(), record.Kind.ToString(), "refused", e.Reason.ToString(), e.Message, 0));
                }
            }
            return Results.Ok(new WriteResponse(results));
        })).WithName("WriteRecords").WithSummary("Stores admin-signed records (memberships, revocations, admin changes) after checking each.");

        network.MapGet("/records", (string network, ulong? after, int? limit, HttpContext context) => Guard(async () =>
        {
            var feed = await AdminFeedAsync(server, network, Caller(context)).ConfigureAwait(false);
            var take = Math.Clamp(limit ?? PageLimit, 1, PageLimit);
            var page = await server.Options.Store!.ReadChangesAsync(feed.Network, after ?? 0, take + 1).ConfigureAwait(false);
            var records = page.Take(take).Select(r => new StoredRecordInfo(r.Sequence, r.Kind.ToString(), Convert.ToBase64String(r.Blob))).ToList();
            return Results.Ok(new RecordsPage(records, records.Count > 0 ? records[^1].Sequence : after ?? 0, page.Count > take));
        })).WithName("ListRecords").WithSummary("Every stored record after a cursor, for tools that check them themselves.");

        network.MapGet("/members", (string network, HttpContext context) => Guard(async () =>
        {
            var feed = await AdminFeedAsync(server, network, Caller(context)).ConfigureAwait(false);
            var view = feed.View();
            return Results.Ok<IReadOnlyList<MemberInfo>>([.. view.Members.Values.OrderBy(m => m.Ipv4?.ToString() ?? m.Ipv6?.ToString(), StringComparer.Ordinal).Select(m => new MemberInfo(
                m.Peer.ToString(), m.Ipv4?.ToString(), m.Ipv6?.ToString(), m.Groups, m.NotAfter, m.Provisional,
                [.. m.Addresses.Select(a => a.ToString())], (m.Endpoint?.NatType ?? EndpointNatType.Unknown).ToString()))]);
        })).WithName("ListMembers").WithSummary("Members valid now by the coordinator's check (informational).");

        network.MapPost("/allocations", (string network, AllocationRequest body, HttpContext context) => Guard(async () =>
        {
            var feed = await AdminFeedAsync(server, network, Caller(context)).ConfigureAwait(false);
            PeerId? inviteKey = null;
            if (body.InviteKey is { } text && !PeerId.TryParse(text, out inviteKey))
            {
                return Problem(MembershipError.Malformed, $"'{text}' is not a PeerId.");
            }
            var genesis = feed.State.Genesis;
            var host = await server.Options.Store!.AllocateHostAsync(feed.Network, inviteKey, AddressPlan.Capacity(genesis), server.Options.TimeProvider.GetUtcNow()).ConfigureAwait(false);
            var (v4, v6) = AddressPlan.Addresses(genesis, host);
            return Results.Ok(new AllocationResponse(host, v4?.ToString(), v6?.ToString()));
        })).WithName("Allocate").WithSummary("Allocates the next virtual addresses (never handed out again, even after revocation).");
    }

    private static async Task<IResult> CreateNetworkAsync(CoordinatorServer server, RecordsBody body, PeerId caller)
    {
        var options = server.Options;
        if (body.Records.Count != 1 || NetworkRecord.Decode(Convert.FromBase64String(body.Records[0])) is not GenesisRecord genesis)
        {
            return Problem(MembershipError.Malformed, "Send exactly one genesis record.");
        }
        if (!genesis.Admins.IsAdmin(caller))
        {
            return Problem(MembershipError.Forbidden, $"{caller} is not an admin of the network it creates.");
        }
        var allowed = options.NetworkCreation switch
        {
            NetworkCreationPolicy.Open => true,
            NetworkCreationPolicy.AllowList => options.NetworkCreators.Contains(caller),
            _ => false,
        };
        if (!allowed)
        {
            return Problem(MembershipError.Forbidden, $"This coordinator does not let {caller} create networks.");
        }
        var created = await options.Store!.CreateNetworkAsync(genesis, options.TimeProvider.GetUtcNow()).ConfigureAwait(false);
        var feed = await server.GetFeedAsync(genesis.Network, CancellationToken.None).ConfigureAwait(false);
        CoordinatorLog.NetworkCreated(server.Logger, genesis.Network, caller);
        return created ? Results.Created($"/api/v1/networks/{genesis.Network}", Info(server, feed!)) : Results.Ok(Info(server, feed!));
    }

    private static async Task<NetworkFeed> AdminFeedAsync(CoordinatorServer server, string network, PeerId caller)
    {
        if (!NetworkId.TryParse(network, out var id))
        {
            throw new MembershipException(MembershipError.Malformed, $"'{network}' is not a network id.");
        }
        var feed = await server.GetFeedAsync(id, CancellationToken.None).ConfigureAwait(false)
            ?? throw new MembershipException(MembershipError.Unknown, $"Network {id} is not known to this coordinator.");
        if (!feed.View().Admins.MayIssue(caller))
        {
            throw new MembershipException(MembershipError.Forbidden, $"{caller} is not an admin or issuer of {id}.");
        }
        return feed;
    }

    private static NetworkInfo Info(CoordinatorServer server, NetworkFeed feed)
    {
        var view = feed.View();
        var genesis = feed.State.Genesis;
        return new NetworkInfo(feed.Network.ToString(), genesis.Name, view.Epoch, [.. view.Admins.Admins.Select(k => k.PeerId.ToString())], view.Admins.Threshold,
            [.. view.Admins.Issuers.Select(k => k.PeerId.ToString())], genesis.Ipv4Prefix?.ToString(), genesis.Ipv6Prefix?.ToString(), feed.Known, view.Members.Count,
            server.PeerId.ToString(), [.. server.ListenAddresses.Select(a => a.ToString())]);
    }

    private static async Task<IResult> Guard(Func<Task<IResult>> body)
    {
        try
        {
            return await body().ConfigureAwait(false);
        }
        catch (MembershipException e)
        {
            return Problem(e.Reason, e.Message);
        }
        catch (FormatException e)
        {
            return Problem(MembershipError.Malformed, e.Message);
        }
    }
}
