using System.Diagnostics;
using System.Text;

namespace Pinhole.Cli.Tests;

/// <summary>Runs the real pinhole executable (built next to the tests) with a bounded lifetime.</summary>
public sealed class CliProcess : IAsyncDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly Process _process;
    private readonly StringBuilder _stderr = new();
    private readonly Task _stderrPump;

    private CliProcess(Process process)
    {
        _process = process;
        _stderrPump = Task.Run(async () =>
        {
            string? line;
            while ((line = await process.StandardError.ReadLineAsync()) is not null)
            {
                lock (_stderr)
                {
                    _stderr.AppendLine(line);
                }
            }
        });
    }

    public Process Process => _process;

    /// <summary>Completes when standard error reached its end (after the process exited): read <see cref="Stderr"/> after it.</summary>
    public Task StderrCompleted => _stderrPump;

    public string Stderr
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    public static CliProcess Start(string home, params string[] args)
    {
        // Through env(1), which resets SIGINT to its default before exec: a suite started in the background by a
        // non-interactive shell inherits SIGINT as ignored (POSIX, asynchronous lists), and so would the CLI, which
        // then never sees the Ctrl-C a test sends.
        var info = new ProcessStartInfo("env")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add("--default-signal=INT");
        info.ArgumentList.Add("dotnet");
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "pinhole.dll"));
        info.ArgumentList.Add("--home");
        info.ArgumentList.Add(home);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        info.Environment.Remove("PINHOLE_HOME");
        return new CliProcess(Process.Start(info)!);
    }

    public static async Task<(int Code, string Stdout, string Stderr)> RunAsync(string home, byte[]? stdin, params string[] args)
    {
        await using var process = Start(home, args);
        var stdout = process.Process.StandardOutput.BaseStream;
        using var output = new MemoryStream();
        var read = stdout.CopyToAsync(output);
        var feed = Task.Run(async () =>
        {
            if (stdin is not null)
            {
                await process.Process.StandardInput.BaseStream.WriteAsync(stdin);
            }
            process.Process.StandardInput.Close();
        });
        using var cts = new CancellationTokenSource(Timeout);
        await process.Process.WaitForExitAsync(cts.Token);
        await read;
        await feed;
        await process._stderrPump;
        return (process.Process.ExitCode, Encoding.UTF8.GetString(output.ToArray()), process.Stderr);
    }

    public async Task<string> ReadLineAsync()
    {
        using var cts = new CancellationTokenSource(Timeout);
        return await _process.StandardOutput.ReadLineAsync(cts.Token) ?? throw new InvalidOperationException("pinhole exited: " + Stderr);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }
}
