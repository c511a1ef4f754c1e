using Microsoft.Extensions.Logging;
using Pinhole.Membership.Internal;

namespace Pinhole.Membership;

public sealed partial class MembershipClient
{
    /// <summary>
    /// Starts a member of an existing network: from the verified cache when there is one (so it works at once, even
    /// with every coordinator down), else from the genesis a coordinator serves, which must hash to the network id.
    /// </summary>
    public static async Task<MembershipClient> StartAsync(MembershipClientOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var network = options.Network!;
        var now = options.TimeProvider.GetUtcNow();
        NetworkState? state = null;
        ulong cursor = 0;
        if (options.CacheDirectory is { } directory && File.Exists(CachePath(directory, network)))
        {
            var (cached, cachedCursor, dropped) = await NetworkCache.LoadAsync(CachePath(directory, network), now, options.ClockSkew, cancellationToken).ConfigureAwait(false);
            if (!cached.Network.Equals(network))
            {
                throw new MembershipException(MembershipError.WrongNetwork, $"The cache in {directory} holds {cached.Network}, not {network}.");
            }
            state = cached;
            cursor = cachedCursor;
            var logger = options.LoggerFactory.CreateLogger<MembershipClient>();
            MembershipLog.CacheLoaded(logger, cached.Count, network, dropped);
        }
        PeerConnection? connection = null;
        if (state is null)
        {
            if (options.Coordinators.Count == 0)
            {
                throw new ArgumentException($"No cache for {network} and no coordinator address to fetch it from.");
            }
            (state, connection) = await FetchNetworkAsync(options, network, [.. options.Coordinators], cancellationToken).ConfigureAwait(false);
        }
        var client = new MembershipClient(options, state!, cursor, options.Coordinators);
        client.Start(connection);
        return client;
    }

    /// <summary>
    /// Joins a network with an invite: fetches the genesis from the invite's coordinator and checks that it hashes to
    /// the invite's network id, checks the invite against the admin set, redeems it for this node's key (the
    /// coordinator lets exactly one key redeem an invite), and returns once the first subscription has caught up
    /// (or <see cref="MembershipClientOptions.OperationTimeout"/> passed; the client keeps syncing).
    /// </summary>
    public static async Task<MembershipClient> JoinAsync(InviteCode invite, MembershipClientOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(invite);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate(requireNetwork: false);
        var network = invite.Invite.Network;
        if (options.Network is not null && !options.Network.Equals(network))
        {
            throw new ArgumentException($"The invite is for {network}, not {options.Network}.");
        }
        var coordinators = options.Coordinators.Concat(invite.Invite.Coordinators).Distinct().ToList();
        var (state, connection) = await FetchNetworkAsync(options, network, coordinators, cancellationToken).ConfigureAwait(false);
        MembershipClient? client = null;
        try
        {
            var now = options.TimeProvider.GetUtcNow();
            if (invite.Invite.RedeemBy + options.ClockSkew < now)
            {
                throw new MembershipException(MembershipError.Expired, $"The invite expired at {invite.Invite.RedeemBy:u}.");
            }
            var redemption = RedemptionRecord.Create(invite.Invite, invite.Key, options.Identity!.PeerId, now);
            var check = state.Check(redemption, now);
            if (check.Status == ApplyStatus.Rejected)
            {
                // Signed by a key that is not an admin or issuer of the network the id names: a forged invite.
                throw new MembershipException(check.Error ?? MembershipError.Unauthorized, "The invite is not valid for this network: " + check.Message);
            }
            using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                timeout.CancelAfter(options.OperationTimeout);
                await new CoordinatorClient(connection).RedeemAsync(redemption, timeout.Token).ConfigureAwait(false);
            }
            state.Apply(redemption, now);
            client = new MembershipClient(options, state, 0, coordinators);
            client.Start(connection);
            connection = null;
            using (var sync = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                sync.CancelAfter(options.OperationTimeout);
                try
                {
                    await client.WaitForSyncAsync(sync.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    // Redeemed: the client is a member by its own check and keeps trying to sync.
                }
            }
            await client.SaveCacheAsync(cancellationToken).ConfigureAwait(false);
            return client;
        }
        catch
        {
            if (connection is not null)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
            if (client is not null)
            {
                await client.DisposeAsync().ConfigureAwait(false);
            }
            throw;
        }
    }

    /// <summary>Starts a client from a state already verified in this process (simulations and tests of many members).</summary>
    internal static MembershipClient StartFrom(MembershipClientOptions options, NetworkState state, ulong cursor = 0)
    {
        options.Validate(requireNetwork: false);
        var client = new MembershipClient(options, state, cursor, options.Coordinators);
        client.Start(null);
        return client;
    }

    // Asks the coordinators in turn for the network's genesis and admin chain; the genesis must hash to the id.
    private static async Task<(NetworkState State, PeerConnection Connection)> FetchNetworkAsync(MembershipClientOptions options, NetworkId network, IReadOnlyList<Multiaddr> coordinators, CancellationToken cancellationToken)
    {
        Exception? last = null;
        foreach (var address in coordinators)
        {
            PeerConnection? connection = null;
            try
            {
                connection = await ConnectAsync(options, address, cancellationToken).ConfigureAwait(false);
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(options.OperationTimeout);
                var (chain, _, _) = await new CoordinatorClient(connection).GetNetworkAsync(network, timeout.Token).ConfigureAwait(false);
                if (chain.Count == 0 || chain[0] is not GenesisRecord genesis || !genesis.Network.Equals(network))
                {
                    throw new MembershipException(MembershipError.WrongNetwork, $"Coordinator {connection.RemotePeer} served a genesis that does not hash to {network}.");
                }
                var state = new NetworkState(genesis, options.ClockSkew);
                var now = options.TimeProvider.GetUtcNow();
                foreach (var link in chain.Skip(1))
                {
                    state.Apply(link, now);
                }
                return (state, connection);
            }
            catch (Exception e) when (e is PeerException or IOException or FormatException)
            {
                last = e;
                if (connection is not null)
                {
                    await connection.DisposeAsync().ConfigureAwait(false);
                }
                if (e is MembershipException { Reason: MembershipError.WrongNetwork })
                {
                    continue;
                }
            }
        }
        throw last as PeerException ?? new PeerException(PeerError.Unreachable, $"No coordinator of {network} answered: {last?.Message}", last);
    }
}
