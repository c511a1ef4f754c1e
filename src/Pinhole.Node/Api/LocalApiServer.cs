using System.Net.Sockets;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;
using Pinhole.Node.Api;

namespace Pinhole.Node;

/// <summary>
/// Kestrel serving the local API on the node's Unix socket and, when enabled, the status page on loopback
/// (ASP.NET Core minimal APIs, OpenAPI at <c>/openapi/v1.json</c>, Prometheus metrics at <c>/metrics</c>).
/// </summary>
internal sealed class LocalApiServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly TimeProvider _time;

    private LocalApiServer(WebApplication app, TimeProvider time, string socketPath, WebAuth? web, Uri? webUri)
    {
        _app = app;
        _time = time;
        SocketPath = socketPath;
        Web = web;
        WebUri = webUri;
    }

    public string SocketPath { get; }

    public WebAuth? Web { get; }

    public Uri? WebUri { get; }

    public Uri? WebLoginUri => WebUri is null || Web is null ? null : new Uri(WebUri, "login?key=" + Uri.EscapeDataString(Web.ApiKey));

    public static async Task<LocalApiServer> StartAsync(PinholeNode node, LocalApiOptions options, CancellationToken cancellationToken)
    {
        var socketPath = options.ResolveSocketPath(node.Options.Home);
        await ClaimSocketPathAsync(socketPath, cancellationToken).ConfigureAwait(false);
        var web = options.Web is { } webOptions ? new WebAuth(ResolveApiKey(node, webOptions), node.Options.TimeProvider) : null;

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = [],
            ApplicationName = typeof(LocalApiServer).Assembly.GetName().Name,
            EnvironmentName = Environments.Production,
            ContentRootPath = AppContext.BaseDirectory,
        });
        // The node's configuration is its options: no appsettings, no ASPNETCORE_ variables.
        builder.Configuration.Sources.Clear();
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(node.Options.LoggerFactory);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = 64 * 1024;
            kestrel.ListenUnixSocket(socketPath);
            if (options.Web is { } w)
            {
                kestrel.Listen(w.EndPoint);
            }
        });
        builder.Services.ConfigureHttpJsonOptions(json =>
        {
            json.SerializerOptions.TypeInfoResolverChain.Insert(0, ApiJsonContext.Default);
            json.SerializerOptions.DefaultIgnoreCondition = JsonIgnoreCondition.Never;
        });
        builder.Services.AddProblemDetails();
        builder.Services.AddOpenApi("v1", o => o.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "Pinhole node local API";
            document.Info.Description = "The node's control plane (docs/node.md). On the Unix socket: Host local-pinhole.sock, caller checked by SO_PEERCRED.";
            document.Info.Version = "v1";
            return Task.CompletedTask;
        }));
        builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics
            // Every Pinhole meter: the node's, the listeners' admission and handshake counters (Pinhole.Net), and
            // those of the parts plugged in (relay, coordinator client, VPN), whatever their names under Pinhole.
            .AddMeter(NodeMetrics.MeterName, "Pinhole.*", "Microsoft.AspNetCore.Server.Kestrel")
            .AddPrometheusExporter());

        var app = builder.Build();
        var guard = new ApiGuard(web, node.Options.LoggerFactory.CreateLogger<LocalApiServer>());
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            // Unreadable JSON and other malformed requests are the caller's fault: 400, not 500.
            StatusCodeSelector = e => e is Microsoft.AspNetCore.Http.BadHttpRequestException bad ? bad.StatusCode : 500,
        });
        app.UseStatusCodePages();
        app.Use(guard.InvokeAsync);
        ApiRoutes.Map(app, node);
        foreach (var routes in node.Parts.Routes)
        {
            routes(app);
        }
        app.MapOpenApi("/openapi/{documentName}.json");
        app.MapPrometheusScrapingEndpoint("/metrics");
        if (web is not null)
        {
            WebPage.Map(app);
        }
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw new PeerException(PeerError.InternalError, $"Cannot serve the local API: {e.Message}", e);
        }
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(socketPath, options.SocketFileMode);
        }
        NodeLog.ApiListening(node.Logger, socketPath);
        Uri? webUri = null;
        if (web is not null)
        {
            var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses
                .Where(a => !a.StartsWith("http://unix:", StringComparison.Ordinal))
                .Select(a => new Uri(a)).First(u => u.Scheme == Uri.UriSchemeHttp);
            web.Port = bound.Port;
            webUri = new Uri($"http://{bound.Authority}/");
            NodeLog.WebListening(node.Logger, webUri);
        }
        return new LocalApiServer(app, node.Options.TimeProvider, socketPath, web, webUri);
    }

    /// <summary>Removes a stale socket file; refuses to start when another process still answers on it.</summary>
    private static async Task ClaimSocketPathAsync(string path, CancellationToken cancellationToken)
    {
        var directory = Path.GetDirectoryName(path)!;
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(directory);
        }
        else
        {
            Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        if (!File.Exists(path))
        {
            return;
        }
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await probe.ConnectAsync(new UnixDomainSocketEndPoint(path), cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException)
        {
            File.Delete(path);
            return;
        }
        throw new PeerException(PeerError.InternalError, $"Another node already serves the API on {path}; stop it first (or choose another home).");
    }

    private static string ResolveApiKey(PinholeNode node, WebUiOptions options)
    {
        if (options.ApiKey is { } configured)
        {
            return configured;
        }
        if (node.Options.Home is not { } home)
        {
            return WebAuth.NewKey();
        }
        var path = Path.Combine(home, WebUiOptions.ApiKeyFileName);
        if (File.Exists(path) && !OperatingSystem.IsWindows())
        {
            var mode = File.GetUnixFileMode(path);
            if ((mode & (UnixFileMode.GroupRead | UnixFileMode.OtherRead | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) != 0)
            {
                throw new UnauthorizedAccessException($"{path} is readable or writable by other users (mode {Convert.ToString((int)mode, 8)}); chmod 600 it.");
            }
            var stored = File.ReadAllText(path).Trim();
            if (stored.Length >= 24)
            {
                return stored;
            }
        }
        var key = WebAuth.NewKey();
        var create = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            create.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        using (var file = new FileStream(path, create))
        using (var writer = new StreamWriter(file))
        {
            writer.WriteLine(key);
        }
        return key;
    }

    /// <summary>Every routed endpoint as "METHOD /pattern" pairs (for the test that holds the OpenAPI document to them).</summary>
    internal IReadOnlyList<(string Method, string Route)> Routes() =>
        [.. ((Microsoft.AspNetCore.Routing.IEndpointRouteBuilder)_app).DataSources
            .SelectMany(d => d.Endpoints)
            .OfType<Microsoft.AspNetCore.Routing.RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.IHttpMethodMetadata>()?.HttpMethods ?? []).Select(m => (m, e.RoutePattern.RawText ?? "")))];

    public async ValueTask DisposeAsync()
    {
        try
        {
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5), _time);
            await _app.StopAsync(stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        await _app.DisposeAsync().ConfigureAwait(false);
        try
        {
            File.Delete(SocketPath);
        }
        catch (IOException)
        {
        }
    }
}
