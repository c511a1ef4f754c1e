namespace Pinhole.Ocapn.Tests;

/// <summary>
/// An independent tcp-tls peer (goblins_peer.py or goblins_gnutls_peer.scm) run by <see cref="ExternalProcess"/>:
/// its stdout is a line protocol (<c>PORT n</c>, <c>GOT …</c>, <c>CLOSED</c>); disposing kills it at once.
/// </summary>
internal sealed class PeerProcess : IAsyncDisposable
{
    private readonly ExternalProcess _process;

    private PeerProcess(ExternalProcess process)
    {
        _process = process;
        // The peers never read stdin: once a test is done with one, there is nothing to wait for.
        _process.StopGrace = TimeSpan.Zero;
    }

    /// <summary>goblins_peer.py under python3 (OpenSSL through the standard ssl module).</summary>
    public static PeerProcess Python(params string[] args) => new(ExternalProcess.Start(Tools.Require("python3"), ["goblins_peer.py", .. args]));

    /// <summary>goblins_gnutls_peer.scm under guile (Guile-GnuTLS, as Goblins uses).</summary>
    public static PeerProcess Guile(params string[] args) => new(ExternalProcess.Start(Tools.Require("guile"), ["--no-auto-compile", "goblins_gnutls_peer.scm", .. args]));

    public string Stderr => _process.StandardError;

    /// <summary>The next stdout line starting with <paramref name="prefix"/> (earlier lines are skipped).</summary>
    public Task<string> ExpectAsync(string prefix, CancellationToken token) =>
        _process.WaitForLineAsync(line => line.StartsWith(prefix, StringComparison.Ordinal), TestNodes.Bound, token);

    public Task<int> ExitCodeAsync(CancellationToken token) => _process.WaitForExitAsync(TestNodes.Bound, token);

    public ValueTask DisposeAsync() => _process.DisposeAsync();
}
