using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace Pinhole.Coordinator.Storage;

/// <summary>
/// The default store: one SQLite file in WAL mode (readers never block the writer), no set-up. One coordinator process
/// per file; its writers take turns on an in-process gate, so they never spin on SQLITE_BUSY.
/// </summary>
internal sealed class SqliteCoordinatorStore : SqlCoordinatorStore
{
    private readonly string _connectionString;
    private readonly string _path;
    private readonly SemaphoreSlim _writer = new(1, 1);

    public SqliteCoordinatorStore(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        _path = Path.GetFullPath(path);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = _path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
    }

    public override string Description => "sqlite:" + _path;

    public override bool IsShared => false;

    protected override IReadOnlyList<(int Version, string Sql)> MigrationScripts => Migrations.Sqlite;

    protected override async ValueTask<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            await ExecuteAsync(connection, null, "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 30000;", cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    protected override async ValueTask<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        await _writer.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return ((SqliteConnection)connection).BeginTransaction(deferred: false);
        }
        catch
        {
            _writer.Release();
            throw;
        }
    }

    protected override void EndWrite() => _writer.Release();

    protected override bool IsUniqueViolation(Exception exception) =>
        exception is SqliteException { SqliteErrorCode: 19, SqliteExtendedErrorCode: 1555 or 2067 };

    protected override Task LockMigrationsAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken) =>
        Task.CompletedTask; // BEGIN IMMEDIATE already excludes other writers of the file.

    private protected override async Task InitializeAsync(CancellationToken cancellationToken)
    {
        var directory = Path.GetDirectoryName(_path);
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }
        var initial = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (initial.ConfigureAwait(false))
        {
            var mode = await ScalarAsync(initial, null, "PRAGMA journal_mode = WAL", cancellationToken).ConfigureAwait(false);
            if (!string.Equals(mode as string, "wal", StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidOperationException($"SQLite store '{_path}' could not switch to WAL mode (got '{mode}').");
            }
        }
        await base.InitializeAsync(cancellationToken).ConfigureAwait(false);
    }

    public override ValueTask DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        _writer.Dispose();
        return ValueTask.CompletedTask;
    }
}
