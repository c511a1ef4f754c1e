using Microsoft.Data.Sqlite;

namespace Pinhole.Node;

public sealed partial class PeerStore
{
    /// <summary>'PHPS' (Pinhole peer store) in <c>PRAGMA application_id</c>: tells our file from any other SQLite database.</summary>
    internal const int ApplicationId = 0x50485053;

    /// <summary>
    /// Every schema change, in order; <c>PRAGMA user_version</c> is the number of migrations applied. A migration
    /// is never edited once released: a change is a new entry. docs/node.md shows the resulting schema.
    /// </summary>
    internal static readonly string[] Migrations =
    [
        // 1: peers and their addresses. Times are Unix milliseconds (UTC).
        """
        CREATE TABLE peers (
            peer_id    TEXT PRIMARY KEY NOT NULL,
            alias      TEXT,
            trust      TEXT NOT NULL CHECK (trust IN ('seen', 'tofu', 'pinned')),
            first_seen INTEGER NOT NULL,
            last_seen  INTEGER
        );
        CREATE TABLE addresses (
            peer_id      TEXT NOT NULL REFERENCES peers (peer_id) ON DELETE CASCADE,
            address      TEXT NOT NULL,
            source       TEXT NOT NULL CHECK (source IN ('configured', 'identify', 'coordinator', 'observed')),
            added        INTEGER NOT NULL,
            last_success INTEGER,
            last_failure INTEGER,
            PRIMARY KEY (peer_id, address)
        ) WITHOUT ROWID;
        """,
        // 2: keep-connected peers; aliases become unique (duplicates from version 1 keep the oldest peer's).
        """
        ALTER TABLE peers ADD COLUMN keep_connected INTEGER NOT NULL DEFAULT 0 CHECK (keep_connected IN (0, 1));
        UPDATE peers SET alias = NULL
            WHERE alias IS NOT NULL
              AND rowid NOT IN (SELECT MIN(rowid) FROM peers WHERE alias IS NOT NULL GROUP BY alias);
        CREATE UNIQUE INDEX peers_alias ON peers (alias) WHERE alias IS NOT NULL;
        """,
        // 3: failure bookkeeping per address (happy-eyeballs ordering), and an index for evicting stale peers.
        """
        ALTER TABLE addresses ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE addresses ADD COLUMN last_error TEXT;
        UPDATE addresses SET failures = 1 WHERE last_failure IS NOT NULL AND (last_success IS NULL OR last_failure > last_success);
        CREATE INDEX peers_trust_last_seen ON peers (trust, last_seen);
        """,
    ];

    /// <summary>The schema version this code writes.</summary>
    public static int CurrentSchemaVersion => Migrations.Length;

    /// <summary>Brings the file up to <paramref name="target"/> migrations, atomically; concurrent openers serialize on the write lock.</summary>
    internal static int Migrate(SqliteConnection connection, int target)
    {
        using var transaction = connection.BeginTransaction(deferred: false);
        var applicationId = Scalar(connection, transaction, "PRAGMA application_id;");
        var version = Scalar(connection, transaction, "PRAGMA user_version;");
        if (applicationId != 0 && applicationId != ApplicationId)
        {
            throw new PeerStoreException($"{connection.DataSource} is an SQLite database of another program (application_id 0x{applicationId:x8}), not a Pinhole peer store.");
        }
        if (applicationId == 0 && version == 0 && Scalar(connection, transaction, "SELECT count(*) FROM sqlite_schema;") != 0)
        {
            throw new PeerStoreException($"{connection.DataSource} is an SQLite database of another program, not a Pinhole peer store.");
        }
        if (version > Migrations.Length)
        {
            throw new PeerStoreException($"The peer store {connection.DataSource} has schema version {version}, newer than this Pinhole knows ({Migrations.Length}); use a newer Pinhole.");
        }
        for (var step = version; step < target; step++)
        {
            Execute(connection, transaction, Migrations[step]);
        }
        if (target > version)
        {
            Execute(connection, transaction, $"PRAGMA application_id = {ApplicationId}; PRAGMA user_version = {target};");
        }
        transaction.Commit();
        return (int)Math.Max(version, target);
    }

    private static long Scalar(SqliteConnection connection, SqliteTransaction? transaction, string sql)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static void Execute(SqliteConnection connection, SqliteTransaction? transaction, string sql)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
