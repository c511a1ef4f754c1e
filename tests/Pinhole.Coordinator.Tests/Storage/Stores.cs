using Pinhole.Testing;

namespace Pinhole.Coordinator.Tests.Storage;

/// <summary>Opens fresh stores of each kind: a SQLite file in a temporary directory, a new database on the shared test PostgreSQL.</summary>
internal static class Stores
{
    private static readonly SemaphoreSlim StartLock = new(1, 1);
    private static TemporaryPostgres? _postgres;
    private static int _databases;

    /// <summary>"sqlite" always; "postgres" where <see cref="TemporaryPostgres"/> can run (always in CI).</summary>
    public static TheoryData<string> Kinds()
    {
        var data = new TheoryData<string> { "sqlite" };
        if (TemporaryPostgres.UnavailableReason is null)
        {
            data.Add("postgres");
        }
        return data;
    }

    /// <summary>A store specification for a new, empty store of <paramref name="kind"/>.</summary>
    public static async Task<string> NewSpecificationAsync(string kind) => kind switch
    {
        "sqlite" => "sqlite:" + Path.Combine(Directory.CreateTempSubdirectory("pinhole-coord-").FullName, "coordinator.db"),
        "postgres" => "postgres:" + await NewPostgresDatabaseAsync(),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    public static async Task<CoordinatorStore> OpenNewAsync(string kind) => await CoordinatorStore.OpenAsync(await NewSpecificationAsync(kind));

    /// <summary>One server for the whole test run (started on first use, stopped by PID when the test process exits).</summary>
    public static async Task<TemporaryPostgres> PostgresAsync()
    {
        await StartLock.WaitAsync();
        try
        {
            if (_postgres is null)
            {
                _postgres = await TemporaryPostgres.StartAsync();
                var started = _postgres;
                AppDomain.CurrentDomain.ProcessExit += (_, _) => started.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }
            return _postgres;
        }
        finally
        {
            StartLock.Release();
        }
    }

    public static async Task<string> NewPostgresDatabaseAsync()
    {
        var server = await PostgresAsync();
        return await server.CreateDatabaseAsync($"coord_{Environment.ProcessId}_{Interlocked.Increment(ref _databases)}");
    }
}
