using System.Diagnostics;

namespace Pinhole.Ocapn.Tests;

/// <summary>
/// Skips, with a reason, unless guile can load (gnutls) and (gcrypt hash): Debian packages guile-3.0,
/// guile-gnutls and guile-gcrypt. Checked once per test run.
/// </summary>
internal static class GuileGnuTls
{
    public static readonly Lazy<string?> MissingReason = new(Probe);

    private static string? Probe()
    {
        if (Tools.Find("guile") is null)
        {
            return "'guile' is not on PATH; install guile-3.0, guile-gnutls and guile-gcrypt for the GnuTLS interop tests.";
        }
        try
        {
            var psi = new ProcessStartInfo("guile") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
            foreach (var a in new[] { "--no-auto-compile", "-c", "(use-modules (gnutls) (gcrypt hash))" })
            {
                psi.ArgumentList.Add(a);
            }
            using var p = Process.Start(psi)!;
            if (!p.WaitForExit(30_000))
            {
                p.Kill();
                return "guile did not start within 30 s.";
            }
            return p.ExitCode == 0 ? null : "guile cannot load (gnutls) and (gcrypt hash); install guile-gnutls and guile-gcrypt.";
        }
        catch (Exception ex)
        {
            return $"guile could not be run: {ex.Message}";
        }
    }
}

public sealed class GuileGnuTlsFactAttribute : FactAttribute
{
    public GuileGnuTlsFactAttribute() => Skip = GuileGnuTls.MissingReason.Value;
}

public sealed class GuileGnuTlsTheoryAttribute : TheoryAttribute
{
    public GuileGnuTlsTheoryAttribute() => Skip = GuileGnuTls.MissingReason.Value;
}
