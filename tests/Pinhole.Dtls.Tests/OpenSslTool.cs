namespace Pinhole.Dtls.Tests;

/// <summary>The openssl command line tool, through <see cref="ExternalProcess"/> (processes started here are killed here).</summary>
internal static class OpenSslTool
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Runs <c>openssl args…</c> to completion and returns its stdout; fails the test if it exits non-zero.</summary>
    public static async Task<string> RunAsync(params string[] args)
    {
        var result = await ExternalProcess.RunAsync(Tools.Require("openssl"), args, CommandTimeout);
        Assert.True(result.ExitCode == 0, result.ToString());
        return result.StandardOutput;
    }

    /// <summary>Starts a long-running <c>openssl s_server</c>/<c>s_client</c>; disposing it kills it at once.</summary>
    public static ExternalProcess Start(params string[] args)
    {
        var process = ExternalProcess.Start(Tools.Require("openssl"), args);
        process.StopGrace = TimeSpan.Zero;
        return process;
    }
}
