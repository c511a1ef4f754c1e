using System.Diagnostics;
using System.Text;
using System.Threading.Channels;

namespace Pinhole.Ocapn.Tests;

/// <summary>Runs an independent tcp-tls peer (goblins_peer.py or goblins_gnutls_peer.scm) and reads its stdout line by line.</summary>
internal sealed class PeerProcess : IDisposable
{
    private readonly Process _process;
    private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();
    private readonly StringBuilder _stderr = new();

    private PeerProcess(Process process)
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

    /// <summary>goblins_peer.py under python3 (OpenSSL through the standard ssl module).</summary>
    public static PeerProcess Python(params string[] args) => Start("python3", ["goblins_peer.py", .. args]);

    /// <summary>goblins_gnutls_peer.scm under guile (Guile-GnuTLS, as Goblins uses).</summary>
    public static PeerProcess Guile(params string[] args) => Start("guile", ["--no-auto-compile", "goblins_gnutls_peer.scm", .. args]);

    private static PeerProcess Start(string program, string[] args)
    {
        var psi = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        return new PeerProcess(Process.Start(psi)!);
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
            throw new InvalidOperationException($"The peer process ended before printing '{prefix}'. stderr: {Stderr}");
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
