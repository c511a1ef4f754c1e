using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Pinhole.Node.Api;
using Pinhole.Testing;

namespace Pinhole.Node.Tests;

/// <summary>Every route over the real Unix socket, and the caller checks.</summary>
public sealed class LocalApiTests : IAsyncLifetime
{
    private readonly TestNodes _nodes = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _nodes.DisposeAsync();

    [Fact]
    public async Task StatusDescribesTheNode()
    {
        var (node, client) = await ApiNodes.StartAsync(_nodes);
        using var apiClient = client;

        var status = await client.GetStatusAsync();

        Assert.Equal(node.LocalPeer.ToString(), status.PeerId);
        Assert.Equal("running", status.State);
        Assert.Equal(node.ApiSocketPath, status.Api.Socket);
        Assert.Contains(status.Addresses, a => a.EndsWith("/p2p/" + node.LocalPeer, StringComparison.Ordinal));
        Assert.Contains(status.ListenAddresses, a => a.Contains("/udp/", StringComparison.Ordinal));
        Assert.Equal(0, status.Counts.Connections);
        Assert.True(status.UptimeSeconds >= 0);
    }

    [Fact]
    public async Task TheSocketIsOwnerOnlyAndASecondNodeOnItIsRefused()
    {
        var (node, client) = await ApiNodes.StartAsync(_nodes);
        using var apiClient = client;
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(node.ApiSocketPath!));

        var second = _nodes.Build(b => b.Options.Api = new LocalApiOptions { SocketPath = node.ApiSocketPath });
        var error = await Assert.ThrowsAsync<PeerException>(() => second.StartAsync());
        Assert.Contains("Another node already serves the API", error.Message, StringComparison.Ordinal);
        Assert.Equal("running", (await client.GetStatusAsync()).State);
    }

    [Fact]
    public async Task AStaleSocketFileIsReplacedAndAStoppedNodeLeavesNone()
    {
        using var home = new TempHome();
        var path = home.File("api.sock");
        using (var stale = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            stale.Bind(new UnixDomainSocketEndPoint(path)); // bound, never listening: what a killed daemon leaves
        }
        var node = await _nodes.StartAsync(b => b.Options.Api = new LocalApiOptions { SocketPath = path });
        using var client = new PinholeApiClient(path);
        Assert.Equal(node.LocalPeer.ToString(), (await client.GetStatusAsync()).PeerId);
        await node.StopAsync();
        Assert.False(File.Exists(path));
        await Assert.ThrowsAsync<DaemonNotRunningException>(() => client.GetStatusAsync());
    }

    [Fact]
    public async Task NothingListeningIsDaemonNotRunning()
    {
        using var home = new TempHome();
        using var client = PinholeApiClient.ForHome(home.Path);
        var error = await Assert.ThrowsAsync<DaemonNotRunningException>(() => client.GetStatusAsync());
        Assert.Contains("not running", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PeersCanBeAddedListedPinnedAndRemoved()
    {
        var (node, client) = await ApiNodes.StartAsync(_nodes);
        using var apiClient = client;
        using var peer = NodeIdentity.Generate(Libp2pKeyType.Ed25519);

        var added = await client.AddPeerAsync(new AddPeerRequest(peer.PeerId.ToString(), "erin", ["/ip4/192.0.2.5/tcp/4001"]));
        Assert.Equal("pinned", added.Trust);
        Assert.Equal("configured", Assert.Single(added.Addresses).Source);

        var byAlias = await client.GetPeerAsync("erin");
        Assert.Equal(peer.PeerId.ToString(), byAlias.PeerId);
        Assert.False(byAlias.Connected);

        var withAddress = await client.AddAddressAsync("erin", "/ip4/192.0.2.6/tcp/4001", "coordinator");
        Assert.Contains(withAddress.Addresses, a => a.Source == "coordinator");

        var unpinned = await client.UpdatePeerAsync(peer.PeerId.ToString(), new UpdatePeerRequest(Pinned: false, Alias: "frank"));
        Assert.Equal("seen", unpinned.Trust);
        Assert.Equal("frank", unpinned.Alias);

        Assert.Equal(peer.PeerId.ToString(), Assert.Single(await client.ListPeersAsync()).PeerId);
        await client.RemovePeerAsync("frank");
        Assert.Empty(await client.ListPeersAsync());
        var missing = await Assert.ThrowsAsync<PinholeApiException>(() => client.GetPeerAsync("frank"));
        Assert.Equal(HttpStatusCode.NotFound, missing.Status);
        Assert.Equal("urn:pinhole:problem:not-found", missing.ProblemType);
        Assert.Null(node.Peers.Get(peer.PeerId));
    }

    [Fact]
    public async Task BadInputGetsProblemDetails()
    {
        var (_, client) = await ApiNodes.StartAsync(_nodes);
        using var apiClient = client;

        var badJson = await RawAsync(client, HttpMethod.Post, "v1/peers", "{ not json");
        Assert.Equal(HttpStatusCode.BadRequest, badJson.Status);
        Assert.Equal("application/problem+json", badJson.ContentType);
        Assert.Equal(400, badJson.Json.GetProperty("status").GetInt32());

        var badPeer = await RawAsync(client, HttpMethod.Post, "v1/peers", """{"peerId":"QmNotAPeer"}""");
        Assert.Equal(HttpStatusCode.BadRequest, badPeer.Status);
        Assert.Contains("not a PeerId", badPeer.Json.GetProperty("detail").GetString(), StringComparison.Ordinal);

        var badAlias = await RawAsync(client, HttpMethod.Post, "v1/peers", $$"""{"peerId":"{{NodeIdentity.Generate(Libp2pKeyType.Ed25519).PeerId}}","alias":"bad alias"}""");
        Assert.Equal(HttpStatusCode.BadRequest, badAlias.Status);

        var unknownPeer = await RawAsync(client, HttpMethod.Put, "v1/connections/nobody", null);
        Assert.Equal(HttpStatusCode.NotFound, unknownPeer.Status);
        Assert.Equal("urn:pinhole:problem:not-found", unknownPeer.Json.GetProperty("type").GetString());

        var noRoute = await RawAsync(client, HttpMethod.Get, "v1/nothing-here", null);
        Assert.Equal(HttpStatusCode.NotFound, noRoute.Status);
        Assert.Equal("application/problem+json", noRoute.ContentType);

        var unreachable = await Assert.ThrowsAsync<PinholeApiException>(() => client.ConnectAsync(NodeIdentity.Generate(Libp2pKeyType.Ed25519).PeerId.ToString()));
        Assert.Equal(HttpStatusCode.BadGateway, unreachable.Status);
        Assert.Equal("urn:pinhole:problem:peer-unreachable", unreachable.ProblemType);
        Assert.Equal("Unreachable", unreachable.PeerError);
    }

    [Fact]
    public async Task BrowsersAndForeignHostsAreRefused()
    {
        var (_, client) = await ApiNodes.StartAsync(_nodes);
        using var apiClient = client;
        foreach (var (header, value) in new[] { ("Origin", "http://evil.example"), ("Referer", "http://evil.example/page") })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "v1/status");
            request.Headers.TryAddWithoutValidation(header, value);
            using var response = await client.SendRawAsync(request, HttpCompletionOption.ResponseContentRead);
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            Assert.Contains("browser-refused", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        using var wrongHost = new HttpRequestMessage(HttpMethod.Get, "v1/status");
        wrongHost.Headers.Host = "attacker.example";
        using var answer = await client.SendRawAsync(wrongHost, HttpCompletionOption.ResponseContentRead);
        Assert.Equal(HttpStatusCode.Forbidden, answer.StatusCode);
        Assert.Contains("wrong-host", await answer.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [ToolFact("setpriv", "python3")]
    public async Task ACallerWithAnotherUidIsRefused()
    {
        if (!Tools.IsRoot)
        {
            // setpriv needs root to change uid; CI runs as root.
            Assert.Fail("This test must run as root (CI does): it calls the API as uid 65534 through setpriv.");
        }
        // The socket must be reachable by the other user, so that the SO_PEERCRED check (not the file mode) decides.
        var directory = Path.Combine("/tmp", "ph-shared-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        try
        {
            var socket = Path.Combine(directory, "api.sock");
            var node = await _nodes.StartAsync(b => b.Options.Api = new LocalApiOptions
            {
                SocketPath = socket,
                SocketFileMode = (UnixFileMode)0b110_110_110,
            });
            var script = """
                import socket, sys
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(sys.argv[1])
                s.sendall(b"GET /v1/status HTTP/1.1\r\nHost: local-pinhole.sock\r\nConnection: close\r\n\r\n")
                data = b""
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                sys.stdout.write(data.decode("utf-8", "replace"))
                """;
            // The system interpreter: another user cannot reach one under /root (pyenv).
            var python = File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : Tools.Require("python3");
            var asOther = await ExternalProcess.RunAsync(Tools.Require("setpriv"), ["--reuid=65534", "--regid=65534", "--clear-groups", python, "-c", script, socket], TimeSpan.FromSeconds(60), workingDirectory: "/tmp");
            Assert.True(asOther.StandardOutput.StartsWith("HTTP/1.1 403", StringComparison.Ordinal), asOther.ToString());
            Assert.StartsWith("HTTP/1.1 403", asOther.StandardOutput, StringComparison.Ordinal);
            Assert.Contains("caller-refused", asOther.StandardOutput, StringComparison.Ordinal);
            Assert.Contains("uid 65534", asOther.StandardOutput, StringComparison.Ordinal);

            // The same request from our own uid (root here) is served.
            var asOwner = await ExternalProcess.RunAsync(python, ["-c", script, socket], TimeSpan.FromSeconds(60));
            Assert.StartsWith("HTTP/1.1 200", asOwner.StandardOutput, StringComparison.Ordinal);
            Assert.Contains(node.LocalPeer.ToString(), asOwner.StandardOutput, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task TheOpenApiDocumentDescribesExactlyTheRoutes()
    {
        var (node, client) = await ApiNodes.StartAsync(_nodes);
        using var apiClient = client;

        using var document = JsonDocument.Parse(await client.GetTextAsync("openapi/v1.json"));
        Assert.StartsWith("3.1", document.RootElement.GetProperty("openapi").GetString(), StringComparison.Ordinal);
        var documented = new HashSet<string>(StringComparer.Ordinal);
        foreach (var path in document.RootElement.GetProperty("paths").EnumerateObject())
        {
            foreach (var operation in path.Value.EnumerateObject().Where(o => o.Name is "get" or "post" or "put" or "patch" or "delete"))
            {
                documented.Add(operation.Name.ToUpperInvariant() + " " + path.Name);
                Assert.True(operation.Value.TryGetProperty("responses", out _), $"{operation.Name} {path.Name} documents its responses");
            }
        }
        var routed = node.ApiRoutes().Where(r => r.Route.StartsWith("/v1/", StringComparison.Ordinal)).Select(r => r.Method + " " + r.Route.TrimEnd('/')).ToHashSet(StringComparer.Ordinal);

        Assert.Equal(routed.Order(StringComparer.Ordinal), documented.Order(StringComparer.Ordinal));
        Assert.Contains("PUT /v1/sockets/{id}/peer", documented);
    }

    [Fact]
    public async Task MetricsAreServedInPrometheusFormat()
    {
        var (node, client) = await ApiNodes.StartAsync(_nodes);
        using var apiClient = client;
        var other = await _nodes.StartAsync();
        node.Peers.Add(other.LocalPeer, addresses: [TestNodes.TcpAddress(other)]);
        await node.Connections.PingAsync(other.LocalPeer);

        var text = await client.GetTextAsync("metrics");

        Assert.Contains("# TYPE pinhole_active_connections", text, StringComparison.Ordinal);
        Assert.Contains("pinhole_dial_duration_seconds_count", text, StringComparison.Ordinal);
        Assert.Contains("pinhole_network_io_bytes_total", text, StringComparison.Ordinal);
        Assert.Contains("network_io_direction=\"transmit\"", text, StringComparison.Ordinal);
        Assert.DoesNotContain(other.LocalPeer.ToString(), text, StringComparison.Ordinal);

        // The listeners' counters (meter Pinhole.Net) are exported too: a peer that dialled in is counted as
        // accepted, and a client that sends garbage instead of multistream-select as a handshake failure.
        await other.Connections.DisconnectAsync(node.LocalPeer);
        other.Peers.Add(node.LocalPeer, addresses: [TestNodes.TcpAddress(node)]);
        await other.Connections.ConnectAsync(node.LocalPeer);
        using (var garbage = new System.Net.Sockets.TcpClient())
        {
            await garbage.ConnectAsync(TestNodes.TcpAddress(node).ToIPEndPoint());
            var stream = garbage.GetStream();
            await stream.WriteAsync("GET / HTTP/1.1\r\n\r\n"u8.ToArray());
            // The listener answers with its multistream header, then closes: read to the end (bounded).
            using var cut = new CancellationTokenSource(TestNodes.Wait);
            var buffer = new byte[256];
            try
            {
                while (await stream.ReadAsync(buffer, cut.Token) > 0)
                {
                }
            }
            catch (IOException)
            {
                // Reset instead of closed: over as well.
            }
        }
        var listeners = "";
        for (var attempt = 0; !(listeners.Contains("pinhole_connection_accepted_total{", StringComparison.Ordinal)
            && listeners.Contains("pinhole_handshake_failed_total{", StringComparison.Ordinal)); attempt++)
        {
            Assert.True(attempt < 300, "the listener's counters are exported:\n" + listeners);
            await Task.Delay(attempt == 0 ? 0 : 100);
            listeners = await client.GetTextAsync("metrics");
        }
        Assert.Contains("network_transport=\"tcp\"", listeners, StringComparison.Ordinal);
        Assert.DoesNotContain(other.LocalPeer.ToString(), listeners, StringComparison.Ordinal);
    }

    internal static async Task<(HttpStatusCode Status, string? ContentType, JsonElement Json)> RawAsync(PinholeApiClient client, HttpMethod method, string path, string? body)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }
        using var response = await client.SendRawAsync(request, HttpCompletionOption.ResponseContentRead);
        var text = await response.Content.ReadAsStringAsync();
        using var json = JsonDocument.Parse(text.Length == 0 ? "{}" : text);
        return (response.StatusCode, response.Content.Headers.ContentType?.MediaType, json.RootElement.Clone());
    }
}
