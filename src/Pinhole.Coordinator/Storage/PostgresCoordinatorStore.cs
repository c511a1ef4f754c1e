using System.Data;
using System.Data.Common;
using System.Globalization;
using Npgsql;
using Pinhole.Membership;

namespace Pinhole.Coordinator.Storage;

/// <summary>
/// The scale-out store: PostgreSQL shared by several stateless coordinator instances. Each write sends
/// <c>NOTIFY pinhole_changes</c> inside its transaction (delivered at commit, never for a rollback); every instance
/// LISTENs on a dedicated connection and re-reads <c>seq &gt; cursor</c> from the table, so a lost notification
/// delays a change but never loses it (the instances' periodic re-read covers it too).
/// </summary>
internal sealed class PostgresCoordinatorStore : SqlCoordinatorStore
{
    private const string Channel = "pinhole_changes";
    private const long MigrationLock = 0x70696e686f6c65; // "pinhole"
    private static readonly TimeSpan ListenIdle = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan ReconnectDelay = TimeSpan.FromSeconds(1);

    private readonly NpgsqlDataSource _dataSource;
    private readonly string _description;
    private readonly CancellationTokenSource _stopping = new();
    private Task? _listener;

    public PostgresCoordinatorStore(string connectionString)
    {
        ArgumentException.ThrowIfNullOrEmpty(connectionString);
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        _description = $"postgres:Host={builder.Host};Port={builder.Port};Database={builder.Database};Username={builder.Username}";
        _dataSource = NpgsqlDataSource.Create(builder);
    }

    public override string Description => _description;

    public override bool IsShared => true;

    protected override IReadOnlyList<(int Version, string Sql)> MigrationScripts => Migrations.Postgres;

    protected override async ValueTask<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken) =>
        await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);

    protected override async ValueTask<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken cancellationToken) =>
        await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, cancellationToken).ConfigureAwait(false);

    protected override bool IsUniqueViolation(Exception exception) =>
        exception is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation };

    protected override Task LockMigrationsAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken) =>
        ScalarAsync(connection, transaction, "SELECT pg_advisory_xact_lock(@k)", cancellationToken, ("k", MigrationLock));

    protected override Task NotifyChangeAsync(DbConnection connection, DbTransaction transaction, NetworkId network, ulong sequence, CancellationToken cancellationToken) =>
        ScalarAsync(connection, transaction, "SELECT pg_notify(@c, @p)", cancellationToken,
            ("c", Channel), ("p", string.Create(CultureInfo.InvariantCulture, $"c:{Convert.ToHexStringLower(network.Bytes.Span)}:{sequence}")));

    protected override Task NotifyRequestAsync(DbConnection connection, DbTransaction transaction, NetworkId network, PeerId recipient, CancellationToken cancellationToken) =>
        ScalarAsync(connection, transaction, "SELECT pg_notify(@c, @p)", cancellationToken,
            ("c", Channel), ("p", $"r:{Convert.ToHexStringLower(network.Bytes.Span)}:{recipient}"));

    private protected override async Task InitializeAsync(CancellationToken cancellationToken)
    {
        await base.InitializeAsync(cancellationToken).ConfigureAwait(false);
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _listener = Task.Run(() => ListenAsync(ready, _stopping.Token), CancellationToken.None);
        await ready.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task ListenAsync(TaskCompletionSource ready, CancellationToken cancellationToken)
    {
        var first = true;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
                await using var connectionScope = connection.ConfigureAwait(false);
                connection.Notification += (_, e) => Dispatch(e.Payload);
                var listen = new NpgsqlCommand("LISTEN " + Channel, connection);
                await using (listen.ConfigureAwait(false))
                {
                    await listen.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }
                ready.TrySetResult();
                if (!first)
                {
                    // Notifications sent while we were away are gone: tell the feeds to re-read everything.
                    OnChangeNotified(null, 0);
                }
                first = false;
                while (!cancellationToken.IsCancellationRequested)
                {
                    if (!await connection.WaitAsync(ListenIdle, cancellationToken).ConfigureAwait(false))
                    {
                        var ping = new NpgsqlCommand("SELECT 1", connection);
                        await using var pingScope = ping.ConfigureAwait(false);
                        await ping.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
                    }
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is NpgsqlException or IOException or InvalidOperationException)
            {
                if (first)
                {
                    ready.TrySetException(e);
                    return;
                }
                try
                {
                    await Task.Delay(ReconnectDelay, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private void Dispatch(string payload)
    {
        var parts = payload.Split(':');
        if (parts.Length != 3)
        {
            return;
        }
        NetworkId network;
        try
        {
            network = NetworkId.FromBytes(Convert.FromHexString(parts[1]));
        }
        catch (FormatException)
        {
            return;
        }
        if (parts[0] == "c" && ulong.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var sequence))
        {
            OnChangeNotified(network, sequence);
        }
        else if (parts[0] == "r" && PeerId.TryParse(parts[2], out var recipient))
        {
            OnRequestNotified(network, recipient);
        }
    }

    public override async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_listener is not null)
        {
            await _listener.ConfigureAwait(false);
        }
        await _dataSource.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }
}
