namespace Pinhole.Coordinator.Storage;

/// <summary>
/// Schema migrations, in order, per dialect. A migration is applied once, inside a transaction that also records it
/// in <c>schema_migrations</c>; instances starting together serialize on a lock, so each is applied exactly once.
/// Never edit a published migration: add the next one.
/// </summary>
internal static class Migrations
{
    public static readonly IReadOnlyList<(int Version, string Sql)> Sqlite =
    [
        (1, """
            CREATE TABLE networks (
                id          BLOB PRIMARY KEY,
                genesis     BLOB NOT NULL,
                name        TEXT NOT NULL,
                created_at  INTEGER NOT NULL,
                last_seq    INTEGER NOT NULL DEFAULT 0,
                next_host   INTEGER NOT NULL DEFAULT 0
            );
            CREATE TABLE records (
                net         BLOB NOT NULL REFERENCES networks(id),
                id          BLOB NOT NULL,
                kind        INTEGER NOT NULL,
                subject     BLOB NOT NULL,
                version     INTEGER NOT NULL,
                seq         INTEGER NOT NULL,
                obsolete    INTEGER,
                blob        BLOB NOT NULL,
                PRIMARY KEY (net, id)
            );
            CREATE UNIQUE INDEX records_by_seq ON records (net, seq);
            CREATE UNIQUE INDEX records_one_endpoint ON records (net, subject) WHERE kind = 6;
            CREATE TABLE redemptions (
                net         BLOB NOT NULL REFERENCES networks(id),
                invite_key  BLOB NOT NULL,
                peer        BLOB NOT NULL,
                redeemed_at INTEGER NOT NULL,
                PRIMARY KEY (net, invite_key)
            );
            CREATE TABLE allocations (
                net         BLOB NOT NULL REFERENCES networks(id),
                host        INTEGER NOT NULL,
                invite_key  BLOB,
                allocated_at INTEGER NOT NULL,
                PRIMARY KEY (net, host)
            );
            CREATE TABLE requests (
                seq         INTEGER PRIMARY KEY AUTOINCREMENT,
                net         BLOB NOT NULL REFERENCES networks(id),
                id          BLOB NOT NULL,
                recipient   BLOB NOT NULL,
                sender      BLOB NOT NULL,
                expires     INTEGER NOT NULL,
                blob        BLOB NOT NULL,
                UNIQUE (net, id)
            );
            CREATE INDEX requests_by_recipient ON requests (net, recipient, seq);
            """),
    ];

    public static readonly IReadOnlyList<(int Version, string Sql)> Postgres =
    [
        (1, """
            CREATE TABLE networks (
                id          BYTEA PRIMARY KEY,
                genesis     BYTEA NOT NULL,
                name        TEXT NOT NULL,
                created_at  BIGINT NOT NULL,
                last_seq    BIGINT NOT NULL DEFAULT 0,
                next_host   BIGINT NOT NULL DEFAULT 0
            );
            CREATE TABLE records (
                net         BYTEA NOT NULL REFERENCES networks(id),
                id          BYTEA NOT NULL,
                kind        INTEGER NOT NULL,
                subject     BYTEA NOT NULL,
                version     BIGINT NOT NULL,
                seq         BIGINT NOT NULL,
                obsolete    BIGINT,
                blob        BYTEA NOT NULL,
                PRIMARY KEY (net, id)
            );
            CREATE UNIQUE INDEX records_by_seq ON records (net, seq);
            CREATE UNIQUE INDEX records_one_endpoint ON records (net, subject) WHERE kind = 6;
            CREATE TABLE redemptions (
                net         BYTEA NOT NULL REFERENCES networks(id),
                invite_key  BYTEA NOT NULL,
                peer        BYTEA NOT NULL,
                redeemed_at BIGINT NOT NULL,
                PRIMARY KEY (net, invite_key)
            );
            CREATE TABLE allocations (
                net         BYTEA NOT NULL REFERENCES networks(id),
                host        BIGINT NOT NULL,
                invite_key  BYTEA,
                allocated_at BIGINT NOT NULL,
                PRIMARY KEY (net, host)
            );
            CREATE TABLE requests (
                seq         BIGSERIAL PRIMARY KEY,
                net         BYTEA NOT NULL REFERENCES networks(id),
                id          BYTEA NOT NULL,
                recipient   BYTEA NOT NULL,
                sender      BYTEA NOT NULL,
                expires     BIGINT NOT NULL,
                blob        BYTEA NOT NULL,
                UNIQUE (net, id)
            );
            CREATE INDEX requests_by_recipient ON requests (net, recipient, seq);
            """),
    ];
}
