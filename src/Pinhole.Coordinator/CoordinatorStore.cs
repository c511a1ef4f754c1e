using Pinhole.Coordinator.Storage;
using Pinhole.Membership;

namespace Pinhole.Coordinator;

/// <summary>
/// Where a coordinator keeps networks, their signed records, invite redemptions, address allocations and request
/// spaces. Every record is append-only with a per-network change sequence that commits in order, so a client that
/// resumes from its cursor never misses one, whichever instance it reconnects to.
/// </summary>
/// <remarks>
/// <c>sqlite:PATH</c> (the default: embedded, WAL, one process) or <c>postgres:CONNECTION-STRING</c> (several stateless
/// coordinator instances on one database, changes fanned out with LISTEN/NOTIFY). Both apply their schema migrations
/// on open.
/// </remarks>
public abstract class CoordinatorStore : IAsyncDisposable
{
    /// <summary>
    /// Raised (on a background thread) when a change is committed by any instance: the network and its new sequence.
    /// A null network means "anything may have changed" (the listener reconnected): re-read every network.
    /// </summary>
    public event Action<NetworkId?, ulong>? ChangeNotified;

    /// <summary>Raised when a request is stored for a recipient, by any instance.</summary>
    public event Action<NetworkId, PeerId>? RequestNotified;

    /// <summary>A short description for logs (never the password).</summary>
    public abstract string Description { get; }

    /// <inheritdoc/>
    public override string ToString() => Description;

    /// <summary>True if other processes may write the same store (so changes arrive through <see cref="ChangeNotified"/>).</summary>
    public abstract bool IsShared { get; }

    /// <summary>Opens a store from its specification (<c>sqlite:PATH</c> or <c>postgres:CONNECTION-STRING</c>) and migrates its schema.</summary>
    public static async Task<CoordinatorStore> OpenAsync(string specification, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(specification);
        CoordinatorStore store;
        if (specification.StartsWith("sqlite:", StringComparison.OrdinalIgnoreCase))
        {
            store = new SqliteCoordinatorStore(specification["sqlite:".Length..]);
        }
        else if (specification.StartsWith("postgres:", StringComparison.OrdinalIgnoreCase) || specification.StartsWith("postgresql:", StringComparison.OrdinalIgnoreCase))
        {
            store = new PostgresCoordinatorStore(specification[(specification.IndexOf(':', StringComparison.Ordinal) + 1)..]);
        }
        else
        {
            throw new ArgumentException($"Unknown store '{specification.Split(':')[0]}': use sqlite:PATH or postgres:CONNECTION-STRING.", nameof(specification));
        }
        try
        {
            await store.InitializeAsync(cancellationToken).ConfigureAwait(false);
            return store;
        }
        catch
        {
            await store.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>The schema version the store is at after opening.</summary>
    public abstract int SchemaVersion { get; }

    /// <summary>Stores a new network; false if it exists already.</summary>
    public abstract Task<bool> CreateNetworkAsync(GenesisRecord genesis, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>The genesis and the last change sequence of a network, or null.</summary>
    public abstract Task<(byte[] Genesis, ulong LastSequence)?> GetNetworkAsync(NetworkId network, CancellationToken cancellationToken = default);

    /// <summary>Every network id.</summary>
    public abstract Task<IReadOnlyList<NetworkId>> ListNetworksAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Stores a checked record with the next change sequence. An endpoint replaces the peer's older endpoint (a lower
    /// version is <see cref="StoreWrite.Stale"/>); a record already stored is <see cref="StoreWrite.Duplicate"/>.
    /// </summary>
    public abstract Task<(StoreWrite Result, ulong Sequence)> AppendAsync(NetworkRecord record, CancellationToken cancellationToken = default);

    /// <summary>
    /// Stores a redemption: exactly one per invite key, decided by the database's primary key, so of any number of
    /// concurrent attempts (on any number of instances) exactly one wins. The loser learns which PeerId won.
    /// </summary>
    public abstract Task<(StoreWrite Result, ulong Sequence, PeerId? Winner)> RedeemAsync(RedemptionRecord redemption, CancellationToken cancellationToken = default);

    /// <summary>Records changed after <paramref name="after"/>, in sequence order, at most <paramref name="limit"/>.</summary>
    public abstract Task<IReadOnlyList<StoredRecord>> ReadChangesAsync(NetworkId network, ulong after, int limit, CancellationToken cancellationToken = default);

    /// <summary>The network's last change sequence (0 for none).</summary>
    public abstract Task<ulong> LastSequenceAsync(NetworkId network, CancellationToken cancellationToken = default);

    /// <summary>Allocates the next host number of a network (1, 2, ...; never handed out twice, even after revocation).</summary>
    public abstract Task<ulong> AllocateHostAsync(NetworkId network, PeerId? inviteKey, ulong maxHost, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>The invite key a host number was allocated for, if it was.</summary>
    public abstract Task<(bool Allocated, PeerId? InviteKey)> GetAllocationAsync(NetworkId network, ulong host, CancellationToken cancellationToken = default);

    /// <summary>Stores a sealed request: <see cref="StoreWrite.Full"/> when the recipient's space holds <paramref name="maxPerRecipient"/> already.</summary>
    public abstract Task<StoreWrite> PutRequestAsync(SealedRequest request, int maxPerRecipient, CancellationToken cancellationToken = default);

    /// <summary>Requests for <paramref name="recipient"/> after store cursor <paramref name="after"/>.</summary>
    public abstract Task<IReadOnlyList<StoredRequest>> GetRequestsAsync(NetworkId network, PeerId recipient, ulong after, int limit, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>How many unexpired requests wait for <paramref name="recipient"/>.</summary>
    public abstract Task<int> CountRequestsAsync(NetworkId network, PeerId recipient, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>Deletes the recipient's requests with these ids; returns how many.</summary>
    public abstract Task<int> DeleteRequestsAsync(NetworkId network, PeerId recipient, IReadOnlyList<RecordId> ids, CancellationToken cancellationToken = default);

    /// <summary>Deletes expired requests and records that can no longer matter; returns how many rows.</summary>
    public abstract Task<int> PruneAsync(DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <inheritdoc/>
    public abstract ValueTask DisposeAsync();

    private protected abstract Task InitializeAsync(CancellationToken cancellationToken);

    private protected void OnChangeNotified(NetworkId? network, ulong sequence) => ChangeNotified?.Invoke(network, sequence);

    private protected void OnRequestNotified(NetworkId network, PeerId recipient) => RequestNotified?.Invoke(network, recipient);
}

/// <summary>What a store write did.</summary>
public enum StoreWrite
{
    /// <summary>Stored with a new sequence.</summary>
    Stored = 1,
    /// <summary>Already stored; nothing written.</summary>
    Duplicate,
    /// <summary>An equal or newer version of the record is stored; nothing written.</summary>
    Stale,
    /// <summary>The invite was redeemed already (by another key).</summary>
    AlreadyRedeemed,
    /// <summary>The network does not exist.</summary>
    UnknownNetwork,
    /// <summary>The recipient's request space is full.</summary>
    Full,
}

/// <summary>A stored record and the change sequence it was written at.</summary>
/// <param name="Sequence">The change sequence.</param>
/// <param name="Kind">The record kind.</param>
/// <param name="Blob">The encoded record.</param>
public sealed record StoredRecord(ulong Sequence, RecordKind Kind, byte[] Blob);

/// <summary>A stored sealed request.</summary>
/// <param name="Cursor">Its position in the store (to continue after).</param>
/// <param name="Envelope">The signed, sealed envelope.</param>
public sealed record StoredRequest(ulong Cursor, byte[] Envelope);
