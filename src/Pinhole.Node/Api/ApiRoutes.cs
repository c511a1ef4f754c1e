using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;

namespace Pinhole.Node.Api;

/// <summary>The <c>/v1</c> routes (docs/node.md has each with an example).</summary>
internal static class ApiRoutes
{
    public static void Map(IEndpointRouteBuilder app, PinholeNode node)
    {
        var v1 = app.MapGroup("/v1").WithTags("node");

        v1.MapGet("/status", () => TypedResults.Ok(StatusResponse.From(node.GetStatus())))
            .WithName("GetStatus").WithSummary("The node: PeerId, addresses, uptime, counts.");

        MapPeers(v1, node);
        MapConnections(v1, node);
        MapSockets(v1, node);

        v1.MapGet("/netcheck", async Task<Results<Ok<Pinhole.Nat.NetcheckReport>, ProblemHttpResult>> ([FromQuery] bool? hairpin, CancellationToken cancellationToken) =>
        {
            try
            {
                return TypedResults.Ok(await node.NetcheckAsync(hairpin ?? true, cancellationToken).ConfigureAwait(false));
            }
            catch (Exception e) when (ApiProblems.IsMapped(e))
            {
                return ApiProblems.From(e);
            }
        }).WithName("Netcheck").WithSummary("Probe the network against the node's STUN servers (docs/nat.md, netcheck): UDP, public address, NAT mapping and filtering, hairpinning (?hairpin=false skips it), latency; the gateway's port-mapping protocols when the node maps ports. 409 without STUN servers.");

        v1.MapGet("/events", (HttpContext context, [FromQuery] double? stats) =>
                TypedResults.ServerSentEvents(Events(node, stats, context.RequestAborted)))
            .WithName("GetEvents")
            .WithSummary("Server-sent events: peer.connected, peer.disconnected, path.changed, dial.failed, socket.changed; with ?stats=S also a 'connections' snapshot every S seconds.")
            .Produces<EventResponse>(StatusCodes.Status200OK, "text/event-stream");
    }

    private static void MapPeers(RouteGroupBuilder v1, PinholeNode node)
    {
        var peers = v1.MapGroup("/peers");
        peers.MapGet("", () => TypedResults.Ok(node.Peers.List().Select(p => PeerResponse.From(p, node.Connections.Get(p.PeerId) is not null)).ToList()))
            .WithName("ListPeers").WithSummary("Every known peer, pinned first.");

        peers.MapPost("", Results<Created<PeerResponse>, ProblemHttpResult> (AddPeerRequest request) => Guard<Created<PeerResponse>>(() =>
        {
            var id = ParsePeerId(request.PeerId);
            var addresses = (request.Addresses ?? []).Select(ParseAddress).ToList();
            var peer = node.Peers.Add(id, request.Alias, request.KeepConnected, addresses);
            if (request.KeepConnected is { } keep)
            {
                node.Connections.SetKeepConnected(id, keep);
            }
            return TypedResults.Created($"/v1/peers/{peer.PeerId}", PeerResponse.From(peer, node.Connections.Get(id) is not null));
        })).WithName("AddPeer").WithSummary("Add a peer by PeerId (it becomes pinned), with addresses, an alias, keep-connected.");

        peers.MapGet("/{peer}", Results<Ok<PeerResponse>, ProblemHttpResult> (string peer) => Guard<Ok<PeerResponse>>(() =>
        {
            var known = Find(node, peer);
            return TypedResults.Ok(PeerResponse.From(known, node.Connections.Get(known.PeerId) is not null));
        })).WithName("GetPeer").WithSummary("One peer, by PeerId or alias.");

        peers.MapMethods("/{peer}", [HttpMethods.Patch], Results<Ok<PeerResponse>, ProblemHttpResult> (string peer, UpdatePeerRequest request) => Guard<Ok<PeerResponse>>(() =>
        {
            var known = Find(node, peer);
            var updated = node.Peers.Update(known.PeerId, new PeerUpdate { Alias = request.Alias, Pinned = request.Pinned, KeepConnected = request.KeepConnected })
                ?? throw new KeyNotFoundException($"No peer {peer} in the store.");
            if (request.KeepConnected is { } keep)
            {
                node.Connections.SetKeepConnected(known.PeerId, keep);
            }
            return TypedResults.Ok(PeerResponse.From(updated, node.Connections.Get(known.PeerId) is not null));
        })).WithName("UpdatePeer").WithSummary("Change a peer's alias, pinned state or keep-connected flag.");

        peers.MapDelete("/{peer}", Results<NoContent, ProblemHttpResult> (string peer) => Guard<NoContent>(() =>
        {
            var known = Find(node, peer);
            node.Connections.SetKeepConnected(known.PeerId, false);
            node.Peers.Remove(known.PeerId);
            return TypedResults.NoContent();
        })).WithName("RemovePeer").WithSummary("Forget a peer (its connections stay until they close).");

        peers.MapPost("/{peer}/addresses", Results<Ok<PeerResponse>, ProblemHttpResult> (string peer, AddAddressRequest request) => Guard<Ok<PeerResponse>>(() =>
        {
            var id = ResolveOrParse(node, peer);
            node.Peers.AddAddress(id, ParseAddress(request.Address), ParseSource(request.Source));
            var known = node.Peers.Get(id)!;
            return TypedResults.Ok(PeerResponse.From(known, node.Connections.Get(id) is not null));
        })).WithName("AddPeerAddress").WithSummary("Add an address to a peer (created as 'seen' if unknown).");

        peers.MapDelete("/{peer}/addresses", Results<NoContent, ProblemHttpResult> (string peer, [FromQuery] string address) => Guard<NoContent>(() =>
        {
            var known = Find(node, peer);
            return node.Peers.RemoveAddress(known.PeerId, ParseAddress(address))
                ? TypedResults.NoContent()
                : throw new KeyNotFoundException($"{peer} has no address {address}.");
        })).WithName("RemovePeerAddress").WithSummary("Remove one address (?address=<multiaddr>).");

        peers.MapPost("/{peer}/ping", async Task<Results<Ok<PingResponse>, ProblemHttpResult>> (string peer, CancellationToken cancellationToken) =>
        {
            try
            {
                var id = ResolveOrParse(node, peer);
                var connection = await node.Connections.ConnectAsync(id, cancellationToken).ConfigureAwait(false);
                var rtt = await connection.PingAsync(cancellationToken).ConfigureAwait(false);
                var list = node.Connections.List(id);
                var info = list.Count > 0 ? list[0] : null;
                return TypedResults.Ok(new PingResponse(id.ToString(), Math.Round(rtt.TotalMilliseconds, 3), info?.Id ?? 0));
            }
            catch (Exception e) when (ApiProblems.IsMapped(e))
            {
                return ApiProblems.From(e);
            }
        }).WithName("PingPeer").WithSummary("One /ipfs/ping/1.0.0 round trip (connecting first if needed).");
    }

    private static void MapConnections(RouteGroupBuilder v1, PinholeNode node)
    {
        var connections = v1.MapGroup("/connections");
        connections.MapGet("", ([FromQuery] string? peer) =>
        {
            var now = node.Options.TimeProvider.GetUtcNow();
            var list = peer is null ? node.Connections.List() : node.Connections.List(ResolveOrParse(node, peer));
            return TypedResults.Ok(list.Select(c => ConnectionResponse.From(c, now)).ToList());
        }).WithName("ListConnections").WithSummary("Every connection with its path, RTT, bytes and age (?peer= filters).");

        connections.MapPut("/{peer}", async Task<Results<Ok<ConnectionResponse>, ProblemHttpResult>> (string peer, CancellationToken cancellationToken) =>
        {
            try
            {
                var id = ResolveOrParse(node, peer);
                await node.Connections.ConnectAsync(id, cancellationToken).ConfigureAwait(false);
                return TypedResults.Ok(Current(node, id));
            }
            catch (Exception e) when (ApiProblems.IsMapped(e))
            {
                return ApiProblems.From(e);
            }
        }).WithName("ConnectPeer").WithSummary("Make sure the node is connected to a peer (by PeerId or alias), dialling its stored addresses.");

        connections.MapPost("", async Task<Results<Ok<ConnectionResponse>, ProblemHttpResult>> (ConnectRequest request, CancellationToken cancellationToken) =>
        {
            try
            {
                var address = PeerAddress.Parse(request.Address);
                var connection = await node.Connections.ConnectAsync(address, request.TrustOnFirstUse, cancellationToken).ConfigureAwait(false);
                return TypedResults.Ok(Current(node, connection.RemotePeer));
            }
            catch (Exception e) when (ApiProblems.IsMapped(e))
            {
                return ApiProblems.From(e);
            }
        }).WithName("ConnectAddress").WithSummary("Connect to an address (its PeerId is pinned and the address stored).");

        connections.MapDelete("/{peer}", async Task<Results<NoContent, ProblemHttpResult>> (string peer, CancellationToken cancellationToken) =>
        {
            try
            {
                var id = ResolveOrParse(node, peer);
                return await node.Connections.DisconnectAsync(id, cancellationToken).ConfigureAwait(false)
                    ? TypedResults.NoContent()
                    : ApiProblems.NotFound($"No connection with {peer}.");
            }
            catch (Exception e) when (ApiProblems.IsMapped(e))
            {
                return ApiProblems.From(e);
            }
        }).WithName("DisconnectPeer").WithSummary("Close every connection with a peer (a keep-connected peer is not redialled until the next connect).");
    }

    private static void MapSockets(RouteGroupBuilder v1, PinholeNode node)
    {
        var sockets = v1.MapGroup("/sockets");
        sockets.MapGet("", () => TypedResults.Ok(node.Sockets.List().Select(SocketResponse.From).ToList()))
            .WithName("ListSockets").WithSummary("The UDP sockets created through the API.");

        sockets.MapPost("", async Task<Results<Created<SocketResponse>, ProblemHttpResult>> (CreateSocketRequest? request, CancellationToken cancellationToken) =>
        {
            try
            {
                request ??= new CreateSocketRequest();
                var options = new NodeSocketOptions
                {
                    LocalEndPoint = request.Bind is null ? new IPEndPoint(IPAddress.Any, 0) : ParseEndPoint(request.Bind),
                    Forward = request.Forward,
                    ForwardTo = request.ForwardTo is null ? null : ParseEndPoint(request.ForwardTo),
                };
                var socket = await node.Sockets.CreateAsync(options, cancellationToken).ConfigureAwait(false);
                return TypedResults.Created($"/v1/sockets/{socket.Id}", SocketResponse.From(socket.Snapshot()));
            }
            catch (Exception e) when (ApiProblems.IsMapped(e))
            {
                return ApiProblems.From(e);
            }
        }).WithName("CreateSocket").WithSummary("Bind a UDP socket; returns its local address (and public address once NAT traversal knows it).");

        sockets.MapGet("/{id}", Results<Ok<SocketResponse>, ProblemHttpResult> (string id) =>
            node.Sockets.Find(id) is { } socket ? TypedResults.Ok(SocketResponse.From(socket.Snapshot())) : ApiProblems.NotFound($"No socket {id}."))
            .WithName("GetSocket").WithSummary("One socket.");

        sockets.MapPut("/{id}/peer", async Task<Results<Ok<SocketResponse>, ProblemHttpResult>> (string id, SocketPeerRequest request, CancellationToken cancellationToken) =>
        {
            try
            {
                var peer = ResolveOrParse(node, request.PeerId);
                if (node.Sockets.Find(id) is null)
                {
                    return ApiProblems.NotFound($"No socket {id}.");
                }
                if (request.Mode is "wait")
                {
                    return TypedResults.Ok(SocketResponse.From(node.Sockets.WaitFor(id, peer).Snapshot()));
                }
                if (request.Mode is not (null or "dial"))
                {
                    return ApiProblems.BadRequest($"Unknown mode '{request.Mode}': use dial or wait.");
                }
                var remote = request.Address is not null ? ParseDatagramEndPoint(request.Address) : DatagramEndPointOf(node, peer);
                var socket = await node.Sockets.ConnectAsync(id, peer, remote, cancellationToken).ConfigureAwait(false);
                return TypedResults.Ok(SocketResponse.From(socket.Snapshot()));
            }
            catch (Exception e) when (ApiProblems.IsMapped(e))
            {
                return ApiProblems.From(e);
            }
        }).WithName("ConnectSocket").WithSummary("Connect the socket to a peer over DTLS (mode dial), or let that peer connect to it (mode wait).");

        sockets.MapDelete("/{id}", async Task<Results<NoContent, ProblemHttpResult>> (string id) =>
            await node.Sockets.DeleteAsync(id).ConfigureAwait(false) ? TypedResults.NoContent() : ApiProblems.NotFound($"No socket {id}."))
            .WithName("DeleteSocket").WithSummary("Close and forget a socket.");
    }

    private static async IAsyncEnumerable<SseItem<EventResponse>> Events(PinholeNode node, double? statsSeconds, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var subscription = node.Events.Subscribe();
        var time = node.Options.TimeProvider;
        var period = statsSeconds is > 0 ? TimeSpan.FromSeconds(Math.Clamp(statsSeconds.Value, 0.2, 3600)) : (TimeSpan?)null;
        using var ticker = period is { } p ? new PeriodicTimer(p, time) : null;
        var tick = ticker?.WaitForNextTickAsync(cancellationToken).AsTask();
        var next = subscription.Reader.WaitToReadAsync(cancellationToken).AsTask();
        // A first snapshot, so that a page has something to show before anything happens.
        yield return Snapshot(node);
        while (!cancellationToken.IsCancellationRequested)
        {
            var done = tick is null ? await Task.WhenAny(next).ConfigureAwait(false) : await Task.WhenAny(next, tick).ConfigureAwait(false);
            if (done == tick)
            {
                if (!tick.IsCompletedSuccessfully || !tick.Result)
                {
                    yield break;
                }
                yield return Snapshot(node);
                tick = ticker!.WaitForNextTickAsync(cancellationToken).AsTask();
                continue;
            }
            if (!next.IsCompletedSuccessfully || !next.Result)
            {
                yield break;
            }
            while (subscription.Reader.TryRead(out var e))
            {
                yield return new SseItem<EventResponse>(EventResponse.Of(e), e.Type);
            }
            next = subscription.Reader.WaitToReadAsync(cancellationToken).AsTask();
        }
    }

    private static SseItem<EventResponse> Snapshot(PinholeNode node)
    {
        var now = node.Options.TimeProvider.GetUtcNow();
        return new SseItem<EventResponse>(new EventResponse("connections", now, Connections: [.. node.Connections.List().Select(c => ConnectionResponse.From(c, now))]), "connections");
    }

    private static ConnectionResponse Current(PinholeNode node, PeerId peer)
    {
        var now = node.Options.TimeProvider.GetUtcNow();
        var list = node.Connections.List(peer);
        var info = list.Count > 0 ? list[0] : throw new PeerException(PeerError.ConnectionClosed, $"The connection with {peer} closed at once.");
        return ConnectionResponse.From(info, now);
    }

    // Results<T1, T2> keeps T1's methods for endpoint metadata (IL2091 in the NativeAOT publish of the CLI without it).
    private static Results<TResult, ProblemHttpResult> Guard<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicMethods | DynamicallyAccessedMemberTypes.NonPublicMethods)] TResult>(
        Func<Results<TResult, ProblemHttpResult>> body) where TResult : IResult
    {
        try
        {
            return body();
        }
        catch (Exception e) when (ApiProblems.IsMapped(e))
        {
            return ApiProblems.From(e);
        }
    }

    private static KnownPeer Find(PinholeNode node, string text) =>
        node.Peers.Find(text) ?? throw new KeyNotFoundException($"No peer {text} in the store.");

    private static PeerId ResolveOrParse(PinholeNode node, string text)
    {
        if (PeerId.TryParse(text, out var id))
        {
            return id;
        }
        return node.Peers.Find(text)?.PeerId ?? throw new KeyNotFoundException($"'{text}' is neither a PeerId nor the alias of a known peer.");
    }

    private static PeerId ParsePeerId(string text) =>
        PeerId.TryParse(text.AsSpan(), out var id, out var error) ? id : throw new FormatException($"'{text}' is not a PeerId: {error}.");

    private static Multiaddr ParseAddress(string text)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(text);
        return Multiaddr.Parse(text);
    }

    private static AddressSource ParseSource(string? text) => text switch
    {
        null or "configured" => AddressSource.Configured,
        "identify" => AddressSource.Identify,
        "coordinator" => AddressSource.Coordinator,
        "observed" => AddressSource.Observed,
        _ => throw new FormatException($"Unknown address source '{text}': configured, identify, coordinator or observed."),
    };

    private static IPEndPoint ParseEndPoint(string text) =>
        IPEndPoint.TryParse(text, out var endPoint) ? endPoint : throw new FormatException($"'{text}' is not IP:PORT.");

    private static IPEndPoint ParseDatagramEndPoint(string text)
    {
        if (text.StartsWith('/'))
        {
            var address = Multiaddr.Parse(text);
            return address.TryGetIPEndPoint(out var endPoint, out _) ? endPoint : throw new FormatException($"'{text}' has no IP address and port.");
        }
        return ParseEndPoint(text);
    }

    private static IPEndPoint DatagramEndPointOf(PinholeNode node, PeerId peer)
    {
        var addresses = node.Peers.Get(peer)?.Addresses.Select(a => a.Address).ToList() ?? [];
        var udp = addresses.FirstOrDefault(a => a.TryGetIPEndPoint(out _, out var t) && t == "udp")
            ?? addresses.FirstOrDefault(a => a.TryGetIPEndPoint(out _, out var t) && t == "tcp");
        return udp?.ToIPEndPoint() ?? throw new PeerException(PeerError.Unreachable, $"No known address for {peer}; give one in 'address'.");
    }
}
