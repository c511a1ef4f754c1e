using System.Globalization;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Pinhole.Node;

/// <summary>
/// The node's peers and their addresses, in SQLite (WAL journal, one writer at a time, crash-safe: a
/// transaction is either wholly on disk or not at all). Several stores, in one process or several, may use
/// the same file. Calls are synchronous and short; each write is one transaction. Schema: docs/node.md.
/// </summary>
public sealed partial class PeerStore : IDisposable
{
    /// <summary>Longest alias.</summary>
    public const int MaxAliasLength = 64;

    // Multiaddr protocol code of /p2p.
    private const int P2pCode = 0x01a5;

    private readonly SqliteConnection _connection;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    // Prepared statements by SQL text, reused under _lock: preparing (parsing and planning) cost more than running
    // most of these statements. The texts are the constants below, so the set is small and fixed.
    private readonly Dictionary<string, SqliteCommand> _statements = new(StringComparer.Ordinal);
    private bool _disposed;

    private PeerStore(SqliteConnection connection, string? path, PeerStoreOptions options)
    {
        _connection = connection;
        _time = options.TimeProvider;
        _logger = options.LoggerFactory.CreateLogger<PeerStore>();
        Path = path;
        Options = options;
    }

    /// <summary>The database file, or null for an in-memory store.</summary>
    public string? Path { get; }

    /// <summary>The limits in force.</summary>
    public PeerStoreOptions Options { get; }

    /// <summary>
    /// Opens (creating if absent) the store at <paramref name="path"/>, or an in-memory store when it is null,
    /// and migrates it to <see cref="CurrentSchemaVersion"/>. Throws <see cref="PeerStoreException"/> for a
    /// file of another program or of a newer schema.
    /// </summary>
    public static PeerStore Open(string? path, PeerStoreOptions? options = null)
    {
        options ??= new PeerStoreOptions();
        options.Validate();
        return Open(path, options, CurrentSchemaVersion);
    }

    /// <summary>Opens and migrates only up to <paramref name="targetVersion"/> (tests of the migrations).</summary>
    internal static PeerStore Open(string? path, PeerStoreOptions options, int targetVersion)
    {
        if (path is not null)
        {
            path = System.IO.Path.GetFullPath(path);
            var directory = System.IO.Path.GetDirectoryName(path);
            if (!string.IsNullOrEmpty(directory))
            {
                Directory.CreateDirectory(directory);
            }
        }
        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = path ?? ":memory:",
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
            ForeignKeys = true,
            DefaultTimeout = (int)Math.Ceiling(options.BusyTimeout.TotalSeconds),
        };
        var connection = new SqliteConnection(builder.ToString());
        try
        {
            connection.Open();
            // WAL: readers never block the writer and a killed process leaves a consistent file; NORMAL sync
            // loses nothing on a process crash (the OS has the WAL) and at worst the last commits on power loss.
            Execute(connection, null, string.Create(CultureInfo.InvariantCulture,
                $"PRAGMA busy_timeout = {(long)options.BusyTimeout.TotalMilliseconds}; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"));
            Migrate(connection, targetVersion);
        }
        catch (SqliteException e)
        {
            connection.Dispose();
            throw new PeerStoreException($"Cannot open the peer store {path ?? ":memory:"}: {e.Message}", e);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
        return new PeerStore(connection, path, options);
    }

    /// <summary>The schema version of the open file.</summary>
    public int SchemaVersion => (int)Read(c => Scalar(c, null, "PRAGMA user_version;"));

    /// <summary>Changes when another connection (store) commits to the file (SQLite's data_version): tests see with it whether a call wrote.</summary>
    internal long DataVersion => Read(c => Scalar(c, null, "PRAGMA data_version;"));

    /// <summary>Number of known peers.</summary>
    public int Count => (int)Read(c => Scalar(c, null, "SELECT count(*) FROM peers;"));

    /// <summary>The peer, or null if unknown.</summary>
    public KnownPeer? Get(PeerId peer)
    {
        ArgumentNullException.ThrowIfNull(peer);
        return Read(c => Load(c, null, "WHERE peer_id = $id", ("$id", peer.ToString())).FirstOrDefault());
    }

    /// <summary>The peer named by an alias or a PeerId text, or null.</summary>
    public KnownPeer? Find(string aliasOrPeerId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(aliasOrPeerId);
        if (PeerId.TryParse(aliasOrPeerId, out var id))
        {
            return Get(id);
        }
        return Read(c => Load(c, null, "WHERE alias = $alias", ("$alias", aliasOrPeerId)).FirstOrDefault());
    }

    /// <summary>Every known peer, pinned first, then by alias and PeerId.</summary>
    public IReadOnlyList<KnownPeer> List() => Read(c => Load(c, null, ""));

    /// <summary>The peers the connection manager keeps connected.</summary>
    public IReadOnlyList<PeerId> KeepConnectedPeers() => Read(c =>
    {
        using var command = c.CreateCommand();
        command.CommandText = "SELECT peer_id FROM peers WHERE keep_connected = 1 ORDER BY peer_id;";
        using var reader = command.ExecuteReader();
        var result = new List<PeerId>();
        while (reader.Read())
        {
            result.Add(PeerId.Parse(reader.GetString(0)));
        }
        return result;
    });

    /// <summary>
    /// Adds or updates a peer that a person or the configuration named: it becomes <see cref="PeerTrust.Pinned"/>;
    /// the alias and keep-connected flag change only when given; addresses are added as
    /// <see cref="AddressSource.Configured"/>. Throws <see cref="PeerStoreException"/> if the alias belongs to another peer.
    /// </summary>
    public KnownPeer Add(PeerId peer, string? alias = null, bool? keepConnected = null, IEnumerable<Multiaddr>? addresses = null)
    {
        ArgumentNullException.ThrowIfNull(peer);
        ValidateAlias(alias);
        var normalized = (addresses ?? []).Select(a => Normalize(peer, a)).ToList();
        // A connect by address repeats the same Add each time: answer from a read when it would change nothing.
        if (Read(c => Load(c, null, "WHERE peer_id = $id", ("$id", peer.ToString())).FirstOrDefault()) is { } known
            && known.Trust == PeerTrust.Pinned
            && (alias is null || (alias.Length == 0 ? known.Alias is null : alias == known.Alias))
            && (keepConnected is null || keepConnected == known.KeepConnected)
            && normalized.All(a => known.Addresses.Any(k => k.Source == AddressSource.Configured && k.Address.Equals(a))))
        {
            return known;
        }
        return Write(peer, (c, t, now) =>
        {
            EnsurePeer(c, t, peer, PeerTrust.Pinned, now);
            Execute(c, t, "UPDATE peers SET trust = 'pinned' WHERE peer_id = $id;", ("$id", peer.ToString()));
            if (alias is not null)
            {
                SetAlias(c, t, peer, alias);
            }
            if (keepConnected is { } keep)
            {
                Execute(c, t, "UPDATE peers SET keep_connected = $keep WHERE peer_id = $id;", ("$id", peer.ToString()), ("$keep", keep ? 1 : 0));
            }
            foreach (var address in normalized)
            {
                UpsertAddress(c, t, peer, address, AddressSource.Configured, now);
            }
            return Load(c, t, "WHERE peer_id = $id", ("$id", peer.ToString())).Single();
        });
    }

    /// <summary>Applies <paramref name="update"/>; returns the peer, or null if it is unknown.</summary>
    public KnownPeer? Update(PeerId peer, PeerUpdate update)
    {
        ArgumentNullException.ThrowIfNull(peer);
        ArgumentNullException.ThrowIfNull(update);
        if (update.Alias is { Length: > 0 } alias)
        {
            ValidateAlias(alias);
        }
        return Write(peer, (c, t, _) =>
        {
            var id = ("$id", (object)peer.ToString());
            if (Scalar(c, t, "SELECT count(*) FROM peers WHERE peer_id = $id;", id) == 0)
            {
                return null;
            }
            if (update.Alias is not null)
            {
                SetAlias(c, t, peer, update.Alias);
            }
            if (update.Pinned is { } pinned)
            {
                Execute(c, t, pinned
                    ? "UPDATE peers SET trust = 'pinned' WHERE peer_id = $id;"
                    : "UPDATE peers SET trust = 'seen' WHERE peer_id = $id AND trust = 'pinned';", id);
            }
            if (update.KeepConnected is { } keep)
            {
                Execute(c, t, "UPDATE peers SET keep_connected = $keep WHERE peer_id = $id;", id, ("$keep", keep ? 1 : 0));
            }
            return Load(c, t, "WHERE peer_id = $id", id).Single();
        });
    }

    /// <summary>Forgets a peer and its addresses. False if it was unknown.</summary>
    public bool Remove(PeerId peer)
    {
        ArgumentNullException.ThrowIfNull(peer);
        return Write(peer, (c, t, _) => Execute(c, t, "DELETE FROM peers WHERE peer_id = $id;", ("$id", peer.ToString())) > 0);
    }

    /// <summary>
    /// Adds an address (the peer is created as <see cref="PeerTrust.Seen"/> if unknown). An address already
    /// stored keeps the more authoritative source (configured, coordinator, identify, observed). At most
    /// <see cref="PeerStoreOptions.MaxAddressesPerPeer"/> are kept: the least useful non-configured one goes.
    /// </summary>
    public void AddAddress(PeerId peer, Multiaddr address, AddressSource source)
    {
        ArgumentNullException.ThrowIfNull(peer);
        var normalized = Normalize(peer, address);
        Write(peer, (c, t, now) =>
        {
            EnsurePeer(c, t, peer, PeerTrust.Seen, now);
            UpsertAddress(c, t, peer, normalized, source, now);
            return true;
        });
    }

    /// <summary>Removes one address. False if it was not stored.</summary>
    public bool RemoveAddress(PeerId peer, Multiaddr address)
    {
        ArgumentNullException.ThrowIfNull(peer);
        var normalized = Normalize(peer, address);
        return Write(peer, (c, t, _) => Execute(c, t, "DELETE FROM addresses WHERE peer_id = $id AND address = $address;",
            ("$id", peer.ToString()), ("$address", normalized.ToString())) > 0);
    }

    /// <summary>Records a dial to a stored address: success (<paramref name="error"/> null) or failure. Unknown addresses are ignored.</summary>
    public void RecordDial(PeerId peer, Multiaddr address, string? error)
    {
        ArgumentNullException.ThrowIfNull(peer);
        var normalized = Normalize(peer, address);
        Write(peer, (c, t, now) => Execute(c, t, error is null
            ? "UPDATE addresses SET last_success = $now, failures = 0, last_error = NULL WHERE peer_id = $id AND address = $address;"
            : "UPDATE addresses SET last_failure = $now, failures = failures + 1, last_error = $error WHERE peer_id = $id AND address = $address;",
            ("$id", peer.ToString()), ("$address", normalized.ToString()), ("$now", now), ("$error", Truncate(error, 500))));
    }

    /// <summary>
    /// Records that a connection with <paramref name="peer"/> was established now: it is created with
    /// <paramref name="trust"/> if unknown (trust is never lowered), and its last-seen time is updated.
    /// Creating a peer may evict the least recently seen <see cref="PeerTrust.Seen"/> peer when the store is full.
    /// </summary>
    public void RecordConnected(PeerId peer, PeerTrust trust) => RecordConnected(peer, trust, null);

    /// <summary>
    /// <see cref="RecordConnected(PeerId, PeerTrust)"/> and, when <paramref name="dialled"/> is given, the
    /// dial's success at that address (<see cref="RecordDial"/>), in one transaction.
    /// </summary>
    public void RecordConnected(PeerId peer, PeerTrust trust, Multiaddr? dialled)
    {
        ArgumentNullException.ThrowIfNull(peer);
        var address = dialled is null ? null : Normalize(peer, dialled).ToString();
        Write(peer, (c, t, now) =>
        {
            if (address is not null)
            {
                Execute(c, t, "UPDATE addresses SET last_success = $now, failures = 0, last_error = NULL WHERE peer_id = $id AND address = $address;",
                    ("$id", peer.ToString()), ("$address", address), ("$now", now));
            }
            EnsurePeer(c, t, peer, trust, now);
            if (trust == PeerTrust.TrustedOnFirstUse)
            {
                Execute(c, t, "UPDATE peers SET trust = 'tofu' WHERE peer_id = $id AND trust = 'seen';", ("$id", peer.ToString()));
            }
            Execute(c, t, "UPDATE peers SET last_seen = $now WHERE peer_id = $id;", ("$id", peer.ToString()), ("$now", now));
            return true;
        });
    }

    /// <summary>Checks the file: SQLite's integrity check and every foreign key (empty list: consistent).</summary>
    public IReadOnlyList<string> CheckIntegrity() => Read(c =>
    {
        var problems = new List<string>();
        using (var command = c.CreateCommand())
        {
            command.CommandText = "PRAGMA integrity_check;";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                var line = reader.GetString(0);
                if (line != "ok")
                {
                    problems.Add(line);
                }
            }
        }
        using (var command = c.CreateCommand())
        {
            command.CommandText = "PRAGMA foreign_key_check;";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                problems.Add($"foreign key violation in {reader.GetString(0)} row {reader.GetValue(1)}");
            }
        }
        return problems;
    });

    /// <summary>Closes the file.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            foreach (var statement in _statements.Values)
            {
                statement.Dispose();
            }
            _statements.Clear();
            _connection.Dispose();
        }
    }

    private static void ValidateAlias(string? alias)
    {
        if (alias is null or "")
        {
            return;
        }
        if (alias.Length > MaxAliasLength || !alias.All(ch => char.IsAsciiLetterOrDigit(ch) || ch is '-' or '_' or '.') || !char.IsAsciiLetterOrDigit(alias[0]))
        {
            throw new ArgumentException($"Invalid alias '{alias}': 1-{MaxAliasLength} ASCII letters, digits, '-', '_' or '.', starting with a letter or digit.", nameof(alias));
        }
        if (PeerId.TryParse(alias, out _))
        {
            throw new ArgumentException($"The alias '{alias}' reads as a PeerId; choose another.", nameof(alias));
        }
    }

    private static Multiaddr Normalize(PeerId peer, Multiaddr address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.TryGetPeerId(out var named))
        {
            if (!named.Equals(peer))
            {
                throw new ArgumentException($"The address {address} names {named}, not {peer}.", nameof(address));
            }
            address = address.DecapsulateCode(P2pCode);
        }
        if (address.IsEmpty)
        {
            throw new ArgumentException("An address needs a transport part (e.g. /ip4/192.0.2.7/tcp/4001).", nameof(address));
        }
        return address;
    }

    private static string? Truncate(string? text, int max) => text is null || text.Length <= max ? text : text[..max];

    private T Read<T>(Func<SqliteConnection, T> body)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            try
            {
                return body(_connection);
            }
            catch (SqliteException e)
            {
                throw new PeerStoreException($"Reading the peer store failed: {e.Message}", e);
            }
        }
    }

    private T Write<T>(PeerId peer, Func<SqliteConnection, SqliteTransaction, long, T> body)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            try
            {
                using var transaction = _connection.BeginTransaction(deferred: false);
                var result = body(_connection, transaction, _time.GetUtcNow().ToUnixTimeMilliseconds());
                transaction.Commit();
                return result;
            }
            catch (SqliteException e) when (e.SqliteErrorCode == 19 && e.Message.Contains("alias", StringComparison.Ordinal))
            {
                throw new PeerStoreException($"That alias already names another peer.", e);
            }
            catch (SqliteException e)
            {
                StoreLog.WriteFailed(_logger, peer, e.Message);
                throw new PeerStoreException($"Writing the peer store failed: {e.Message}", e);
            }
        }
    }

    private void EnsurePeer(SqliteConnection c, SqliteTransaction t, PeerId peer, PeerTrust trust, long now)
    {
        var inserted = Execute(c, t, "INSERT INTO peers (peer_id, trust, first_seen) VALUES ($id, $trust, $now) ON CONFLICT (peer_id) DO NOTHING;",
            ("$id", peer.ToString()), ("$trust", TrustText(trust)), ("$now", now));
        if (inserted > 0 && Scalar(c, t, "SELECT count(*) FROM peers;") > Options.MaxPeers)
        {
            // Full: forget the least recently seen peer that nobody named (never a pinned one, never this one).
            var evicted = Execute(c, t, """
                DELETE FROM peers WHERE peer_id = (
                    SELECT peer_id FROM peers WHERE trust <> 'pinned' AND peer_id <> $id
                    ORDER BY coalesce(last_seen, first_seen) LIMIT 1);
                """, ("$id", peer.ToString()));
            if (evicted == 0)
            {
                throw new PeerStoreException($"The peer store holds {Options.MaxPeers} pinned peers (MaxPeers); remove some first.");
            }
        }
    }

    private void SetAlias(SqliteConnection c, SqliteTransaction t, PeerId peer, string alias) =>
        Execute(c, t, "UPDATE peers SET alias = $alias WHERE peer_id = $id;", ("$id", peer.ToString()), ("$alias", alias.Length == 0 ? null : alias));

    private void UpsertAddress(SqliteConnection c, SqliteTransaction t, PeerId peer, Multiaddr address, AddressSource source, long now)
    {
        // A lower rank is more authoritative; an address keeps the best source it was ever given.
        Execute(c, t, """
            INSERT INTO addresses (peer_id, address, source, added) VALUES ($id, $address, $source, $now)
            ON CONFLICT (peer_id, address) DO UPDATE SET source = CASE
                WHEN (CASE excluded.source WHEN 'configured' THEN 0 WHEN 'coordinator' THEN 1 WHEN 'identify' THEN 2 ELSE 3 END)
                   < (CASE addresses.source WHEN 'configured' THEN 0 WHEN 'coordinator' THEN 1 WHEN 'identify' THEN 2 ELSE 3 END)
                THEN excluded.source ELSE addresses.source END;
            """, ("$id", peer.ToString()), ("$address", address.ToString()), ("$source", SourceText(source)), ("$now", now));
        var excess = Scalar(c, t, "SELECT count(*) FROM addresses WHERE peer_id = $id;", ("$id", peer.ToString())) - Options.MaxAddressesPerPeer;
        if (excess > 0)
        {
            Execute(c, t, """
                DELETE FROM addresses WHERE peer_id = $id AND address IN (
                    SELECT address FROM addresses WHERE peer_id = $id AND source <> 'configured' AND address <> $keep
                    ORDER BY coalesce(last_success, 0), failures DESC, added LIMIT $excess);
                """, ("$id", peer.ToString()), ("$keep", address.ToString()), ("$excess", excess));
        }
    }

    private List<KnownPeer> Load(SqliteConnection c, SqliteTransaction? t, string where, params (string Name, object? Value)[] parameters)
    {
        var peers = new List<KnownPeer>();
        var index = new Dictionary<string, List<KnownAddress>>(StringComparer.Ordinal);
        {
            var command = Statement(c, t, $"SELECT peer_id, alias, trust, keep_connected, first_seen, last_seen FROM peers {where} ORDER BY trust = 'pinned' DESC, alias IS NULL, alias, peer_id;", parameters);
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                var addresses = new List<KnownAddress>();
                var id = reader.GetString(0);
                index[id] = addresses;
                peers.Add(new KnownPeer(
                    PeerId.Parse(id),
                    reader.IsDBNull(1) ? null : reader.GetString(1),
                    ParseTrust(reader.GetString(2)),
                    reader.GetInt64(3) != 0,
                    FromUnix(reader.GetInt64(4)),
                    reader.IsDBNull(5) ? null : FromUnix(reader.GetInt64(5)),
                    addresses));
            }
        }
        if (peers.Count == 0)
        {
            return peers;
        }
        {
            var command = Statement(c, t, $"SELECT peer_id, address, source, added, last_success, last_failure, failures, last_error FROM addresses WHERE peer_id IN (SELECT peer_id FROM peers {where});", parameters);
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                if (!index.TryGetValue(reader.GetString(0), out var list) || !Multiaddr.TryParse(reader.GetString(1), out var address))
                {
                    continue;
                }
                list.Add(new KnownAddress(
                    address,
                    ParseSource(reader.GetString(2)),
                    FromUnix(reader.GetInt64(3)),
                    reader.IsDBNull(4) ? null : FromUnix(reader.GetInt64(4)),
                    reader.IsDBNull(5) ? null : FromUnix(reader.GetInt64(5)),
                    (int)reader.GetInt64(6),
                    reader.IsDBNull(7) ? null : reader.GetString(7)));
            }
        }
        foreach (var list in index.Values)
        {
            list.Sort(AddressPreference.Compare);
        }
        return peers;
    }

    // Called under _lock (by Read and Write): the cached statement for sql, bound to this call's transaction and values.
    private SqliteCommand Statement(SqliteConnection c, SqliteTransaction? t, string sql, (string Name, object? Value)[] parameters)
    {
        if (!_statements.TryGetValue(sql, out var command))
        {
            command = c.CreateCommand();
            command.CommandText = sql;
            _statements.Add(sql, command);
        }
        command.Transaction = t;
        command.Parameters.Clear();
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }
        return command;
    }

    private int Execute(SqliteConnection c, SqliteTransaction? t, string sql, params (string Name, object? Value)[] parameters) =>
        Statement(c, t, sql, parameters).ExecuteNonQuery();

    private long Scalar(SqliteConnection c, SqliteTransaction? t, string sql, params (string Name, object? Value)[] parameters) =>
        Convert.ToInt64(Statement(c, t, sql, parameters).ExecuteScalar(), CultureInfo.InvariantCulture);

    private static DateTimeOffset FromUnix(long milliseconds) => DateTimeOffset.FromUnixTimeMilliseconds(milliseconds);

    internal static string TrustText(PeerTrust trust) => trust switch
    {
        PeerTrust.Pinned => "pinned",
        PeerTrust.TrustedOnFirstUse => "tofu",
        _ => "seen",
    };

    private static PeerTrust ParseTrust(string text) => text switch
    {
        "pinned" => PeerTrust.Pinned,
        "tofu" => PeerTrust.TrustedOnFirstUse,
        _ => PeerTrust.Seen,
    };

    internal static string SourceText(AddressSource source) => source switch
    {
        AddressSource.Configured => "configured",
        AddressSource.Identify => "identify",
        AddressSource.Coordinator => "coordinator",
        _ => "observed",
    };

    private static AddressSource ParseSource(string text) => text switch
    {
        "configured" => AddressSource.Configured,
        "identify" => AddressSource.Identify,
        "coordinator" => AddressSource.Coordinator,
        _ => AddressSource.Observed,
    };
}
