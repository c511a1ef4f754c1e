using System.Net;
using System.Net.Http.Json;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using Pinhole.Testing;

namespace Pinhole.Node.Tests;

/// <summary>The status page in a real browser (Debian chromium + chromedriver, headless), and its HTTP protections.</summary>
public sealed class WebStatusPageTests : IAsyncLifetime
{
    private readonly TestNodes _nodes = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _nodes.DisposeAsync();

    private async Task<PinholeNode> StartWebNodeAsync() => await _nodes.StartAsync(b =>
        b.Options.Api = new LocalApiOptions { Web = new WebUiOptions() }, withHome: true);

    [ToolFact("chromium", "chromedriver")]
    public async Task TheStatusPageShowsPeersLiveAndItsButtonsWork()
    {
        var node = await StartWebNodeAsync();
        var bob = await _nodes.StartAsync();
        var carol = await _nodes.StartAsync();
        bob.Peers.Add(node.LocalPeer, addresses: [TestNodes.TcpAddress(node)]);
        var profile = new TempHome();
        using var service = ChromeDriverService.CreateDefaultService("/usr/bin", "chromedriver");
        service.HideCommandPromptWindow = true;
        service.SuppressInitialDiagnosticInformation = true;
        var options = new ChromeOptions { BinaryLocation = Tools.Require("chromium") };
        options.AddArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1400,900", "--user-data-dir=" + profile.Path);
        using var browser = new ChromeDriver(service, options, TimeSpan.FromSeconds(60));
        try
        {
            browser.Navigate().GoToUrl(node.WebLoginUri!.ToString());
            Until(browser, b => b.FindElement(By.Id("peer-id")).Text == node.LocalPeer.ToString(), "the page shows the node's PeerId");
            Assert.Equal(node.WebUri!.ToString(), browser.Url);
            Until(browser, b => b.FindElement(By.Id("live")).Text == "live", "the event stream is open");

            // A peer connects on its own: the row appears without a reload (server-sent events). The table is
            // redrawn every snapshot, so each check reads the cells' text in one go.
            await bob.Connections.ConnectAsync(node.LocalPeer);
            var cells = Until(browser, b => Cells(b, bob.LocalPeer), "bob's connection appears")!;
            Assert.Contains("direct /ip4/127.0.0.1/tcp/", cells[2], StringComparison.Ordinal);
            Assert.Equal("inbound", cells[3]);
            // RTT and traffic come with the periodic snapshots.
            cells = Until(browser, b => Cells(b, bob.LocalPeer) is { } c && c[4].EndsWith(" ms", StringComparison.Ordinal) ? c : null, "bob's RTT is shown")!;
            Assert.EndsWith("B", cells[6], StringComparison.Ordinal);

            // The connect form (a POST with the CSRF token) dials carol.
            browser.FindElement(By.Id("connect-address")).SendKeys(TestNodes.TcpAddress(carol).Encapsulate(carol.LocalPeer).ToString());
            browser.FindElement(By.Id("connect-button")).Click();
            Assert.Equal("outbound", Until(browser, b => Cells(b, carol.LocalPeer), "carol's connection appears")![3]);
            Until(browser, b => b.FindElements(By.CssSelector($"#peers tr[data-peer='{carol.LocalPeer}']")).Count == 1, "carol is a known peer");

            SaveScreenshot(browser, "node-status-page.png");

            // The disconnect button (a DELETE with the CSRF token) closes bob's connection.
            Until(browser, b =>
            {
                b.FindElement(By.CssSelector($"#connections tr[data-peer='{bob.LocalPeer}'] button.disconnect")).Click();
                return true;
            }, "bob's disconnect button is clicked");
            Until(browser, b => Cells(b, bob.LocalPeer) is null, "bob's connection is gone");
            await TestNodes.UntilAsync(() => node.Connections.Get(bob.LocalPeer) is null, "the node closed it");
        }
        finally
        {
            browser.Quit();
            profile.Dispose();
        }
    }

    [Fact]
    public async Task TheWebListenerChecksHostKeySessionAndCsrf()
    {
        var node = await StartWebNodeAsync();
        var web = node.WebUri!;
        var key = node.WebLoginUri!.Query["?key=".Length..];
        using var handler = new HttpClientHandler { AllowAutoRedirect = false, UseCookies = true, CookieContainer = new CookieContainer() };
        using var http = new HttpClient(handler) { BaseAddress = web };

        // Not logged in: the page explains how, the API refuses.
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/v1/status")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await http.GetAsync("/login?key=wrong-key-wrong-key-wrong-key")).StatusCode);

        // A foreign Host (DNS rebinding) is refused even with the key.
        using (var rebind = new HttpRequestMessage(HttpMethod.Get, "/v1/status"))
        {
            rebind.Headers.Host = "attacker.example:" + web.Port;
            rebind.Headers.Add("X-API-Key", key);
            Assert.Equal(HttpStatusCode.Forbidden, (await http.SendAsync(rebind)).StatusCode);
        }

        // The API key works as a header or a bearer token (scripts, Prometheus), with no CSRF token.
        using (var withKey = new HttpRequestMessage(HttpMethod.Get, "/metrics"))
        {
            withKey.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
            var metrics = await http.SendAsync(withKey);
            Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
            Assert.Contains("pinhole_known_peers", await metrics.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // Logging in sets the session and CSRF cookies.
        var login = await http.GetAsync("/login?key=" + Uri.EscapeDataString(key));
        Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        Assert.Equal("/", login.Headers.Location!.ToString());
        var cookies = handler.CookieContainer.GetCookies(web);
        var csrf = cookies["pinhole-csrf"]!.Value;
        Assert.True(cookies["pinhole-session"]!.HttpOnly);
        var page = await http.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("script-src 'self'", page.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        Assert.Equal("DENY", page.Headers.GetValues("X-Frame-Options").Single());
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/v1/status")).StatusCode);

        // A change without the CSRF token (what a cross-site form could send) is refused; with it, it runs.
        using var peer = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var body = new { peerId = peer.PeerId.ToString() };
        Assert.Equal(HttpStatusCode.Forbidden, (await http.PostAsJsonAsync("/v1/peers", body)).StatusCode);
        using (var forged = new HttpRequestMessage(HttpMethod.Post, "/v1/peers") { Content = JsonContent.Create(body) })
        {
            forged.Headers.Add("X-CSRF-Token", csrf);
            forged.Headers.Add("Origin", "http://evil.example");
            Assert.Equal(HttpStatusCode.Forbidden, (await http.SendAsync(forged)).StatusCode);
        }
        Assert.Null(node.Peers.Get(peer.PeerId));
        using (var good = new HttpRequestMessage(HttpMethod.Post, "/v1/peers") { Content = JsonContent.Create(body) })
        {
            good.Headers.Add("X-CSRF-Token", csrf);
            good.Headers.Add("Origin", web.GetLeftPart(UriPartial.Authority));
            Assert.Equal(HttpStatusCode.Created, (await http.SendAsync(good)).StatusCode);
        }
        Assert.NotNull(node.Peers.Get(peer.PeerId));
    }

    [Fact]
    public async Task TheApiKeyIsKeptOwnerOnlyInTheHome()
    {
        var node = await StartWebNodeAsync();
        var path = Path.Combine(node.Options.Home!, WebUiOptions.ApiKeyFileName);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        Assert.Equal(File.ReadAllText(path).Trim(), node.WebLoginUri!.Query["?key=".Length..]);
        Assert.True(IPAddress.IsLoopback(IPAddress.Parse(node.WebUri!.Host)));
    }

    /// <summary>The text of each cell of a peer's connection row, or null when there is no row.</summary>
    private static string[]? Cells(IWebDriver browser, PeerId peer) =>
        browser.FindElements(By.CssSelector($"#connections tr[data-peer='{peer}']")).FirstOrDefault() is { } row
            ? [.. row.FindElements(By.TagName("td")).Select(td => td.Text)]
            : null;

    /// <summary>Polls the page until <paramref name="condition"/> holds (a hang guard, not a timing assertion).</summary>
    private static T Until<T>(IWebDriver browser, Func<IWebDriver, T> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            try
            {
                var result = condition(browser);
                if (result is not null and not false)
                {
                    return result;
                }
            }
            catch (Exception e) when (e is NoSuchElementException or StaleElementReferenceException)
            {
            }
            if (DateTime.UtcNow > deadline)
            {
                SaveScreenshot(browser, "node-status-page-failure.png");
                throw new TimeoutException($"The status page never got there: {what}.");
            }
            Thread.Sleep(100);
        }
    }

    private static void SaveScreenshot(IWebDriver browser, string name)
    {
        var directory = RepoPaths.InRepo("artifacts", "screenshots");
        Directory.CreateDirectory(directory);
        ((ITakesScreenshot)browser).GetScreenshot().SaveAsFile(Path.Combine(directory, name));
    }
}
