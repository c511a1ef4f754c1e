using System.Net.Http.Json;
using System.Net.ServerSentEvents;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Pinhole.Node.Api;

namespace Pinhole.Node;

/// <summary>
/// A typed client of the node's local API over its Unix socket (what the CLI and out-of-process control
/// planes use). Every call throws <see cref="DaemonNotRunningException"/> when nothing answers on the socket
/// and <see cref="PinholeApiException"/> with the problem details when the node refuses.
/// </summary>
public sealed partial class PinholeApiClient : IDisposable
{
    /// <summary>The Host header the API socket requires.</summary>
    public const string Host = "local-pinhole.sock";

    private readonly HttpClient _http;

    /// <summary>A client for the API socket at <paramref name="socketPath"/>.</summary>
    public PinholeApiClient(string socketPath, TimeSpan? timeout = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(socketPath);
        SocketPath = Path.GetFullPath(socketPath);
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = ConnectAsync,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
        };
        _http = new HttpClient(handler)
        {
            BaseAddress = new Uri("http://" + Host + "/"),
            Timeout = timeout ?? TimeSpan.FromSeconds(100),
        };
    }

    /// <summary>The client for the API of the node whose home is <paramref name="home"/>.</summary>
    public static PinholeApiClient ForHome(string home, TimeSpan? timeout = null) =>
        new(Path.Combine(Path.GetFullPath(home), PinholeNodeOptions.ApiSocketFileName), timeout);

    /// <summary>The socket this client talks to.</summary>
    public string SocketPath { get; }

    /// <summary><c>GET /v1/status</c>.</summary>
    public Task<StatusResponse> GetStatusAsync(CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Get, "v1/status", null, ApiJsonContext.Default.StatusResponse, cancellationToken);

    /// <summary><c>GET /v1/netcheck</c>: the node probes the network against its STUN servers (seconds).</summary>
    public Task<Pinhole.Nat.NetcheckReport> NetcheckAsync(bool testHairpinning = true, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Get, testHairpinning ? "v1/netcheck" : "v1/netcheck?hairpin=false", null, ApiJsonContext.Default.NetcheckReport, cancellationToken);

    /// <summary><c>GET /v1/peers</c>.</summary>
    public Task<List<PeerResponse>> ListPeersAsync(CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Get, "v1/peers", null, ApiJsonContext.Default.ListPeerResponse, cancellationToken);

    /// <summary><c>GET /v1/peers/{peer}</c> (PeerId or alias).</summary>
    public Task<PeerResponse> GetPeerAsync(string peer, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Get, "v1/peers/" + Uri.EscapeDataString(peer), null, ApiJsonContext.Default.PeerResponse, cancellationToken);

    /// <summary><c>POST /v1/peers</c>.</summary>
    public Task<PeerResponse> AddPeerAsync(AddPeerRequest request, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Post, "v1/peers", Json(request, ApiJsonContext.Default.AddPeerRequest), ApiJsonContext.Default.PeerResponse, cancellationToken);

    /// <summary><c>PATCH /v1/peers/{peer}</c>.</summary>
    public Task<PeerResponse> UpdatePeerAsync(string peer, UpdatePeerRequest request, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Patch, "v1/peers/" + Uri.EscapeDataString(peer), Json(request, ApiJsonContext.Default.UpdatePeerRequest), ApiJsonContext.Default.PeerResponse, cancellationToken);

    /// <summary><c>DELETE /v1/peers/{peer}</c>.</summary>
    public Task RemovePeerAsync(string peer, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Delete, "v1/peers/" + Uri.EscapeDataString(peer), null, cancellationToken);

    /// <summary><c>POST /v1/peers/{peer}/addresses</c>.</summary>
    public Task<PeerResponse> AddAddressAsync(string peer, string address, string? source = null, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Post, "v1/peers/" + Uri.EscapeDataString(peer) + "/addresses",
            Json(new AddAddressRequest(address, source), ApiJsonContext.Default.AddAddressRequest), ApiJsonContext.Default.PeerResponse, cancellationToken);

    /// <summary><c>POST /v1/peers/{peer}/ping</c>: one round trip through the daemon.</summary>
    public Task<PingResponse> PingAsync(string peer, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Post, "v1/peers/" + Uri.EscapeDataString(peer) + "/ping", null, ApiJsonContext.Default.PingResponse, cancellationToken);

    /// <summary><c>GET /v1/connections</c>.</summary>
    public Task<List<ConnectionResponse>> ListConnectionsAsync(string? peer = null, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Get, "v1/connections" + (peer is null ? "" : "?peer=" + Uri.EscapeDataString(peer)), null, ApiJsonContext.Default.ListConnectionResponse, cancellationToken);

    /// <summary><c>PUT /v1/connections/{peer}</c>: connect by PeerId or alias.</summary>
    public Task<ConnectionResponse> ConnectAsync(string peer, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Put, "v1/connections/" + Uri.EscapeDataString(peer), null, ApiJsonContext.Default.ConnectionResponse, cancellationToken);

    /// <summary><c>POST /v1/connections</c>: connect to an address.</summary>
    public Task<ConnectionResponse> ConnectAddressAsync(string address, bool trustOnFirstUse = false, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Post, "v1/connections", Json(new ConnectRequest(address, trustOnFirstUse), ApiJsonContext.Default.ConnectRequest), ApiJsonContext.Default.ConnectionResponse, cancellationToken);

    /// <summary><c>DELETE /v1/connections/{peer}</c>.</summary>
    public Task DisconnectAsync(string peer, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Delete, "v1/connections/" + Uri.EscapeDataString(peer), null, cancellationToken);

    /// <summary><c>GET /v1/sockets</c>.</summary>
    public Task<List<SocketResponse>> ListSocketsAsync(CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Get, "v1/sockets", null, ApiJsonContext.Default.ListSocketResponse, cancellationToken);

    /// <summary><c>POST /v1/sockets</c>.</summary>
    public Task<SocketResponse> CreateSocketAsync(CreateSocketRequest? request = null, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Post, "v1/sockets", Json(request ?? new CreateSocketRequest(), ApiJsonContext.Default.CreateSocketRequest), ApiJsonContext.Default.SocketResponse, cancellationToken);

    /// <summary><c>PUT /v1/sockets/{id}/peer</c>.</summary>
    public Task<SocketResponse> ConnectSocketAsync(string id, SocketPeerRequest request, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Put, "v1/sockets/" + Uri.EscapeDataString(id) + "/peer", Json(request, ApiJsonContext.Default.SocketPeerRequest), ApiJsonContext.Default.SocketResponse, cancellationToken);

    /// <summary><c>GET /v1/sockets/{id}</c>.</summary>
    public Task<SocketResponse> GetSocketAsync(string id, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Get, "v1/sockets/" + Uri.EscapeDataString(id), null, ApiJsonContext.Default.SocketResponse, cancellationToken);

    /// <summary><c>DELETE /v1/sockets/{id}</c>.</summary>
    public Task DeleteSocketAsync(string id, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Delete, "v1/sockets/" + Uri.EscapeDataString(id), null, cancellationToken);

    /// <summary><c>GET /v1/events</c>: the node's events as they happen (the first is a <c>connections</c> snapshot).</summary>
    public async IAsyncEnumerable<EventResponse> WatchEventsAsync(double? statsSeconds = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "v1/events" + (statsSeconds is { } s ? "?stats=" + s.ToString(System.Globalization.CultureInfo.InvariantCulture) : ""));
        using var response = await SendRawAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, cancellationToken).ConfigureAwait(false);
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            var parser = SseParser.Create(stream, (type, data) => JsonSerializer.Deserialize(data, ApiJsonContext.Default.EventResponse));
            await foreach (var item in parser.EnumerateAsync(cancellationToken).ConfigureAwait(false))
            {
                if (item.Data is { } e)
                {
                    yield return e;
                }
            }
        }
    }

    /// <summary>Any GET as text (<c>openapi/v1.json</c>, <c>metrics</c>).</summary>
    public async Task<string> GetTextAsync(string path, CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path.TrimStart('/'));
        using var response = await SendRawAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, cancellationToken).ConfigureAwait(false);
        return await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// A request with an optional JSON body to a route a service adds (<c>/v1/vpn</c>); the answer's body as text (empty
    /// for 204). Errors come as <see cref="PinholeApiException"/> (the problem document's detail), like every other call.
    /// </summary>
    public async Task<string> SendJsonAsync(HttpMethod method, string path, string? json, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(method);
        using var request = new HttpRequestMessage(method, path.TrimStart('/'))
        {
            Content = json is null ? null : new StringContent(json, System.Text.Encoding.UTF8, "application/json"),
        };
        using var response = await SendRawAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, cancellationToken).ConfigureAwait(false);
        return await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sends any request (for routes services add); the caller reads and disposes the response.</summary>
    public Task<HttpResponseMessage> SendRawAsync(HttpRequestMessage request, HttpCompletionOption completion, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return Guard(() => _http.SendAsync(request, completion, cancellationToken));
    }

    /// <inheritdoc/>
    public void Dispose() => _http.Dispose();

    // A body with a Content-Length: JsonContent streams with chunked transfer encoding, which costs the node a chunk
    // parser per request for bodies that are a few hundred bytes.
    private static ByteArrayContent Json<T>(T value, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type)
    {
        var content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(value, type));
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        return content;
    }

    private async Task<T> SendAsync<T>(HttpMethod method, string path, HttpContent? content, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        using var response = await SendRawAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, cancellationToken).ConfigureAwait(false);
        try
        {
            return await response.Content.ReadFromJsonAsync(type, cancellationToken).ConfigureAwait(false)
                ?? throw new PinholeApiException($"{method} /{path} returned no body.", response.StatusCode);
        }
        catch (JsonException e)
        {
            throw new PinholeApiException($"{method} /{path} returned JSON this client does not understand: {e.Message}", response.StatusCode, innerException: e);
        }
    }

    private async Task SendAsync(HttpMethod method, string path, HttpContent? content, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        using var response = await SendRawAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, cancellationToken).ConfigureAwait(false);
    }

    private async Task<HttpResponseMessage> Guard(Func<Task<HttpResponseMessage>> send)
    {
        try
        {
            return await send().ConfigureAwait(false);
        }
        catch (HttpRequestException e) when (e.InnerException is SocketException or FileNotFoundException or DirectoryNotFoundException || e.HttpRequestError == HttpRequestError.ConnectionError)
        {
            throw NotRunning(e);
        }
    }

    private DaemonNotRunningException NotRunning(HttpRequestException e)
    {
        var socket = e.InnerException as SocketException;
        if (socket?.SocketErrorCode == SocketError.AccessDenied)
        {
            return new DaemonNotRunningException($"Permission denied on the API socket {SocketPath}: it belongs to another user.", e, accessDenied: true);
        }
        return new DaemonNotRunningException($"The Pinhole daemon is not running (nothing answers on {SocketPath}); start it with 'pinhole daemon'.", e);
    }

    private static async Task EnsureSuccessAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }
        string? type = null, detail = null, title = null, error = null;
        try
        {
            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false));
            var root = json.RootElement;
            type = root.TryGetProperty("type", out var t) ? t.GetString() : null;
            title = root.TryGetProperty("title", out var ti) ? ti.GetString() : null;
            detail = root.TryGetProperty("detail", out var d) ? d.GetString() : null;
            error = root.TryGetProperty("error", out var er) ? er.GetString() : null;
        }
        catch (JsonException)
        {
        }
        throw new PinholeApiException(detail ?? title ?? $"The API answered {(int)response.StatusCode} {response.ReasonPhrase}.", response.StatusCode, type, error);
    }

    private async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(SocketPath), cancellationToken).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
