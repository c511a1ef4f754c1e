using System.Net.Sockets;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Pinhole.Node.Api;

/// <summary>
/// The checks every request passes before a route sees it. On the Unix socket (Tailscale's LocalAPI model):
/// the caller's uid from SO_PEERCRED must be the node's or root's; a request with an <c>Origin</c> or
/// <c>Referer</c> header (a browser) is refused; the Host must be <see cref="PinholeApiClient.Host"/>. On the
/// loopback web listener: the <see cref="WebAuth"/> checks (Host, API key or session, CSRF).
/// </summary>
internal sealed class ApiGuard(WebAuth? web, ILogger logger)
{
    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        var socket = context.Features.Get<IConnectionSocketFeature>()?.Socket;
        if (socket?.AddressFamily == AddressFamily.Unix)
        {
            if (await CheckUnixAsync(context, socket).ConfigureAwait(false))
            {
                await next(context).ConfigureAwait(false);
            }
            return;
        }
        if (web is null)
        {
            // Only the Unix socket and the web listener exist; anything else is refused.
            await WriteAsync(context, ApiProblems.Problem(StatusCodes.Status403Forbidden, "forbidden", "Forbidden", "This listener serves nothing.")).ConfigureAwait(false);
            return;
        }
        if (await web.CheckAsync(context).ConfigureAwait(false))
        {
            Secure(context.Response);
            await next(context).ConfigureAwait(false);
        }
    }

    private async Task<bool> CheckUnixAsync(HttpContext context, Socket socket)
    {
        var credentials = PeerCredentials.Of(socket);
        var own = PeerCredentials.OwnUid;
        if (credentials is not { } caller || !caller.IsAllowed(own))
        {
            NodeLog.ApiCallerRefused(logger, credentials?.Uid ?? -1, credentials?.Pid ?? -1, own ?? -1);
            await WriteAsync(context, ApiProblems.Problem(StatusCodes.Status403Forbidden, "caller-refused", "Caller refused",
                ApiText.Invariant($"Only uid {own ?? -1} (the node's user) and root may use this API; the caller has uid {credentials?.Uid ?? -1}."))).ConfigureAwait(false);
            return false;
        }
        foreach (var header in new[] { "Origin", "Referer" })
        {
            if (context.Request.Headers.ContainsKey(header))
            {
                NodeLog.ApiBrowserRefused(logger, header);
                await WriteAsync(context, ApiProblems.Problem(StatusCodes.Status403Forbidden, "browser-refused", "Browser requests refused",
                    $"Requests with an {header} header are refused on the API socket (cross-site request protection); browsers use the status page.")).ConfigureAwait(false);
                return false;
            }
        }
        if (!string.Equals(context.Request.Host.Value, PinholeApiClient.Host, StringComparison.OrdinalIgnoreCase))
        {
            await WriteAsync(context, ApiProblems.Problem(StatusCodes.Status403Forbidden, "wrong-host", "Wrong Host",
                $"The API socket answers only to Host: {PinholeApiClient.Host} (DNS rebinding protection).")).ConfigureAwait(false);
            return false;
        }
        context.Response.Headers.ContentSecurityPolicy = "default-src 'none'";
        return true;
    }

    internal static void Secure(HttpResponse response)
    {
        response.Headers.XContentTypeOptions = "nosniff";
        response.Headers.XFrameOptions = "DENY";
        response.Headers["Referrer-Policy"] = "no-referrer";
        response.Headers.CacheControl = "no-store";
    }

    internal static Task WriteAsync(HttpContext context, IResult result) => result.ExecuteAsync(context);
}
