using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Pinhole.Node.Api;

// The local API's JSON (camelCase, every member always present: null when unknown). Identifiers and addresses
// are their canonical text forms; times are RFC 3339 UTC; durations are in the unit their name says (rttMs).
// docs/node.md documents each with an example.

/// <summary><c>GET /v1/status</c>.</summary>
public sealed record StatusResponse(
    string PeerId,
    string State,
    string Version,
    DateTimeOffset? StartedAt,
    double UptimeSeconds,
    IReadOnlyList<string> ListenAddresses,
    IReadOnlyList<string> Addresses,
    string? OcapnLocator,
    IReadOnlyList<string> Protocols,
    StatusCounts Counts,
    StatusApi Api,
    JsonObject Services)
{
    internal static StatusResponse From(NodeStatus s) => new(
        s.PeerId.ToString(),
        s.State.ToString().ToLowerInvariant(),
        typeof(PinholeNode).Assembly.GetName().Version?.ToString(3) ?? "0.0.0",
        s.StartedAt,
        Math.Round(s.Uptime.TotalSeconds, 3),
        [.. s.ListenAddresses.Select(a => a.ToString())],
        [.. s.Addresses.Select(a => a.ToString())],
        s.OcapnLocator,
        s.Protocols,
        new StatusCounts(s.KnownPeers, s.ConnectedPeers, s.Connections, s.Sockets),
        new StatusApi(s.ApiSocket, s.WebUrl),
        s.Services);
}

/// <summary>Counts in the status.</summary>
public sealed record StatusCounts(int KnownPeers, int ConnectedPeers, int Connections, int Sockets);

/// <summary>Where the API is.</summary>
public sealed record StatusApi(string? Socket, string? Web);

/// <summary>A known peer.</summary>
public sealed record PeerResponse(
    string PeerId,
    string? Alias,
    string Trust,
    bool KeepConnected,
    bool Connected,
    DateTimeOffset FirstSeen,
    DateTimeOffset? LastSeen,
    IReadOnlyList<AddressResponse> Addresses)
{
    internal static PeerResponse From(KnownPeer p, bool connected) => new(
        p.PeerId.ToString(),
        p.Alias,
        PeerStore.TrustText(p.Trust),
        p.KeepConnected,
        connected,
        p.FirstSeen,
        p.LastSeen,
        [.. p.Addresses.Select(AddressResponse.From)]);
}

/// <summary>A stored address of a peer.</summary>
public sealed record AddressResponse(
    string Address,
    string Source,
    DateTimeOffset Added,
    DateTimeOffset? LastSuccess,
    DateTimeOffset? LastFailure,
    int Failures,
    string? LastError)
{
    internal static AddressResponse From(KnownAddress a) => new(
        a.Address.ToString(), PeerStore.SourceText(a.Source), a.Added, a.LastSuccess, a.LastFailure, a.ConsecutiveFailures, a.LastError);
}

/// <summary><c>POST /v1/peers</c>: add (or update) a peer by its PeerId; it becomes pinned.</summary>
public sealed record AddPeerRequest(string PeerId, string? Alias = null, IReadOnlyList<string>? Addresses = null, bool? KeepConnected = null);

/// <summary><c>PATCH /v1/peers/{peer}</c>: members left out stay as they are; an empty alias removes it.</summary>
public sealed record UpdatePeerRequest(string? Alias = null, bool? Pinned = null, bool? KeepConnected = null);

/// <summary><c>POST /v1/peers/{peer}/addresses</c>.</summary>
public sealed record AddAddressRequest(string Address, string? Source = null);

/// <summary>A connection.</summary>
public sealed record ConnectionResponse(
    long Id,
    string PeerId,
    string Direction,
    string Netlayer,
    string Path,
    string State,
    string? LocalAddress,
    string? RemoteAddress,
    DateTimeOffset OpenedAt,
    double AgeSeconds,
    double? RttMs,
    long BytesSent,
    long BytesReceived,
    int Streams)
{
    internal static ConnectionResponse From(NodeConnectionInfo c, DateTimeOffset now) => new(
        c.Id,
        c.Peer.ToString(),
        c.Direction == ConnectionDirection.Inbound ? "inbound" : "outbound",
        c.Netlayer,
        c.Path == ConnectionPathKind.Direct ? "direct" : "relayed",
        c.State switch { ConnectionState.Active => "active", ConnectionState.Draining => "draining", _ => "closing" },
        c.LocalAddress?.ToString(),
        c.RemoteAddress?.ToString(),
        c.Opened,
        Math.Round((now - c.Opened).TotalSeconds, 3),
        c.RoundTripTime is { } rtt ? Math.Round(rtt.TotalMilliseconds, 3) : null,
        c.BytesSent,
        c.BytesReceived,
        c.Streams);
}

/// <summary><c>POST /v1/connections</c>: connect to an address (a multiaddr with <c>/p2p/&lt;id&gt;</c>, a <c>pinhole://</c> URI, or host:port with trust on first use).</summary>
public sealed record ConnectRequest(string Address, bool TrustOnFirstUse = false);

/// <summary><c>POST /v1/peers/{peer}/ping</c>.</summary>
public sealed record PingResponse(string PeerId, double RttMs, long ConnectionId);

/// <summary><c>POST /v1/sockets</c>: bind a UDP socket.</summary>
public sealed record CreateSocketRequest(string? Bind = null, bool Forward = true, string? ForwardTo = null);

/// <summary><c>PUT /v1/sockets/{id}/peer</c>: connect the socket to a peer over DTLS (<c>mode</c> "dial", the default), or let that peer connect to it (<c>mode</c> "wait").</summary>
public sealed record SocketPeerRequest(string PeerId, string? Address = null, string? Mode = null);

/// <summary>An API socket.</summary>
public sealed record SocketResponse(
    string Id,
    string LocalAddress,
    string? PublicAddress,
    string State,
    string? PeerId,
    string? RemoteAddress,
    string? ForwardAddress,
    DateTimeOffset CreatedAt,
    long PacketsSent,
    long PacketsReceived,
    long PacketsDropped,
    string? Error)
{
    internal static SocketResponse From(NodeSocketInfo s) => new(
        s.Id,
        s.LocalEndPoint.ToString(),
        s.PublicEndPoint?.ToString(),
        s.State.ToString().ToLowerInvariant(),
        s.Peer?.ToString(),
        s.RemoteEndPoint?.ToString(),
        s.ForwardEndPoint?.ToString(),
        s.Created,
        s.PacketsSent,
        s.PacketsReceived,
        s.PacketsDropped,
        s.Error);
}

/// <summary>One event on <c>GET /v1/events</c> (the SSE event name is <see cref="Type"/>).</summary>
public sealed record EventResponse(
    string Type,
    DateTimeOffset Time,
    string? PeerId = null,
    ConnectionResponse? Connection = null,
    ConnectionResponse? From = null,
    ConnectionResponse? To = null,
    string? Reason = null,
    SocketResponse? Socket = null,
    IReadOnlyList<ConnectionResponse>? Connections = null)
{
    internal static EventResponse Of(NodeEvent e) => e switch
    {
        PeerConnectedEvent c => new(e.Type, e.Time, c.Peer.ToString(), Connection: ConnectionResponse.From(c.Connection, e.Time)),
        PeerDisconnectedEvent d => new(e.Type, e.Time, d.Peer.ToString(), Reason: d.Reason),
        PathChangedEvent p => new(e.Type, e.Time, p.Peer.ToString(), From: ConnectionResponse.From(p.From, e.Time), To: ConnectionResponse.From(p.To, e.Time)),
        DialFailedEvent f => new(e.Type, e.Time, f.Peer.ToString(), Reason: f.Reason),
        SocketChangedEvent s => new(e.Type, e.Time, s.Socket.Peer?.ToString(), Socket: SocketResponse.From(s.Socket)),
        _ => new(e.Type, e.Time),
    };
}

/// <summary>The JSON contract of the API, source-generated (no reflection at run time).</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.Never, WriteIndented = false)]
[JsonSerializable(typeof(StatusResponse))]
[JsonSerializable(typeof(PeerResponse))]
[JsonSerializable(typeof(List<PeerResponse>))]
[JsonSerializable(typeof(AddPeerRequest))]
[JsonSerializable(typeof(UpdatePeerRequest))]
[JsonSerializable(typeof(AddAddressRequest))]
[JsonSerializable(typeof(ConnectionResponse))]
[JsonSerializable(typeof(List<ConnectionResponse>))]
[JsonSerializable(typeof(ConnectRequest))]
[JsonSerializable(typeof(PingResponse))]
[JsonSerializable(typeof(CreateSocketRequest))]
[JsonSerializable(typeof(SocketPeerRequest))]
[JsonSerializable(typeof(SocketResponse))]
[JsonSerializable(typeof(List<SocketResponse>))]
[JsonSerializable(typeof(EventResponse))]
[JsonSerializable(typeof(JoinNetworkRequest))]
[JsonSerializable(typeof(NetworkResponse))]
[JsonSerializable(typeof(List<NetworkResponse>))]
[JsonSerializable(typeof(Pinhole.Nat.NetcheckReport))]
[JsonSerializable(typeof(Microsoft.AspNetCore.Mvc.ProblemDetails))]
[JsonSerializable(typeof(Microsoft.AspNetCore.Http.HttpValidationProblemDetails))]
public sealed partial class ApiJsonContext : JsonSerializerContext
{
}

internal static class ApiText
{
    public static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
