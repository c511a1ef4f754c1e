using System.Diagnostics;
using System.Text;

namespace Pinhole.Core.Tests.Interop;

/// <summary>
/// A running tests/npm/libp2p/peer.mjs (a real js-libp2p node: TCP + TLS + yamux, ping, identify),
/// started with the Node 22 that npm installed beside it. Its stdout is one JSON object per line
/// (<see cref="JsLibp2pEvent"/>). Disposing closes its stdin (the peer stops itself) and kills the
/// process it started if it has not exited within a few seconds. Traffic stays on 127.0.0.1.
/// </summary>
public sealed class JsLibp2pPeer : IAsyncDisposable
{
    /// <summary>The bound on every wait in this helper unless a caller passes its own.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan ExitGrace = TimeSpan.FromSeconds(5);
    private const int MaxStderrChars = 256 * 1024;

    private static readonly Lazy<(string? PackageDir, string? SkipReason)> Environment = new(Locate);

    private readonly Process _process;
    private readonly List<JsLibp2pEvent> _events = [];
    private readonly StringBuilder _stderr = new();
    private readonly Task _stdoutPump;
    private readonly Task _stderrPump;
    private TaskCompletionSource _changed = NewSignal();
    private bool _stdoutClosed;

    private JsLibp2pPeer(Process process)
    {
        _process = process;
        _stdoutPump = PumpStdoutAsync();
        _stderrPump = PumpStderrAsync();
    }

    /// <summary>Why js-libp2p tests cannot run here, or null when they can.</summary>
    public static string? SkipReason => Environment.Value.SkipReason;

    /// <summary>tests/npm/libp2p in this checkout (null when it cannot be found).</summary>
    public static string? PackageDirectory => Environment.Value.PackageDir;

    /// <summary>The PeerId the peer printed in its <c>listening</c> line (listen mode only).</summary>
    public string PeerId { get; private set; } = "";

    /// <summary>The multiaddrs the peer listens on, each ending in <c>/p2p/&lt;PeerId&gt;</c> (listen mode only).</summary>
    public IReadOnlyList<string> ListenAddresses { get; private set; } = [];

    /// <summary>The id of the node process this helper started.</summary>
    public int ProcessId => _process.Id;

    /// <summary>All events printed so far.</summary>
    public IReadOnlyList<JsLibp2pEvent> Events
    {
        get { lock (_events) { return [.. _events]; } }
    }

    /// <summary>What the peer wrote to stderr so far (js-libp2p's debug log when PINHOLE_LIBP2P_DEBUG is set).</summary>
    public string StandardError
    {
        get { lock (_stderr) { return _stderr.ToString(); } }
    }

    /// <summary>Starts <c>peer.mjs listen</c> and waits for its <c>listening</c> line.</summary>
    /// <param name="keyType">The js node's key type: Ed25519, secp256k1 or RSA (ECDSA makes js-libp2p fail).</param>
    /// <param name="cancellationToken">Cancels the wait (the process is then killed).</param>
    public static async Task<JsLibp2pPeer> ListenAsync(string keyType = "Ed25519", CancellationToken cancellationToken = default)
    {
        var peer = StartProcess(["listen", "--key-type", keyType]);
        try
        {
            var listening = await peer.WaitForEventAsync("listening", cancellationToken: cancellationToken).ConfigureAwait(false);
            peer.PeerId = listening.GetString("peerId") ?? throw new InvalidOperationException($"no peerId in {listening}");
            peer.ListenAddresses = listening.GetStrings("addrs");
            return peer;
        }
        catch
        {
            await peer.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Starts peer.mjs with <paramref name="arguments"/> and returns at once; watch it with
    /// <see cref="WaitForEventAsync"/> (e.g. a <c>dial</c> whose <c>connected</c> event is all a test needs).
    /// </summary>
    public static JsLibp2pPeer Start(params IReadOnlyList<string> arguments) => StartProcess(arguments);

    /// <summary>Runs <c>peer.mjs dial &lt;multiaddr&gt; --count N</c> to completion.</summary>
    public static Task<JsLibp2pRun> DialAsync(string multiaddr, int count = 3, string keyType = "Ed25519", CancellationToken cancellationToken = default) =>
        RunAsync(["dial", multiaddr, "--count", count.ToString(System.Globalization.CultureInfo.InvariantCulture), "--key-type", keyType], DefaultTimeout, cancellationToken);

    /// <summary>Runs peer.mjs with <paramref name="arguments"/> until it exits, within <paramref name="timeout"/>.</summary>
    public static async Task<JsLibp2pRun> RunAsync(IReadOnlyList<string> arguments, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        await using var peer = StartProcess(arguments);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            await peer._process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
            await Task.WhenAll(peer._stdoutPump, peer._stderrPump).WaitAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException(
                $"peer.mjs {string.Join(' ', arguments)} did not exit within {timeout}.\nstdout:\n{string.Join('\n', peer.Events)}\nstderr:\n{peer.StandardError}");
        }
        return new JsLibp2pRun(peer._process.ExitCode, peer.Events, peer.StandardError);
    }

    /// <summary>
    /// Waits for the first event (from the start of the output) named <paramref name="name"/> that
    /// <paramref name="match"/> accepts. Throws <see cref="TimeoutException"/> after <paramref name="timeout"/>
    /// (default <see cref="DefaultTimeout"/>) and <see cref="InvalidOperationException"/> if the peer exits first.
    /// </summary>
    public async Task<JsLibp2pEvent> WaitForEventAsync(
        string name, Func<JsLibp2pEvent, bool>? match = null, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout ?? DefaultTimeout);
        while (true)
        {
            Task changed;
            lock (_events)
            {
                foreach (var e in _events)
                {
                    if (e.Name == name && (match is null || match(e)))
                    {
                        return e;
                    }
                }
                if (_stdoutClosed)
                {
                    throw new InvalidOperationException(
                        $"peer.mjs exited before printing a matching '{name}' event.\nstdout:\n{string.Join('\n', _events)}\nstderr:\n{StandardError}");
                }
                changed = _changed.Task;
            }
            try
            {
                await changed.WaitAsync(cts.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException(
                    $"no '{name}' event from peer.mjs within {timeout ?? DefaultTimeout}.\nstdout:\n{string.Join('\n', Events)}\nstderr:\n{StandardError}");
            }
        }
    }

    /// <summary>Closes stdin (the peer stops itself), waits briefly, then kills the process if it is still running.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            _process.StandardInput.Close();
        }
        catch (IOException)
        {
            // Already exited: its stdin pipe is gone.
        }
        using (var cts = new CancellationTokenSource(ExitGrace))
        {
            try
            {
                await _process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                KillStartedProcess();
            }
        }
        try
        {
            await Task.WhenAll(_stdoutPump, _stderrPump).WaitAsync(ExitGrace).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // The pipes stay open only if the process is somehow still alive; nothing more to do.
        }
        _process.Dispose();
    }

    private void KillStartedProcess()
    {
        try
        {
            // Only the PID this helper started (node starts no children of its own).
            _process.Kill(entireProcessTree: false);
            _process.WaitForExit(ExitGrace);
        }
        catch (InvalidOperationException)
        {
            // It exited between the check and the kill.
        }
    }

    private static JsLibp2pPeer StartProcess(IReadOnlyList<string> arguments)
    {
        var (packageDir, skipReason) = Environment.Value;
        if (skipReason is not null || packageDir is null)
        {
            throw new InvalidOperationException(skipReason ?? "js-libp2p not found");
        }
        var info = new ProcessStartInfo(NodePath(packageDir))
        {
            WorkingDirectory = packageDir,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        info.ArgumentList.Add(Path.Combine(packageDir, "peer.mjs"));
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        // js-libp2p logs through the `debug` package; opt in with e.g. PINHOLE_LIBP2P_DEBUG='libp2p:tls*,libp2p:yamux*'.
        info.Environment.Remove("DEBUG");
        if (System.Environment.GetEnvironmentVariable("PINHOLE_LIBP2P_DEBUG") is { Length: > 0 } debug)
        {
            info.Environment["DEBUG"] = debug;
        }
        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start node");
        return new JsLibp2pPeer(process);
    }

    private async Task PumpStdoutAsync()
    {
        try
        {
            while (await _process.StandardOutput.ReadLineAsync().ConfigureAwait(false) is { } line)
            {
                var e = JsLibp2pEvent.TryParse(line);
                lock (_stderr)
                {
                    if (e is null && _stderr.Length < MaxStderrChars)
                    {
                        _stderr.Append("[stdout, not JSON] ").AppendLine(line);
                    }
                }
                if (e is not null)
                {
                    lock (_events)
                    {
                        _events.Add(e);
                        Pulse();
                    }
                }
            }
        }
        finally
        {
            lock (_events)
            {
                _stdoutClosed = true;
                Pulse();
            }
        }
    }

    private async Task PumpStderrAsync()
    {
        var buffer = new char[4096];
        int n;
        while ((n = await _process.StandardError.ReadAsync(buffer).ConfigureAwait(false)) > 0)
        {
            lock (_stderr)
            {
                if (_stderr.Length < MaxStderrChars)
                {
                    _stderr.Append(buffer, 0, Math.Min(n, MaxStderrChars - _stderr.Length));
                }
            }
        }
    }

    // Called under the _events lock: wakes every waiter, which then rescans the event list.
    private void Pulse()
    {
        var previous = _changed;
        _changed = NewSignal();
        previous.TrySetResult();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private static string NodePath(string packageDir) => Path.Combine(packageDir, "node_modules", ".bin", "node");

    private static (string? PackageDir, string? SkipReason) Locate()
    {
        const string notInstalled = "js-libp2p not installed: run scripts/setup-test-deps.sh";
        var root = RepoPaths.TryRoot;
        if (root is null)
        {
            return (null, $"{notInstalled} (repository root with Pinhole.slnx not found above {AppContext.BaseDirectory})");
        }
        var packageDir = Path.Combine(root, "tests", "npm", "libp2p");
        if (!Directory.Exists(Path.Combine(packageDir, "node_modules")) ||
            !File.Exists(NodePath(packageDir)) ||
            !Directory.Exists(Path.Combine(packageDir, "node_modules", "libp2p")))
        {
            return (packageDir, $"{notInstalled} ({packageDir}/node_modules is missing or incomplete)");
        }
        return (packageDir, null);
    }
}
