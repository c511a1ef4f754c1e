using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Pinhole.Node.Api;

/// <summary>The status page: static files embedded in the assembly (Web/), served on the web listener only.</summary>
internal static class WebPage
{
    public const string LoginHint = """
        <!doctype html><html lang="en"><head><meta charset="utf-8"><title>Pinhole node</title></head>
        <body><h1>Pinhole node</h1><p>Log in with the link that <code>pinhole status</code> prints (it carries the node's API key).</p></body></html>
        """;

    private const string Policy = "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

    private static readonly Dictionary<string, (string ContentType, byte[] Body)> Files = Load();

    public static void Map(IEndpointRouteBuilder app)
    {
        foreach (var (path, (contentType, body)) in Files)
        {
            var routes = path == "index.html" ? new[] { "/", "/index.html" } : ["/" + path];
            foreach (var route in routes)
            {
                app.MapGet(route, (HttpContext context) =>
                {
                    context.Response.Headers.ContentSecurityPolicy = Policy;
                    return Results.Bytes(body, contentType);
                }).ExcludeFromDescription();
            }
        }
    }

    private static Dictionary<string, (string, byte[])> Load()
    {
        var assembly = typeof(WebPage).Assembly;
        const string prefix = "Pinhole.Node.Web.";
        var files = new Dictionary<string, (string, byte[])>(StringComparer.Ordinal);
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(prefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            var file = name[prefix.Length..];
            var type = Path.GetExtension(file) switch
            {
                ".html" => "text/html; charset=utf-8",
                ".js" => "text/javascript; charset=utf-8",
                ".css" => "text/css; charset=utf-8",
                _ => "application/octet-stream",
            };
            files[file] = (type, copy.ToArray());
        }
        return files;
    }
}
