using System.Text.Json;
using System.Text.Json.Serialization;

namespace Pinhole.Coordinator;

/// <summary>Encoded records (base64 of <c>RecordBlob</c>, see docs/coordinator.md).</summary>
/// <param name="Records">The records.</param>
public sealed record RecordsBody(IReadOnlyList<string> Records);

/// <summary>A network as the coordinator holds it.</summary>
/// <param name="Network">The network id (<c>pn…</c>).</param>
/// <param name="Name">The genesis name.</param>
/// <param name="Epoch">The admin chain's epoch.</param>
/// <param name="Admins">Admin PeerIds.</param>
/// <param name="Threshold">Admin signatures needed for a change.</param>
/// <param name="Issuers">Issuer PeerIds.</param>
/// <param name="Ipv4Prefix">The IPv4 prefix, if any.</param>
/// <param name="Ipv6Prefix">The IPv6 prefix, if any.</param>
/// <param name="LastSequence">The last change sequence.</param>
/// <param name="Members">How many members are valid now (by the coordinator's check).</param>
/// <param name="Coordinator">The coordinator's PeerId.</param>
/// <param name="Addresses">The coordinator's libp2p addresses.</param>
public sealed record NetworkInfo(string Network, string Name, ulong Epoch, IReadOnlyList<string> Admins, int Threshold, IReadOnlyList<string> Issuers,
    string? Ipv4Prefix, string? Ipv6Prefix, ulong LastSequence, int Members, string Coordinator, IReadOnlyList<string> Addresses);

/// <summary>What happened to one written record.</summary>
/// <param name="Id">The record id (hex).</param>
/// <param name="Kind">The record kind.</param>
/// <param name="Status"><c>stored</c>, <c>duplicate</c> or <c>refused</c>.</param>
/// <param name="Reason">For a refused record: the <c>MembershipError</c>.</param>
/// <param name="Message">For a refused record: why.</param>
/// <param name="Sequence">The change sequence it was stored at.</param>
public sealed record WriteResult(string Id, string Kind, string Status, string? Reason, string? Message, ulong Sequence);

/// <summary>The outcome of a write.</summary>
/// <param name="Results">One per record, in order.</param>
public sealed record WriteResponse(IReadOnlyList<WriteResult> Results);

/// <summary>A stored record.</summary>
/// <param name="Sequence">Its change sequence.</param>
/// <param name="Kind">Its kind.</param>
/// <param name="Record">base64 <c>RecordBlob</c>.</param>
public sealed record StoredRecordInfo(ulong Sequence, string Kind, string Record);

/// <summary>A page of records.</summary>
/// <param name="Records">The records after the requested cursor.</param>
/// <param name="Cursor">The cursor to continue after.</param>
/// <param name="More">True if more records follow.</param>
public sealed record RecordsPage(IReadOnlyList<StoredRecordInfo> Records, ulong Cursor, bool More);

/// <summary>A member, by the coordinator's own check (informational: tools and nodes check the records themselves).</summary>
/// <param name="PeerId">The member.</param>
/// <param name="Ipv4">Virtual IPv4 address.</param>
/// <param name="Ipv6">Virtual IPv6 address.</param>
/// <param name="Groups">Groups.</param>
/// <param name="NotAfter">End of validity.</param>
/// <param name="Provisional">Admitted by a redeemed invite.</param>
/// <param name="Addresses">Announced addresses.</param>
/// <param name="NatType">Announced NAT type.</param>
public sealed record MemberInfo(string PeerId, string? Ipv4, string? Ipv6, IReadOnlyList<string> Groups, DateTimeOffset NotAfter, bool Provisional,
    IReadOnlyList<string> Addresses, string NatType);

/// <summary>Asks for the next host addresses of a network.</summary>
/// <param name="InviteKey">The PeerId of the invite key the addresses are for (recorded, checked at redemption).</param>
public sealed record AllocationRequest(string? InviteKey);

/// <summary>Addresses allocated once, never again.</summary>
/// <param name="Host">The host number.</param>
/// <param name="Ipv4">The IPv4 address, if the network has an IPv4 prefix.</param>
/// <param name="Ipv6">The IPv6 address, if the network has an IPv6 prefix.</param>
public sealed record AllocationResponse(ulong Host, string? Ipv4, string? Ipv6);

/// <summary>Health.</summary>
/// <param name="Status"><c>ok</c>.</param>
/// <param name="PeerId">The coordinator's PeerId.</param>
/// <param name="Caller">The caller's PeerId as its TLS certificate proves it.</param>
/// <param name="Store">The store's description.</param>
/// <param name="Connections">Live libp2p connections.</param>
/// <param name="Subscribers">Live change subscriptions.</param>
public sealed record HealthInfo(string Status, string PeerId, string Caller, string Store, int Connections, int Subscribers);

/// <summary>JSON metadata for the admin API's types (source-generated).</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(RecordsBody))]
[JsonSerializable(typeof(NetworkInfo))]
[JsonSerializable(typeof(WriteResponse))]
[JsonSerializable(typeof(RecordsPage))]
[JsonSerializable(typeof(IReadOnlyList<MemberInfo>))]
[JsonSerializable(typeof(AllocationRequest))]
[JsonSerializable(typeof(AllocationResponse))]
[JsonSerializable(typeof(HealthInfo))]
[JsonSerializable(typeof(Microsoft.AspNetCore.Mvc.ProblemDetails))]
public sealed partial class AdminApiJsonContext : JsonSerializerContext;
