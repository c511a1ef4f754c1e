using System.Diagnostics;
using System.Text;
using System.Threading.Channels;

namespace Pinhole.Testing;

/// <summary>
/// A program a test started (a server such as coturn, a peer, the pinhole CLI): stdout lines are readable as
/// they come, stdout and stderr are kept (bounded) for failure messages, and disposing kills exactly the PID
/// this helper started if it has not exited within a short grace after stdin closes.
/// </summary>
public sealed class ExternalProcess : IAsyncDisposable
{
    private const int MaxKeptChars = 256 * 1024;
    private static readonly TimeSpan ExitGrace = TimeSpan.FromSeconds(3);

    private readonly Process _process;
    private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly Task _pumps;
    private TaskCompletionSource _outputChanged = NewSignal();
    private int _disposed;

    private ExternalProcess(Process process, string description)
    {
        _process = process;
        Description = description;
        _pumps = Task.WhenAll(PumpAsync(process.StandardOutput, _stdout, _lines.Writer), PumpAsync(process.StandardError, _stderr, null));
        _ = _pumps.ContinueWith(static (_, self) => ((ExternalProcess)self!).SignalOutput(), this, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>The command line, for messages.</summary>
    public string Description { get; }

    /// <summary>The PID this helper started.</summary>
    public int Id => _process.Id;

    /// <summary>True once the process has exited.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>The exit code (after exit).</summary>
    public int ExitCode => _process.ExitCode;

    /// <summary>What the process wrote to stdout so far.</summary>
    public string StandardOutput
    {
        get { lock (_stdout) { return _stdout.ToString(); } }
    }

    /// <summary>What the process wrote to stderr so far.</summary>
    public string StandardError
    {
        get { lock (_stderr) { return _stderr.ToString(); } }
    }

    /// <summary>The process's stdin (closed on dispose).</summary>
    public StreamWriter StandardInput => _process.StandardInput;

    /// <summary>
    /// How long <see cref="DisposeAsync"/> waits for the process to exit after closing its stdin before it kills
    /// it (default 3 s). Zero kills at once: for servers that never read stdin.
    /// </summary>
    public TimeSpan StopGrace { get; set; } = ExitGrace;

    /// <summary>Starts <paramref name="program"/> with <paramref name="arguments"/>.</summary>
    public static ExternalProcess Start(string program, IEnumerable<string> arguments, IReadOnlyDictionary<string, string?>? environment = null, string? workingDirectory = null)
    {
        var info = new ProcessStartInfo(program)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? AppContext.BaseDirectory,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                info.Environment.Remove(name);
            }
            else
            {
                info.Environment[name] = value;
            }
        }
        var description = program + " " + string.Join(' ', info.ArgumentList);
        var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {description}.");
        return new ExternalProcess(process, description);
    }

    /// <summary>Runs a program to completion within <paramref name="timeout"/>; throws <see cref="TimeoutException"/> (after killing it) otherwise.</summary>
    public static async Task<ProcessResult> RunAsync(string program, IEnumerable<string> arguments, TimeSpan timeout, IReadOnlyDictionary<string, string?>? environment = null, string? workingDirectory = null, CancellationToken cancellationToken = default)
    {
        await using var process = Start(program, arguments, environment, workingDirectory);
        process.StandardInput.Close();
        var code = await process.WaitForExitAsync(timeout, cancellationToken).ConfigureAwait(false);
        return new ProcessResult(process.Description, code, process.StandardOutput, process.StandardError);
    }

    /// <summary>The next stdout line that <paramref name="match"/> accepts (earlier lines are consumed).</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            while (true)
            {
                var line = await _lines.Reader.ReadAsync(cts.Token).ConfigureAwait(false);
                if (match(line))
                {
                    return line;
                }
            }
        }
        catch (ChannelClosedException)
        {
            await _pumps.ConfigureAwait(false);
            throw new InvalidOperationException($"{Description} ended (code {SafeExitCode()}) before printing the expected line.\n{Output()}");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"{Description} did not print the expected line within {timeout.TotalSeconds:0.#} s.\n{Output()}");
        }
    }

    /// <summary>
    /// Waits until stdout or stderr (as kept so far, from the start) contains <paramref name="needle"/>: for tools
    /// such as <c>openssl s_server</c> that report on either stream. Throws <see cref="TimeoutException"/> after
    /// <paramref name="timeout"/> and <see cref="InvalidOperationException"/> if the process ends first.
    /// </summary>
    public async Task WaitForOutputAsync(string needle, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        while (true)
        {
            Task changed;
            lock (_stdout)
            {
                changed = _outputChanged.Task;
            }
            if (StandardOutput.Contains(needle, StringComparison.Ordinal) || StandardError.Contains(needle, StringComparison.Ordinal))
            {
                return;
            }
            if (_pumps.IsCompleted)
            {
                throw new InvalidOperationException($"{Description} ended (code {SafeExitCode()}) without printing '{needle}'.\n{Output()}");
            }
            try
            {
                await changed.WaitAsync(cts.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"{Description} did not print '{needle}' within {timeout.TotalSeconds:0.#} s.\n{Output()}");
            }
        }
    }

    /// <summary>Waits for the process to exit; kills it and throws <see cref="TimeoutException"/> after <paramref name="timeout"/>.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
            await _pumps.WaitAsync(cts.Token).ConfigureAwait(false);
            return _process.ExitCode;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            Kill();
            throw new TimeoutException($"{Description} did not exit within {timeout.TotalSeconds:0.#} s.\n{Output()}");
        }
    }

    /// <summary>Sends SIGKILL to the PID this helper started (not to other processes).</summary>
    public void Kill()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: false);
            }
        }
        catch (InvalidOperationException)
        {
        }
    }

    /// <summary>Both output streams, for failure messages.</summary>
    public string Output() => $"stdout:\n{StandardOutput}\nstderr:\n{StandardError}";

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        try
        {
            _process.StandardInput.Close();
        }
        catch (IOException)
        {
        }
        using (var grace = new CancellationTokenSource(StopGrace))
        {
            try
            {
                await _process.WaitForExitAsync(grace.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                Kill();
                await _process.WaitForExitAsync().ConfigureAwait(false);
            }
        }
        try
        {
            await _pumps.WaitAsync(ExitGrace).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // A grandchild may hold the pipes open; our PID is gone, which is what we own.
        }
        _process.Dispose();
    }

    private string SafeExitCode() => _process.HasExited ? _process.ExitCode.ToString(System.Globalization.CultureInfo.InvariantCulture) : "?";

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private void SignalOutput()
    {
        TaskCompletionSource previous;
        lock (_stdout)
        {
            previous = _outputChanged;
            _outputChanged = NewSignal();
        }
        previous.TrySetResult();
    }

    private async Task PumpAsync(StreamReader reader, StringBuilder kept, ChannelWriter<string>? lines)
    {
        try
        {
            string? line;
            while ((line = await reader.ReadLineAsync().ConfigureAwait(false)) is not null)
            {
                lock (kept)
                {
                    if (kept.Length < MaxKeptChars)
                    {
                        kept.AppendLine(line);
                    }
                }
                lines?.TryWrite(line);
                SignalOutput();
            }
        }
        finally
        {
            lines?.TryComplete();
        }
    }
}

/// <summary>The outcome of <see cref="ExternalProcess.RunAsync"/>.</summary>
public sealed record ProcessResult(string Description, int ExitCode, string StandardOutput, string StandardError)
{
    /// <summary>Throws unless the exit code is 0.</summary>
    public ProcessResult EnsureSuccess() => ExitCode == 0
        ? this
        : throw new InvalidOperationException($"{Description} exited with {ExitCode}.\nstdout:\n{StandardOutput}\nstderr:\n{StandardError}");

    /// <inheritdoc/>
    public override string ToString() => $"{Description} → {ExitCode}\nstdout:\n{StandardOutput}\nstderr:\n{StandardError}";
}
