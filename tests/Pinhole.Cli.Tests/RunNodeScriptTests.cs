using System.Diagnostics;
using System.Globalization;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using Pinhole.Testing;

namespace Pinhole.Cli.Tests;

/// <summary>
/// The README's path for a newcomer (issue 8, "Done when"): <c>./scripts/run-node.sh</c> starts the daemon with a
/// new identity and its store, then <c>pinhole status</c>, <c>pinhole connect ADDRESS</c>, <c>pinhole ping PEER</c>,
/// and the status page in a real browser shows the peer.
/// </summary>
public sealed class RunNodeScriptTests : IDisposable
{
    private static readonly TimeSpan Guard = TimeSpan.FromMinutes(2);
    private readonly string _dir = Path.Combine("/tmp", "phrun-" + Guid.NewGuid().ToString("N")[..8]);

    public RunNodeScriptTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [ToolFact("bash", "chromium", "chromedriver")]
    public async Task RunNodeThenStatusConnectPingAndTheStatusPageShowsThePeer()
    {
        var home = Path.Combine(_dir, "a");
        await using var peer = CliProcess.Start(Path.Combine(_dir, "b"), "daemon", "--listen", "/ip4/127.0.0.1/tcp/0");
        var peerAddress = await peer.ReadLineAsync();
        var peerId = peerAddress[(peerAddress.LastIndexOf('/') + 1)..];

        using var script = StartScript(home, "--listen", "/ip4/127.0.0.1/tcp/0");
        try
        {
            // Its addresses, then the API socket and the status page's login link (a hang guard, not a timing check).
            using var reading = new CancellationTokenSource(Guard);
            var lines = new List<string>();
            while (lines.Count == 0 || !lines[^1].StartsWith("status page: ", StringComparison.Ordinal))
            {
                lines.Add(await script.StandardOutput.ReadLineAsync(reading.Token) ?? throw new InvalidOperationException("run-node.sh ended: " + await script.StandardError.ReadToEndAsync()));
            }
            Assert.True(File.Exists(Path.Combine(home, "identity.key")), "the identity was created");
            Assert.True(File.Exists(Path.Combine(home, "peers.db")), "the peer store was created");
            Assert.Equal("api socket: " + Path.Combine(home, "api.sock"), lines[^2]);
            var self = lines[0][(lines[0].LastIndexOf('/') + 1)..];
            var login = lines[^1]["status page: ".Length..];
            Assert.StartsWith("http://127.0.0.1:", login, StringComparison.Ordinal);

            var (code, stdout, stderr) = await CliProcess.RunAsync(home, null, "status");
            Assert.True(code == 0, stderr);
            Assert.StartsWith("peer id: " + self + "\n", stdout, StringComparison.Ordinal);

            (code, stdout, stderr) = await CliProcess.RunAsync(home, null, "connect", peerAddress);
            Assert.True(code == 0, stderr);
            Assert.StartsWith($"connected to {peerId} via ", stdout, StringComparison.Ordinal);

            (code, stdout, stderr) = await CliProcess.RunAsync(home, null, "ping", peerId, "--count", "2");
            Assert.True(code == 0, stderr);
            Assert.StartsWith($"pong from {peerId} via ", stdout, StringComparison.Ordinal);

            SeeThePeerInTheBrowser(login, peerId);
        }
        finally
        {
            if (!script.HasExited)
            {
                // run-node.sh execs the daemon: this PID is the daemon, and SIGTERM stops it gracefully.
                using (var term = Process.Start("kill", ["-TERM", script.Id.ToString(CultureInfo.InvariantCulture)]))
                {
                    await term.WaitForExitAsync();
                }
                using var stopping = new CancellationTokenSource(Guard);
                await script.WaitForExitAsync(stopping.Token);
            }
        }
        Assert.Equal(0, script.ExitCode);
        Assert.False(File.Exists(Path.Combine(home, "api.sock")), "the API socket is removed on exit");
    }

    private static Process StartScript(string home, params string[] args)
    {
        var info = new ProcessStartInfo("bash")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(RepoPaths.InRepo("scripts", "run-node.sh"));
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        info.Environment["PINHOLE_HOME"] = home;
        // scripts/test.sh has built the CLI; a nested build inside a test would only repeat it.
        info.Environment["PINHOLE_NO_BUILD"] = "1";
        var process = Process.Start(info)!;
        // Logs go to stderr: drain it so the daemon never blocks on a full pipe.
        _ = Task.Run(async () =>
        {
            var buffer = new char[4096];
            while (await process.StandardError.ReadAsync(buffer) > 0)
            {
            }
        });
        return process;
    }

    private void SeeThePeerInTheBrowser(string login, string peerId)
    {
        var profile = Path.Combine(_dir, "chromium-profile");
        using var service = ChromeDriverService.CreateDefaultService("/usr/bin", "chromedriver");
        service.HideCommandPromptWindow = true;
        service.SuppressInitialDiagnosticInformation = true;
        var options = new ChromeOptions { BinaryLocation = Tools.Require("chromium") };
        // CI runs as root: chromium needs --no-sandbox there.
        options.AddArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1400,900", "--user-data-dir=" + profile);
        using var browser = new ChromeDriver(service, options, TimeSpan.FromSeconds(60));
        try
        {
            browser.Navigate().GoToUrl(login);
            var deadline = DateTime.UtcNow + Guard;
            while (true)
            {
                try
                {
                    var row = browser.FindElements(By.CssSelector($"#connections tr[data-peer='{peerId}']")).FirstOrDefault();
                    if (row is not null && row.FindElements(By.TagName("td")).Select(td => td.Text).ToList() is [_, _, var path, ..] && path.Contains("/tcp/", StringComparison.Ordinal))
                    {
                        break;
                    }
                }
                catch (StaleElementReferenceException)
                {
                    // The table is redrawn with every snapshot: read it again.
                }
                if (DateTime.UtcNow > deadline)
                {
                    Screenshot(browser, "run-node-status-page-failure.png");
                    throw new TimeoutException("The status page never showed the peer's connection.");
                }
                Thread.Sleep(100);
            }
            Screenshot(browser, "run-node-status-page.png");
        }
        finally
        {
            browser.Quit();
        }
    }

    private static void Screenshot(IWebDriver browser, string name)
    {
        var directory = RepoPaths.InRepo("artifacts", "screenshots");
        Directory.CreateDirectory(directory);
        ((ITakesScreenshot)browser).GetScreenshot().SaveAsFile(Path.Combine(directory, name));
    }
}
