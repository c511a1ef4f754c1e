using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Pinhole.Node.Api;

/// <summary>
/// Protection of the loopback web listener, after Syncthing's GUI: the Host header must name the loopback
/// listener itself (no DNS rebinding); a caller is authenticated by the API key (<c>X-API-Key</c> or
/// <c>Authorization: Bearer</c>) or by a session cookie that <c>/login?key=…</c> issues; a browser session's
/// state-changing requests must echo its CSRF token (cookie <see cref="CsrfCookie"/>) in <see cref="CsrfHeader"/>.
/// </summary>
internal sealed class WebAuth
{
    public const string SessionCookie = "pinhole-session";
    public const string CsrfCookie = "pinhole-csrf";
    public const string CsrfHeader = "X-CSRF-Token";
    public const string ApiKeyHeader = "X-API-Key";
    private const int MaxSessions = 32;
    private static readonly TimeSpan SessionLifetime = TimeSpan.FromHours(12);

    private readonly byte[] _key;
    private readonly TimeProvider _time;
    private readonly Dictionary<string, (string Csrf, DateTimeOffset Expires)> _sessions = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    public WebAuth(string apiKey, TimeProvider time)
    {
        ApiKey = apiKey;
        _key = Encoding.UTF8.GetBytes(apiKey);
        _time = time;
    }

    public string ApiKey { get; }

    /// <summary>The bound port (set once Kestrel listens).</summary>
    public int Port { get; set; }

    /// <summary>A fresh random key: 32 characters of base64url (192 bits).</summary>
    public static string NewKey() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(24)).Replace('+', '-').Replace('/', '_');

    /// <summary>True if the request may go on; otherwise the response has been written.</summary>
    public async Task<bool> CheckAsync(HttpContext context)
    {
        var request = context.Request;
        if (!IsOwnHost(request.Host))
        {
            await ApiGuard.WriteAsync(context, ApiProblems.Problem(StatusCodes.Status403Forbidden, "wrong-host", "Wrong Host",
                "The status page answers only to its loopback address (127.0.0.1, [::1] or localhost with its port): DNS rebinding protection.")).ConfigureAwait(false);
            return false;
        }
        ApiGuard.Secure(context.Response);
        if (request.Path == "/login")
        {
            await LoginAsync(context).ConfigureAwait(false);
            return false;
        }
        if (HasKey(request))
        {
            return true;
        }
        if (request.Cookies.TryGetValue(SessionCookie, out var session) && Session(session) is { } csrf)
        {
            if (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method) || HttpMethods.IsOptions(request.Method))
            {
                return true;
            }
            var echoed = request.Headers[CsrfHeader].ToString();
            if (FixedEquals(echoed, csrf) && (!request.Headers.TryGetValue("Origin", out var origin) || IsOwnOrigin(origin.ToString())))
            {
                return true;
            }
            await ApiGuard.WriteAsync(context, ApiProblems.Problem(StatusCodes.Status403Forbidden, "csrf", "CSRF token missing or wrong",
                $"A browser session's {request.Method} needs the {CsrfHeader} header with the token from the {CsrfCookie} cookie.")).ConfigureAwait(false);
            return false;
        }
        if (request.Path == "/" || request.Path == "/index.html")
        {
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            context.Response.ContentType = "text/html; charset=utf-8";
            await context.Response.WriteAsync(WebPage.LoginHint).ConfigureAwait(false);
            return false;
        }
        await ApiGuard.WriteAsync(context, ApiProblems.Problem(StatusCodes.Status401Unauthorized, "unauthenticated", "Authentication required",
            $"Send the API key (header {ApiKeyHeader} or Authorization: Bearer), or log in with the link 'pinhole status' prints.")).ConfigureAwait(false);
        return false;
    }

    private async Task LoginAsync(HttpContext context)
    {
        var key = context.Request.Query["key"].ToString();
        if (!FixedEquals(key, ApiKey))
        {
            await ApiGuard.WriteAsync(context, ApiProblems.Problem(StatusCodes.Status403Forbidden, "wrong-key", "Wrong API key",
                "The login link's key is not this node's API key.")).ConfigureAwait(false);
            return;
        }
        var (session, csrf) = NewSession();
        var secure = new CookieOptions { HttpOnly = true, SameSite = SameSiteMode.Strict, Path = "/", MaxAge = SessionLifetime };
        context.Response.Cookies.Append(SessionCookie, session, secure);
        // Readable by the page's script, which echoes it in a header; other sites can neither read nor send it.
        context.Response.Cookies.Append(CsrfCookie, csrf, new CookieOptions { HttpOnly = false, SameSite = SameSiteMode.Strict, Path = "/", MaxAge = SessionLifetime });
        context.Response.Redirect("/", permanent: false);
    }

    private (string Session, string Csrf) NewSession()
    {
        var session = NewKey();
        var csrf = NewKey();
        var now = _time.GetUtcNow();
        lock (_lock)
        {
            foreach (var expired in _sessions.Where(s => s.Value.Expires <= now).Select(s => s.Key).ToList())
            {
                _sessions.Remove(expired);
            }
            if (_sessions.Count >= MaxSessions)
            {
                _sessions.Remove(_sessions.MinBy(s => s.Value.Expires).Key);
            }
            _sessions[session] = (csrf, now + SessionLifetime);
        }
        return (session, csrf);
    }

    private string? Session(string token)
    {
        lock (_lock)
        {
            return _sessions.TryGetValue(token, out var s) && s.Expires > _time.GetUtcNow() ? s.Csrf : null;
        }
    }

    private bool HasKey(HttpRequest request)
    {
        if (request.Headers.TryGetValue(ApiKeyHeader, out var header))
        {
            return FixedEquals(header.ToString(), ApiKey);
        }
        var authorization = request.Headers.Authorization.ToString();
        return authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && FixedEquals(authorization[7..].Trim(), ApiKey);
    }

    private bool IsOwnHost(HostString host)
    {
        if (!host.HasValue || host.Port != Port)
        {
            return false;
        }
        var name = host.Host;
        return name is "localhost" or "127.0.0.1" or "[::1]" || (IPAddress.TryParse(name.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));
    }

    private bool IsOwnOrigin(string origin) =>
        Uri.TryCreate(origin, UriKind.Absolute, out var uri) && uri.Scheme == Uri.UriSchemeHttp && IsOwnHost(HostString.FromUriComponent(uri));

    private static bool FixedEquals(string a, string b)
    {
        var left = Encoding.UTF8.GetBytes(a);
        var right = Encoding.UTF8.GetBytes(b);
        return CryptographicOperations.FixedTimeEquals(left, right);
    }
}
