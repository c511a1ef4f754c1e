using System.Diagnostics;
using System.Text;
using System.Threading.Channels;

namespace Pinhole.Ocapn.Tests;

/// <summary>Runs goblins_peer.py (an independent tcp-tls peer) and reads its stdout line by line.</summary>
internal sealed class PythonPeer : IDisposable
{
    private readonly Process _process;
    private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();
    private readonly StringBuilder _stderr = new();

    private PythonPeer(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                _lines.Writer.TryComplete();
            }
            else
            {
                _lines.Writer.TryWrite(e.Data);
            }
        };
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (_stderr)
                {
                    _stderr.AppendLine(e.Data);
                }
            }
        };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public static PythonPeer Start(params string[] args)
    {
        var psi = new ProcessStartInfo("python3")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "goblins_peer.py"));
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        return new PythonPeer(Process.Start(psi)!);
    }

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

    /// <summary>The next stdout line starting with <paramref name="prefix"/> (earlier lines are skipped).</summary>
    public async Task<string> ExpectAsync(string prefix, CancellationToken token)
    {
        try
        {
            while (true)
            {
                var line = await _lines.Reader.ReadAsync(token);
                if (line.StartsWith(prefix, StringComparison.Ordinal))
                {
                    return line;
                }
            }
        }
        catch (ChannelClosedException)
        {
            throw new InvalidOperationException($"goblins_peer.py ended before printing '{prefix}'. stderr: {Stderr}");
        }
    }

    public async Task<int> ExitCodeAsync(CancellationToken token)
    {
        await _process.WaitForExitAsync(token);
        return _process.ExitCode;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
        }
        _process.Dispose();
    }
}
