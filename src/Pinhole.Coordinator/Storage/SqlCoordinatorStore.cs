using System.Data.Common;
using Pinhole.Membership;

namespace Pinhole.Coordinator.Storage;

/// <summary>
/// The SQL both stores share (parameters are <c>@name</c> in both providers). Every write runs in one transaction that
/// starts by bumping the network's <c>last_seq</c>: that row lock serializes a network's writers, so sequences commit
/// in order and a reader of <c>seq &gt; cursor</c> never sees a gap that fills in later.
/// </summary>
internal abstract partial class SqlCoordinatorStore : CoordinatorStore
{
    private int _schemaVersion;

    public override int SchemaVersion => _schemaVersion;

    protected abstract IReadOnlyList<(int Version, string Sql)> MigrationScripts { get; }

    protected abstract ValueTask<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Begins a write transaction (SQLite: waits for the single writer slot, BEGIN IMMEDIATE). If it throws, it has
    /// released what it took; if it returns, the caller calls <see cref="EndWrite"/> once.
    /// </summary>
    protected abstract ValueTask<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken cancellationToken);

    /// <summary>Releases what <see cref="BeginWriteAsync"/> took beyond the transaction.</summary>
    protected virtual void EndWrite()
    {
    }

    protected abstract bool IsUniqueViolation(Exception exception);

    /// <summary>Tells other instances about a committed change (sent at commit, or not at all on rollback).</summary>
    protected virtual Task NotifyChangeAsync(DbConnection connection, DbTransaction transaction, NetworkId network, ulong sequence, CancellationToken cancellationToken) => Task.CompletedTask;

    protected virtual Task NotifyRequestAsync(DbConnection connection, DbTransaction transaction, NetworkId network, PeerId recipient, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Takes the lock that keeps two instances from migrating at once.</summary>
    protected abstract Task LockMigrationsAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken);

    private protected override async Task InitializeAsync(CancellationToken cancellationToken)
    {
        var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionScope = connection.ConfigureAwait(false);
        var transaction = await BeginWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        await using var transactionScope = transaction.ConfigureAwait(false);
        try
        {
            await LockMigrationsAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
            await ExecuteAsync(connection, transaction, "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)", cancellationToken).ConfigureAwait(false);
            var current = Convert.ToInt32(await ScalarAsync(connection, transaction, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", cancellationToken).ConfigureAwait(false) ?? 0, System.Globalization.CultureInfo.InvariantCulture);
            var latest = MigrationScripts[^1].Version;
            if (current > latest)
            {
                throw new InvalidOperationException($"The store's schema is at version {current}, newer than this coordinator knows ({latest}): upgrade the coordinator.");
            }
            foreach (var (version, sql) in MigrationScripts.Where(m => m.Version > current))
            {
                await ExecuteAsync(connection, transaction, sql, cancellationToken).ConfigureAwait(false);
                await ExecuteAsync(connection, transaction, "INSERT INTO schema_migrations (version, applied_at) VALUES (@v, @at)", cancellationToken,
                    ("v", version), ("at", DateTimeOffset.UtcNow.ToUnixTimeSeconds())).ConfigureAwait(false);
            }
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            _schemaVersion = latest;
        }
        finally
        {
            EndWrite();
        }
    }

    public override async Task<bool> CreateNetworkAsync(GenesisRecord genesis, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(genesis);
        return await WriteAsync(async (c, t) =>
        {
            var exists = await ScalarAsync(c, t, "SELECT 1 FROM networks WHERE id = @id", cancellationToken, ("id", genesis.Network.Bytes.ToArray())).ConfigureAwait(false);
            if (exists is not null)
            {
                return (false, false);
            }
            await ExecuteAsync(c, t, "INSERT INTO networks (id, genesis, name, created_at) VALUES (@id, @g, @name, @at)", cancellationToken,
                ("id", genesis.Network.Bytes.ToArray()), ("g", genesis.Encoded.ToArray()), ("name", genesis.Name), ("at", now.ToUnixTimeSeconds())).ConfigureAwait(false);
            return (true, true);
        }, cancellationToken).ConfigureAwait(false);
    }

    public override async Task<(byte[] Genesis, ulong LastSequence)?> GetNetworkAsync(NetworkId network, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(network);
        var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionScope = connection.ConfigureAwait(false);
        var command = Command(connection, null, "SELECT genesis, last_seq FROM networks WHERE id = @id", ("id", network.Bytes.ToArray()));
        await using var commandScope = command.ConfigureAwait(false);
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerScope = reader.ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            return null;
        }
        return ((byte[])reader.GetValue(0), (ulong)reader.GetInt64(1));
    }

    public override async Task<IReadOnlyList<NetworkId>> ListNetworksAsync(CancellationToken cancellationToken = default)
    {
        var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionScope = connection.ConfigureAwait(false);
        var command = Command(connection, null, "SELECT id FROM networks ORDER BY created_at, id");
        await using var commandScope = command.ConfigureAwait(false);
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerScope = reader.ConfigureAwait(false);
        var ids = new List<NetworkId>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            ids.Add(NetworkId.FromBytes((byte[])reader.GetValue(0)));
        }
        return ids;
    }

    public override async Task<(StoreWrite Result, ulong Sequence)> AppendAsync(NetworkRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        var net = record.Network.Bytes.ToArray();
        var id = record.Id.Memory.ToArray();
        try
        {
            return await WriteAsync<(StoreWrite, ulong)>(async (c, t) =>
            {
                var seq = await NextSequenceAsync(c, t, net, cancellationToken).ConfigureAwait(false);
                if (seq is null)
                {
                    return ((StoreWrite.UnknownNetwork, 0), false);
                }
                if (await ScalarAsync(c, t, "SELECT 1 FROM records WHERE net = @net AND id = @id", cancellationToken, ("net", net), ("id", id)).ConfigureAwait(false) is not null)
                {
                    return ((StoreWrite.Duplicate, 0), false);
                }
                if (record.Kind == RecordKind.Endpoint)
                {
                    var held = await ScalarAsync(c, t, "SELECT version FROM records WHERE net = @net AND kind = 6 AND subject = @s", cancellationToken,
                        ("net", net), ("s", record.Subject.ToArray())).ConfigureAwait(false);
                    if (held is not null && (ulong)Convert.ToInt64(held, System.Globalization.CultureInfo.InvariantCulture) >= record.Version)
                    {
                        return ((StoreWrite.Stale, 0), false);
                    }
                    await ExecuteAsync(c, t, "DELETE FROM records WHERE net = @net AND kind = 6 AND subject = @s", cancellationToken,
                        ("net", net), ("s", record.Subject.ToArray())).ConfigureAwait(false);
                }
                await InsertRecordAsync(c, t, record, seq.Value, cancellationToken).ConfigureAwait(false);
                await NotifyChangeAsync(c, t, record.Network, seq.Value, cancellationToken).ConfigureAwait(false);
                return ((StoreWrite.Stored, seq.Value), true);
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (DbException e) when (IsUniqueViolation(e))
        {
            // Another writer stored the same record between our check and insert (only possible across databases' isolation quirks).
            return (StoreWrite.Duplicate, 0);
        }
    }

    public override async Task<(StoreWrite Result, ulong Sequence, PeerId? Winner)> RedeemAsync(RedemptionRecord redemption, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(redemption);
        var net = redemption.Network.Bytes.ToArray();
        var inviteKey = redemption.Invite.KeyId.Multihash.ToArray();
        try
        {
            return await WriteAsync<(StoreWrite, ulong, PeerId?)>(async (c, t) =>
            {
                if (await ScalarAsync(c, t, "SELECT 1 FROM networks WHERE id = @net", cancellationToken, ("net", net)).ConfigureAwait(false) is null)
                {
                    return ((StoreWrite.UnknownNetwork, 0, null), false);
                }
                // The primary key (net, invite_key) decides the single winner among concurrent redemptions.
                await ExecuteAsync(c, t, "INSERT INTO redemptions (net, invite_key, peer, redeemed_at) VALUES (@net, @k, @p, @at)", cancellationToken,
                    ("net", net), ("k", inviteKey), ("p", redemption.Peer.Multihash.ToArray()), ("at", redemption.RedeemedAt.ToUnixTimeSeconds())).ConfigureAwait(false);
                var seq = await NextSequenceAsync(c, t, net, cancellationToken).ConfigureAwait(false);
                await InsertRecordAsync(c, t, redemption, seq!.Value, cancellationToken).ConfigureAwait(false);
                await NotifyChangeAsync(c, t, redemption.Network, seq.Value, cancellationToken).ConfigureAwait(false);
                return ((StoreWrite.Stored, seq.Value, redemption.Peer), true);
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (DbException e) when (IsUniqueViolation(e))
        {
            var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using var connectionScope = connection.ConfigureAwait(false);
            var winner = await ScalarAsync(connection, null, "SELECT peer FROM redemptions WHERE net = @net AND invite_key = @k", cancellationToken, ("net", net), ("k", inviteKey)).ConfigureAwait(false);
            return (StoreWrite.AlreadyRedeemed, 0, winner is byte[] bytes ? PeerId.FromMultihash(bytes) : null);
        }
    }

    public override async Task<IReadOnlyList<StoredRecord>> ReadChangesAsync(NetworkId network, ulong after, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(network);
        var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionScope = connection.ConfigureAwait(false);
        var command = Command(connection, null, "SELECT seq, kind, blob FROM records WHERE net = @net AND seq > @after ORDER BY seq LIMIT @limit",
            ("net", network.Bytes.ToArray()), ("after", (long)after), ("limit", limit));
        await using var commandScope = command.ConfigureAwait(false);
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerScope = reader.ConfigureAwait(false);
        var records = new List<StoredRecord>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            records.Add(new StoredRecord((ulong)reader.GetInt64(0), (RecordKind)reader.GetInt32(1), (byte[])reader.GetValue(2)));
        }
        return records;
    }

    public override async Task<ulong> LastSequenceAsync(NetworkId network, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(network);
        var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionScope = connection.ConfigureAwait(false);
        var value = await ScalarAsync(connection, null, "SELECT last_seq FROM networks WHERE id = @id", cancellationToken, ("id", network.Bytes.ToArray())).ConfigureAwait(false);
        return value is null ? 0 : (ulong)Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture);
    }

    public override async Task<ulong> AllocateHostAsync(NetworkId network, PeerId? inviteKey, ulong maxHost, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(network);
        var net = network.Bytes.ToArray();
        return await WriteAsync<ulong>(async (c, t) =>
        {
            var next = await ScalarAsync(c, t, "UPDATE networks SET next_host = next_host + 1 WHERE id = @net RETURNING next_host", cancellationToken, ("net", net)).ConfigureAwait(false)
                ?? throw new MembershipException(MembershipError.Unknown, $"Network {network} is not known here.");
            var host = (ulong)Convert.ToInt64(next, System.Globalization.CultureInfo.InvariantCulture);
            if (host > maxHost)
            {
                throw new MembershipException(MembershipError.AddressesExhausted, $"Network {network} has used all {maxHost} host addresses of its prefix.");
            }
            await ExecuteAsync(c, t, "INSERT INTO allocations (net, host, invite_key, allocated_at) VALUES (@net, @h, @k, @at)", cancellationToken,
                ("net", net), ("h", (long)host), ("k", inviteKey?.Multihash.ToArray()), ("at", now.ToUnixTimeSeconds())).ConfigureAwait(false);
            return (host, true);
        }, cancellationToken).ConfigureAwait(false);
    }

    public override async Task<(bool Allocated, PeerId? InviteKey)> GetAllocationAsync(NetworkId network, ulong host, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(network);
        var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionScope = connection.ConfigureAwait(false);
        var command = Command(connection, null, "SELECT invite_key FROM allocations WHERE net = @net AND host = @h", ("net", network.Bytes.ToArray()), ("h", (long)host));
        await using var commandScope = command.ConfigureAwait(false);
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerScope = reader.ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            return (false, null);
        }
        return (true, reader.IsDBNull(0) ? null : PeerId.FromMultihash((byte[])reader.GetValue(0)));
    }

    public override async Task<int> PruneAsync(DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        return await WriteAsync(async (c, t) =>
        {
            var seconds = now.ToUnixTimeSeconds();
            var requests = await ExecuteAsync(c, t, "DELETE FROM requests WHERE expires < @now", cancellationToken, ("now", seconds)).ConfigureAwait(false);
            var records = await ExecuteAsync(c, t, "DELETE FROM records WHERE obsolete IS NOT NULL AND obsolete < @now", cancellationToken, ("now", seconds)).ConfigureAwait(false);
            return (requests + records, true);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Runs <paramref name="body"/> in a write transaction; it returns its result and whether to commit.</summary>
    protected async Task<T> WriteAsync<T>(Func<DbConnection, DbTransaction, Task<(T Result, bool Commit)>> body, CancellationToken cancellationToken)
    {
        var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionScope = connection.ConfigureAwait(false);
        var transaction = await BeginWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        try
        {
            await using (transaction.ConfigureAwait(false))
            {
                var (result, commit) = await body(connection, transaction).ConfigureAwait(false);
                if (commit)
                {
                    await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
                }
                return result;
            }
        }
        finally
        {
            EndWrite();
        }
    }

    private static async Task<ulong?> NextSequenceAsync(DbConnection connection, DbTransaction transaction, byte[] net, CancellationToken cancellationToken)
    {
        var value = await ScalarAsync(connection, transaction, "UPDATE networks SET last_seq = last_seq + 1 WHERE id = @net RETURNING last_seq", cancellationToken, ("net", net)).ConfigureAwait(false);
        return value is null ? null : (ulong)Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture);
    }

    private static Task<int> InsertRecordAsync(DbConnection connection, DbTransaction transaction, NetworkRecord record, ulong seq, CancellationToken cancellationToken) =>
        ExecuteAsync(connection, transaction, "INSERT INTO records (net, id, kind, subject, version, seq, obsolete, blob) VALUES (@net, @id, @kind, @s, @v, @seq, @o, @blob)", cancellationToken,
            ("net", record.Network.Bytes.ToArray()), ("id", record.Id.Memory.ToArray()), ("kind", (int)record.Kind), ("s", record.Subject.ToArray()),
            ("v", (long)record.Version), ("seq", (long)seq), ("o", record.Obsolete?.ToUnixTimeSeconds()), ("blob", record.Encoded.ToArray()));

    protected static DbCommand Command(DbConnection connection, DbTransaction? transaction, string sql, params (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
#pragma warning disable CA2100 // The SQL is constant text of this class; values go through parameters.
        command.CommandText = sql;
#pragma warning restore CA2100
        command.Transaction = transaction;
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value ?? DBNull.Value;
            command.Parameters.Add(parameter);
        }
        return command;
    }

    protected static async Task<int> ExecuteAsync(DbConnection connection, DbTransaction? transaction, string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        var command = Command(connection, transaction, sql, parameters);
        await using var commandScope = command.ConfigureAwait(false);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    protected static async Task<object?> ScalarAsync(DbConnection connection, DbTransaction? transaction, string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        var command = Command(connection, transaction, sql, parameters);
        await using var commandScope = command.ConfigureAwait(false);
        var value = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        return value is DBNull ? null : value;
    }
}
