using System.Globalization;
using System.Runtime.InteropServices;

namespace Pinhole.Testing;

/// <summary>
/// A throw-away PostgreSQL server for tests, from the Debian server binaries (<c>/usr/lib/postgresql/N/bin</c>):
/// <c>initdb</c> into a fresh temporary directory, <c>postgres</c> on a free loopback port with a private socket
/// directory, trust authentication for a <c>pinhole</c> superuser, fsync off. PostgreSQL refuses to run as root, so
/// as root (CI) the cluster belongs to <c>nobody</c> and the server is started through <c>setpriv</c>, which execs
/// it: the PID this fixture holds is the postmaster's. Disposing stops exactly that PID (SIGINT, a fast shutdown,
/// then SIGKILL if it lingers) and deletes the directory.
/// </summary>
public sealed class TemporaryPostgres : IAsyncDisposable
{
    private const string Superuser = "pinhole";
    private const string DirectoryPrefix = "pinhole-pg-";
    private const uint NobodyId = 65534;
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(20);
    private static readonly Lazy<string?> BinDirectory = new(FindBinDirectory);

    private readonly ExternalProcess _server;
    private readonly string _directory;
    private int _disposed;

    private TemporaryPostgres(ExternalProcess server, string directory, int port)
    {
        _server = server;
        _directory = directory;
        Port = port;
    }

    /// <summary>The TCP port on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary>The postmaster's PID.</summary>
    public int ProcessId => _server.Id;

    /// <summary>Why no server can be started here (no PostgreSQL binaries, no unprivileged user), or null.</summary>
    public static string? UnavailableReason
    {
        get
        {
            if (!OperatingSystem.IsLinux())
            {
                return "TemporaryPostgres runs on Linux only";
            }
            if (BinDirectory.Value is null)
            {
                return "PostgreSQL server binaries are not installed (/usr/lib/postgresql/*/bin; scripts/setup-test-deps.sh installs them)";
            }
            if (Tools.IsRoot && Tools.Find("setpriv") is null)
            {
                return "running as root needs setpriv (util-linux) to start PostgreSQL as nobody";
            }
            return null;
        }
    }

    /// <summary>A libpq/Npgsql connection string for <paramref name="database"/>.</summary>
    public string ConnectionString(string database = "postgres") =>
        string.Create(CultureInfo.InvariantCulture, $"Host=127.0.0.1;Port={Port};Username={Superuser};Database={database};Pooling=true;Maximum Pool Size=200;Timeout=30;Command Timeout=60");

    /// <summary>Initializes a cluster and starts the server; throws with the tools' output if that fails.</summary>
    public static async Task<TemporaryPostgres> StartAsync(CancellationToken cancellationToken = default)
    {
        if (UnavailableReason is { } reason)
        {
            throw new InvalidOperationException("PostgreSQL is unavailable: " + reason);
        }
        var bin = BinDirectory.Value!;
        SweepStale();
        var directory = Path.Combine(Path.GetTempPath(), $"{DirectoryPrefix}{Environment.ProcessId}-{Guid.NewGuid():N}");
        var data = Path.Combine(directory, "data");
        var sockets = Path.Combine(directory, "sockets");
        Directory.CreateDirectory(directory);
        Directory.CreateDirectory(sockets);
        var asNobody = Tools.IsRoot;
        try
        {
            if (asNobody)
            {
                File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                Chown(directory);
                Chown(sockets);
            }
            var initdb = await ExternalProcess.RunAsync(Program(asNobody, Path.Combine(bin, "initdb")),
                Arguments(asNobody, Path.Combine(bin, "initdb"), "-D", data, "-U", Superuser, "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"),
                StartTimeout, workingDirectory: directory, cancellationToken: cancellationToken).ConfigureAwait(false);
            initdb.EnsureSuccess();
            for (var attempt = 0; ; attempt++)
            {
                var port = FreePort.Tcp();
                var server = ExternalProcess.Start(Program(asNobody, Path.Combine(bin, "postgres")),
                    Arguments(asNobody, Path.Combine(bin, "postgres"), "-D", data, "-p", port.ToString(CultureInfo.InvariantCulture), "-k", sockets,
                        "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                        "-c", "max_connections=500", "-c", "shared_buffers=32MB", "-c", "log_min_messages=warning"), workingDirectory: directory);
                var postgres = new TemporaryPostgres(server, directory, port);
                try
                {
                    await postgres.WaitReadyAsync(bin, sockets, cancellationToken).ConfigureAwait(false);
                    return postgres;
                }
                catch (InvalidOperationException) when (attempt < 3 && server.HasExited)
                {
                    // The port was taken between choosing and binding it; try another.
                    await server.DisposeAsync().ConfigureAwait(false);
                }
                catch
                {
                    await postgres.StopServerAsync().ConfigureAwait(false);
                    throw;
                }
            }
        }
        catch
        {
            TryDelete(directory);
            throw;
        }
    }

    /// <summary>Creates a database (name: letters, digits, underscore) and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (!name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))
        {
            throw new ArgumentException("A test database name is letters, digits and underscores.", nameof(name));
        }
        var result = await ExternalProcess.RunAsync(Path.Combine(BinDirectory.Value!, "createdb"),
            ["-h", "127.0.0.1", "-p", Port.ToString(CultureInfo.InvariantCulture), "-U", Superuser, name], StartTimeout, cancellationToken: cancellationToken).ConfigureAwait(false);
        result.EnsureSuccess();
        return ConnectionString(name);
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        await StopServerAsync().ConfigureAwait(false);
        TryDelete(_directory);
    }

    private async Task StopServerAsync()
    {
        if (!_server.HasExited)
        {
            _ = Kill(_server.Id, 2); // SIGINT: fast shutdown, disconnects clients.
            try
            {
                await _server.WaitForExitAsync(StopTimeout).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // WaitForExitAsync killed it.
            }
        }
        await _server.DisposeAsync().ConfigureAwait(false);
    }

    private async Task WaitReadyAsync(string bin, string sockets, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(StartTimeout);
        while (true)
        {
            if (_server.HasExited)
            {
                throw new InvalidOperationException($"postgres exited with {_server.ExitCode} while starting.\n{_server.Output()}");
            }
            var ready = await ExternalProcess.RunAsync(Path.Combine(bin, "pg_isready"),
                ["-h", "127.0.0.1", "-p", Port.ToString(CultureInfo.InvariantCulture), "-U", Superuser, "-t", "2"], TimeSpan.FromSeconds(10), cancellationToken: timeout.Token).ConfigureAwait(false);
            if (ready.ExitCode == 0)
            {
                return;
            }
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100), timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"postgres did not accept connections within {StartTimeout.TotalSeconds:0} s (socket dir {sockets}).\n{_server.Output()}");
            }
        }
    }

    /// <summary>
    /// Stops and removes clusters that an earlier test process (now dead, e.g. killed by a hang timeout) left
    /// behind: the directory names that process's PID, and the postmaster PID comes from the cluster's own
    /// postmaster.pid, checked to be a postgres serving that directory before it is signalled.
    /// </summary>
    public static void SweepStale()
    {
        foreach (var directory in Directory.GetDirectories(Path.GetTempPath(), DirectoryPrefix + "*"))
        {
            var name = Path.GetFileName(directory)[DirectoryPrefix.Length..];
            var dash = name.IndexOf('-', StringComparison.Ordinal);
            if (dash <= 0 || !int.TryParse(name[..dash], NumberStyles.None, CultureInfo.InvariantCulture, out var owner) || IsAlive(owner))
            {
                continue;
            }
            var data = Path.Combine(directory, "data");
            try
            {
                var pidFile = Path.Combine(data, "postmaster.pid");
                if (File.Exists(pidFile) && int.TryParse(File.ReadLines(pidFile).First(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                    && IsAlive(pid) && File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ').Contains(data, StringComparison.Ordinal))
                {
                    _ = Kill(pid, 9);
                }
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
            TryDelete(directory);
        }
    }

    private static bool IsAlive(int pid) => Directory.Exists($"/proc/{pid}");

    private static string Program(bool asNobody, string program) => asNobody ? Tools.Require("setpriv") : program;

    private static string[] Arguments(bool asNobody, string program, params string[] arguments) => asNobody
        ? ["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--", program, .. arguments]
        : arguments;

    private static string? FindBinDirectory()
    {
        const string root = "/usr/lib/postgresql";
        if (!Directory.Exists(root))
        {
            return null;
        }
        return Directory.GetDirectories(root)
            .Select(d => (Dir: d, Version: int.TryParse(Path.GetFileName(d), NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : -1))
            .Where(x => x.Version > 0 && File.Exists(Path.Combine(x.Dir, "bin", "postgres")) && File.Exists(Path.Combine(x.Dir, "bin", "initdb")))
            .OrderByDescending(x => x.Version)
            .Select(x => Path.Combine(x.Dir, "bin"))
            .FirstOrDefault();
    }

    private static void Chown(string path)
    {
        if (NativeChown(path, NobodyId, NobodyId) != 0)
        {
            throw new InvalidOperationException($"chown nobody {path} failed (errno {Marshal.GetLastPInvokeError()}).");
        }
    }

    private static void TryDelete(string directory)
    {
        try
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    [DllImport("libc", EntryPoint = "chown", SetLastError = true)]
    private static extern int NativeChown([MarshalAs(UnmanagedType.LPUTF8Str)] string path, uint owner, uint group);

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}

/// <summary>A fact that needs <see cref="TemporaryPostgres"/>; it skips, saying why, only where PostgreSQL cannot run (CI installs it).</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class PostgresFactAttribute : FactAttribute
{
    /// <summary>Skips when <see cref="TemporaryPostgres.UnavailableReason"/> is set.</summary>
    public PostgresFactAttribute()
    {
        if (TemporaryPostgres.UnavailableReason is { } reason)
        {
            Skip = reason;
        }
    }
}
