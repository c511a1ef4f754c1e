using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Pinhole.Dtls.Tests;

/// <summary>Runs the openssl command line tool; processes started here are killed here.</summary>
internal static class OpenSslTool
{
    public static string? Path { get; } = Find();

    private static string? Find()
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin").Split(':'))
        {
            string candidate = System.IO.Path.Combine(dir, "openssl");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        return null;
    }

    public static async Task<string> RunAsync(params string[] args)
    {
        using Process p = Start(args);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        string output = await p.StandardOutput.ReadToEndAsync(cts.Token);
        await p.WaitForExitAsync(cts.Token);
        Assert.True(p.ExitCode == 0, $"openssl {string.Join(' ', args)} failed: {await p.StandardError.ReadToEndAsync(cts.Token)}");
        return output;
    }

    public static Process Start(params string[] args)
    {
        var info = new ProcessStartInfo(Path!)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in args)
        {
            info.ArgumentList.Add(a);
        }
        return Process.Start(info)!;
    }

    /// <summary>A UDP port that was free a moment ago on 127.0.0.1.</summary>
    public static int FreeUdpPort()
    {
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)s.LocalEndPoint!).Port;
    }

    /// <summary>Collects a process's output and waits until it contains a string.</summary>
    public sealed class OutputWatcher
    {
        private readonly StringBuilder _text = new();
        private readonly Lock _lock = new();
        private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public OutputWatcher(Process process)
        {
            process.OutputDataReceived += (_, e) => Add(e.Data);
            process.ErrorDataReceived += (_, e) => Add(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }

        public string Text
        {
            get
            {
                lock (_lock)
                {
                    return _text.ToString();
                }
            }
        }

        public async Task WaitForAsync(string needle, CancellationToken cancellationToken)
        {
            while (true)
            {
                Task changed;
                lock (_lock)
                {
                    if (_text.ToString().Contains(needle, StringComparison.Ordinal))
                    {
                        return;
                    }
                    changed = _changed.Task;
                }
                try
                {
                    await changed.WaitAsync(cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    throw new TimeoutException($"openssl never printed '{needle}'. Output so far:\n{Text}");
                }
            }
        }

        private void Add(string? line)
        {
            if (line is null)
            {
                return;
            }
            TaskCompletionSource previous;
            lock (_lock)
            {
                _text.AppendLine(line);
                previous = _changed;
                _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
            previous.TrySetResult();
        }
    }
}
