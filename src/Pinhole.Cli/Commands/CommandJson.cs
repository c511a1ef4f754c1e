using System.Text.Json.Serialization;

namespace Pinhole.Cli.Commands;

/// <summary><c>pinhole id --json</c>.</summary>
internal sealed record IdJson(string PeerId, string Cid, string KeyType, string PublicKey);

/// <summary><c>pinhole id --ocapn --json</c>: <see cref="Locator"/> carries host and port hints only when a port is known.</summary>
internal sealed record OcapnIdJson(string Designator, string Locator, string? Host, int? Port);

/// <summary><c>pinhole listen --json</c>, printed once the node is listening.</summary>
internal sealed record ListeningJson(string Type, string PeerId, IReadOnlyList<string> Addresses, string? Ocapn);

/// <summary>One answer of <c>pinhole ping --json</c> (<c>"type": "pong"</c>).</summary>
internal sealed record PongJson(string Type, int Seq, string PeerId, double RttMs);

/// <summary>One reached Goblins peer of <c>pinhole ping --json ocapn://…</c> (<c>"type": "reached"</c>).</summary>
internal sealed record ReachedJson(string Type, int Seq, string Designator, string Protocol, string KeyAlgorithm, double ElapsedMs);

/// <summary>The last line of <c>pinhole ping --json</c> (<c>"type": "summary"</c>).</summary>
internal sealed record PingSummaryJson(string Type, int Count, double AverageMs);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(IdJson))]
[JsonSerializable(typeof(OcapnIdJson))]
[JsonSerializable(typeof(ListeningJson))]
[JsonSerializable(typeof(PongJson))]
[JsonSerializable(typeof(ReachedJson))]
[JsonSerializable(typeof(PingSummaryJson))]
internal sealed partial class CommandJsonContext : JsonSerializerContext;
