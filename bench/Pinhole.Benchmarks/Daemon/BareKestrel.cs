using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Pinhole.Benchmarks.Daemon;

/// <summary>
/// The floor under the node's API: a minimal-API endpoint on Kestrel over a Unix socket that answers a small fixed
/// JSON body, with nothing else in its pipeline, and an <see cref="HttpClient"/> over the same kind of socket. The
/// node's <c>GET /v1/status</c> is measured against it in the same run.
/// </summary>
internal sealed class BareKestrel : IAsyncDisposable
{
    private const string Body = """{"peerId":"12D3KooWBareKestrelBaselineBodyOfAboutTheSameSize","uptimeSeconds":1.5,"connections":0}""";

    private readonly WebApplication _app;
    private readonly DirectoryInfo _directory;

    private BareKestrel(WebApplication app, DirectoryInfo directory, HttpClient client)
    {
        _app = app;
        _directory = directory;
        Client = client;
    }

    public HttpClient Client { get; }

    public static async Task<BareKestrel> StartAsync()
    {
        var directory = Directory.CreateTempSubdirectory("pinhole-bench-kestrel-");
        var socket = Path.Combine(directory.FullName, "bare.sock");
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], EnvironmentName = Environments.Production });
        builder.Configuration.Sources.Clear();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.ListenUnixSocket(socket);
        });
        var app = builder.Build();
        app.MapGet("/v1/status", () => Results.Text(Body, "application/json"));
        await app.StartAsync().ConfigureAwait(false);
        return new BareKestrel(app, directory, CreateClient(socket, "bare.sock"));
    }

    /// <summary>A plain <see cref="HttpClient"/> over a Unix socket (for the node's socket too: its Host is required).</summary>
    public static HttpClient CreateClient(string socket, string host)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, cancellationToken) =>
            {
                var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await s.ConnectAsync(new UnixDomainSocketEndPoint(socket), cancellationToken).ConfigureAwait(false);
                    return new NetworkStream(s, ownsSocket: true);
                }
                catch
                {
                    s.Dispose();
                    throw;
                }
            },
        };
        return new HttpClient(handler) { BaseAddress = new Uri("http://" + host + "/") };
    }

    /// <summary>One GET of <paramref name="path"/>, its body read as bytes.</summary>
    public static async Task<int> GetAsync(HttpClient client, string path, CancellationToken cancellationToken)
    {
        using var response = await client.GetAsync(new Uri(path, UriKind.Relative), cancellationToken).ConfigureAwait(false);
        response.EnsureSuccessStatusCode();
        var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        return bytes.Length;
    }

    /// <summary>One GET, its body read as the node's client reads a small answer.</summary>
    public Task<int> GetAsync(CancellationToken cancellationToken) => GetAsync(Client, "v1/status", cancellationToken);

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        _directory.Delete(recursive: true);
    }
}
