using System.Text.Json;
using System.Text.Json.Serialization;
using Pinhole.Coordinator;
using Pinhole.Membership;

namespace Pinhole.Cli.Commands.Networks;

/// <summary>What the admin CLI remembers of a network it administers: its genesis (the trust root, base64 <c>RecordBlob</c>) and where its coordinator's admin API is; never a key.</summary>
internal sealed record AdminNetworkFile(string Network, string AdminApi, string Coordinator, string Genesis);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, WriteIndented = true)]
[JsonSerializable(typeof(AdminNetworkFile))]
internal sealed partial class NetworkCliJsonContext : JsonSerializerContext;

/// <summary>Shared plumbing of <c>pinhole coordinator</c>, <c>pinhole network ...</c> and <c>pinhole join</c>.</summary>
internal static class NetworkCli
{
    /// <summary>Where a node keeps the verified caches of the networks it joined (the daemon follows each).</summary>
    public static string CacheDirectory(string home) => Path.Combine(home, "networks");

    /// <summary>
    /// Follows every network <c>pinhole join</c> left in the home (from its verified cache; the coordinators it names
    /// are tried in turn), and lets the daemon join and leave networks while it runs (<c>/v1/networks</c>).
    /// </summary>
    public static Node.PinholeNodeBuilder AddCachedNetworks(Node.PinholeNodeBuilder builder, string home)
    {
        Node.PinholeNodeNetworkExtensions.AddNetworks(builder);
        foreach (var network in Node.PinholeNodeNetworkExtensions.FindCachedNetworks(CacheDirectory(home)))
        {
            Node.PinholeNodeNetworkExtensions.AddNetwork(builder, new Node.NetworkMembershipOptions { Network = network, CacheDirectory = CacheDirectory(home) });
        }
        return builder;
    }

    /// <summary>Creates a directory only its owner can read (caches and admin files say who is in which network).</summary>
    public static void CreatePrivateDirectory(string path)
    {
        Directory.CreateDirectory(path);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    private static string AdminDirectory(string home) => Path.Combine(home, "admin");

    public static async Task SaveAdminAsync(string home, AdminNetworkFile file, CancellationToken cancellationToken)
    {
        CreatePrivateDirectory(AdminDirectory(home));
        await File.WriteAllTextAsync(Path.Combine(AdminDirectory(home), file.Network + ".json"),
            JsonSerializer.Serialize(file, NetworkCliJsonContext.Default.AdminNetworkFile), cancellationToken).ConfigureAwait(false);
    }

    public static async Task<AdminNetworkFile> LoadAdminAsync(string home, NetworkId network, CancellationToken cancellationToken)
    {
        var path = Path.Combine(AdminDirectory(home), network + ".json");
        if (!File.Exists(path))
        {
            throw new MembershipException(MembershipError.Unknown, $"This home administers no network {network} (no {path}); create it with 'pinhole network create'.");
        }
        return JsonSerializer.Deserialize(await File.ReadAllTextAsync(path, cancellationToken).ConfigureAwait(false), NetworkCliJsonContext.Default.AdminNetworkFile)
            ?? throw new FormatException($"{path} is empty.");
    }

    public static CoordinatorAdminClient AdminClient(AdminNetworkFile file, NodeIdentity identity) =>
        new(new Uri(file.AdminApi), PeerId.Parse(file.Coordinator), identity);

    /// <summary>
    /// The network as the admin checks it: the genesis must hash to the id, then every record the coordinator
    /// returns is verified and applied like a node does. The coordinator's own answers are never taken on trust.
    /// </summary>
    public static async Task<NetworkState> VerifiedStateAsync(CoordinatorAdminClient client, AdminNetworkFile file, CancellationToken cancellationToken)
    {
        var network = NetworkId.Parse(file.Network);
        // The root is the genesis this admin signed and kept, checked against the id: never one the coordinator serves.
        var genesis = NetworkRecord.Decode(Convert.FromBase64String(file.Genesis)) as GenesisRecord;
        if (genesis is null || !genesis.Network.Equals(network))
        {
            throw new MembershipException(MembershipError.WrongNetwork, $"The admin file of {network} holds no genesis that hashes to it.");
        }
        var (records, undecodable) = await client.GetRecordsAsync(network, cancellationToken).ConfigureAwait(false);
        var state = new NetworkState(genesis);
        var now = DateTimeOffset.UtcNow;
        var refused = 0;
        foreach (var record in NetworkState.InApplyOrder(records.Where(r => r is not GenesisRecord)))
        {
            if (state.Apply(record, now).Status == ApplyStatus.Rejected)
            {
                refused++;
            }
        }
        if (undecodable + refused > 0)
        {
            Output.CliOutput.Note($"{undecodable + refused} record(s) from the coordinator failed verification and were ignored.");
        }
        return state;
    }

    /// <summary>Runs a command, mapping a coordinator's or a record check's refusal to a documented exit code.</summary>
    public static Task<int> RunAsync(Func<CancellationToken, Task<int>> body, CancellationToken cancellationToken) =>
        CommandRunner.RunAsync(async token =>
        {
            try
            {
                return await body(token).ConfigureAwait(false);
            }
            catch (MembershipException e)
            {
                return CommandRunner.Fail($"{e.Message} ({e.Reason})", e.Reason switch
                {
                    MembershipError.Unknown => ExitCodes.NotFound,
                    MembershipError.Unauthorized or MembershipError.Forbidden or MembershipError.Revoked or MembershipError.ThresholdNotMet
                        or MembershipError.AlreadyRedeemed or MembershipError.Expired => ExitCodes.NotPermitted,
                    _ => ExitCodes.Failure,
                });
            }
        }, cancellationToken);
}
